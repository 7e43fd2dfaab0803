"""Delivering a decided DME order: the packet PDF (cover sheet with every fact and where it was read, then
the documents), the request letter naming exactly what is missing, atomic folder writes, the CSV for the
billing import (no row twice, a crash-cut row repaired), and the webhook's retries and backoff against a
real HTTP server."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pypdf import PdfReader

from osler.dme.deliver import (
    DeliveryFailed,
    append_csv,
    billing_rows,
    deliver_to_folder,
    delivery_record,
    file_stem,
    missing_request,
    order_packet,
    post_webhook,
    result_digest,
)
from osler.dme.model import Decision, Document, DocumentKind, ExtractedField, Missing, OrderCase, Page, Provenance
from tests.dme_stand_ins import dme_pdf

ORDER_PDF = dme_pdf("DME ORDER", {"Patient": "Lopez, Sarah", "HCPCS": "E0601"})
STUDY_PDF = dme_pdf("SLEEP STUDY", {"Patient": "Lopez, Sarah", "AHI": "31"})


def case(decision: Decision) -> OrderCase:
    order = Document("a" * 64, "fax:order.pdf", "order.pdf", "application/pdf", [Page(1, "DME ORDER", "text-layer")],
                     DocumentKind.DME_ORDER, 0.9)
    study = Document("b" * 64, "fax:study.pdf", "study.pdf", "application/pdf", [Page(1, "SLEEP STUDY", "ocr", 91.0)],
                     DocumentKind.SLEEP_STUDY, 0.9)
    broken = Document("c" * 64, "fax:broken.pdf", "broken.pdf", "application/pdf", quarantined="encrypted PDF")

    def read(name: str, value: object, document: Document, page: int = 1) -> ExtractedField:
        return ExtractedField(name, value, 0.95, Provenance(document.sha256, page, 0, 5, str(value)))

    fields = {"patient_name": read("patient_name", {"family": "Lopez", "given": "Sarah"}, order),
              "birth_date": read("birth_date", "1951-04-09", order),
              "mbi": ExtractedField("mbi", "1EG4TE5MK73", 1.0,
                                    Provenance("fhir:Patient/7", 0, 0, 0, "Patient.identifier"), "fhir"),
              "items": read("items", [{"hcpcs": "E0601", "quantity": 1, "settings": {"pressure": 10}}], order),
              "prescriber_name": read("prescriber_name", {"family": "Grey", "given": "Meredith"}, order),
              "prescriber_npi": read("prescriber_npi", "1234567893", order),
              "order_date": read("order_date", "2026-11-02", order),
              "diagnoses": read("diagnoses", ["G47.33"], order),
              "sleep_study": read("sleep_study", {"date": "2026-10-01", "type": "PSG", "ahi": 31.0}, study)}
    return OrderCase("fax:" + "a" * 64, "fax", [order, study, broken], fields, decision)


MISSING = Decision("missing", [Missing("face-to-face-before-study", "A face-to-face evaluation dated before the "
                                                                    "sleep study (2026-10-01)."),
                               Missing("prescriber-signature", "The order signed and dated by the prescriber.")],
                   ["unreadable document broken.pdf: encrypted PDF"], "medicare-cpap-e0601")


def test_the_packet_is_a_cover_sheet_with_sources_then_the_readable_documents() -> None:
    pdfs = {"a" * 64: ORDER_PDF, "b" * 64: STUDY_PDF}
    packet = PdfReader(io.BytesIO(order_packet(case(MISSING), pdfs.__getitem__)))
    assert len(packet.pages) == 3  # cover, order, study — the unreadable file is named, not appended
    cover = packet.pages[0].extract_text()
    for expected in ("Decision: missing (medicare-cpap-e0601)", "Sarah Lopez", "1EG4TE5MK73",
                     "Patient/7 (Patient.identifier)", "E0601 x1 (pressure 10)", "1234567893", "order.pdf, p. 1",
                     "study.pdf, p. 1", "ahi 31.0", "A face-to-face evaluation dated before the sleep study",
                     "broken.pdf (unreadable: encrypted PDF)"):
        assert expected in cover, expected
    assert "Lopez" in packet.pages[1].extract_text() and "AHI: 31" in packet.pages[2].extract_text()


def test_the_request_letter_names_exactly_what_is_missing() -> None:
    letter = missing_request(case(MISSING), supplier="Acme Home Medical")
    assert "To: Dr. Meredith Grey (NPI 1234567893)" in letter
    assert "Re: order for E0601 x1 (pressure 10) dated 2026-11-02 for Sarah Lopez (born 1951-04-09)" in letter
    assert "1. A face-to-face evaluation dated before the sleep study (2026-10-01)." in letter
    assert "2. The order signed and dated by the prescriber." in letter
    assert missing_request(case(Decision("qualified"))) is None


def test_folder_delivery_is_atomic_and_rewrites_the_same_files(tmp_path: Path) -> None:
    missing, qualified = case(MISSING), case(Decision("qualified"))
    written = deliver_to_folder(tmp_path, missing.key, b"%PDF-1", delivery_record(missing), missing_request(missing))
    assert [p.name for p in written] == [f"{file_stem(missing.key)}{suffix}" for suffix in (".pdf", ".json",
                                                                                            ".request.txt")]
    deliver_to_folder(tmp_path, qualified.key, b"%PDF-2", delivery_record(qualified), None)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written[:2])  # no temp files left
    assert json.loads(written[1].read_text())["decision"]["status"] == "qualified"
    assert written[0].read_bytes() == b"%PDF-2"


def test_the_result_digest_changes_with_the_result_only() -> None:
    assert result_digest(case(MISSING)) == result_digest(case(MISSING))
    assert result_digest(case(MISSING)) != result_digest(case(Decision("qualified")))


def test_csv_rows_per_item_never_twice_and_a_cut_row_is_repaired(tmp_path: Path) -> None:
    path = tmp_path / "billing.csv"
    order = case(MISSING)
    rows = billing_rows(order, result_digest(order))
    assert append_csv(path, rows) is True
    assert append_csv(path, rows) is False  # a retried step finds its row already there
    with path.open("a") as handle:
        handle.write("fax:partial,row-cut-by-a-cra")  # a crash in the middle of an append
    other = case(Decision("qualified"))
    assert append_csv(path, billing_rows(other, result_digest(other))) is True
    written = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [(r["decision"], r["hcpcs"], r["mbi"], r["prescriber_npi"]) for r in written] == \
        [("missing", "E0601", "1EG4TE5MK73", "1234567893"), ("qualified", "E0601", "1EG4TE5MK73", "1234567893")]
    assert written[0]["missing"] == "face-to-face-before-study; prescriber-signature"
    assert json.loads(written[0]["settings"]) == {"pressure": 10}


@contextmanager
def http_server(statuses: list[int]) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A real HTTP server in a thread answering the given statuses in turn (then 200)."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append({"key": self.headers["Idempotency-Key"], "order": json.loads(body)["key"]})
            self.send_response(statuses[len(seen) - 1] if len(seen) <= len(statuses) else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", seen
    finally:
        server.shutdown()


def test_webhook_retries_5xx_with_exponential_backoff(tmp_path: Path) -> None:
    waits: list[float] = []
    record = delivery_record(case(MISSING))
    with http_server([503, 500, 429]) as (url, seen):
        attempts = post_webhook(url, record, "key-1", attempts=5, backoff_seconds=0.5, sleep=waits.append)
    assert attempts == 4 and waits == [0.5, 1.0, 2.0]
    assert {r["key"] for r in seen} == {"key-1"} and len(seen) == 4


def test_webhook_gives_up_after_its_attempts_and_at_once_on_a_refusal() -> None:
    record = delivery_record(case(MISSING))
    with http_server([503] * 5) as (url, seen), pytest.raises(DeliveryFailed, match="after 3 attempts: HTTP 503"):
        post_webhook(url, record, "key-2", attempts=3, backoff_seconds=0, sleep=lambda _: None)
    assert len(seen) == 3
    with http_server([422]) as (url, seen), pytest.raises(DeliveryFailed, match="refused the order: HTTP 422"):
        post_webhook(url, record, "key-3", attempts=3, backoff_seconds=0, sleep=lambda _: None)
    assert len(seen) == 1
