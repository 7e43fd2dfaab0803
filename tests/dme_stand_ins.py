"""Stand-in stage functions for the DME pipeline's own tests (``OSLER_DME_STAGES=tests.dme_stand_ins``):
deterministic, OCR-free and quick, so the tests exercise durability, idempotency and delivery rather than
reading. They understand only the tiny documents ``dme_pdf`` writes (``Label: value`` lines)."""

from __future__ import annotations

import io
import os
import re
import time
from dataclasses import dataclass, field

from fpdf import FPDF
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError

from osler.dme.model import Decision, Document, DocumentKind, ExtractedField, Missing, OrderCase, Page, Provenance
from osler.dme.pipeline.stages import Stages

# Seconds each document takes to read, for tests that need work to last long enough for a second worker to
# start and share it (reading here is otherwise near-instant).
READ_DELAY_S = float(os.environ.get("OSLER_TEST_STAND_IN_READ_DELAY_S", "0"))


class StandInUnreadable(Exception):
    pass


def dme_pdf(title: str, lines: dict[str, str]) -> bytes:
    """A one-page text-layer PDF: the title, then ``Label: value`` lines."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    for label, value in lines.items():
        pdf.cell(0, 8, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def read_pages(pdf: bytes, *, document: str, ocr_processes: int = 1) -> list[Page]:
    time.sleep(READ_DELAY_S)
    try:
        reader = PdfReader(io.BytesIO(pdf))
        if reader.is_encrypted:
            raise StandInUnreadable("encrypted PDF")
        pages = [Page(number, page.extract_text() or "", "text-layer") for number, page in enumerate(reader.pages, 1)]
    except (PdfReadError, ValueError) as error:
        raise StandInUnreadable(f"not a readable PDF: {type(error).__name__}") from None
    if not pages or not any(page.text.strip() for page in pages):
        raise StandInUnreadable("empty document")
    return pages


def to_pdf(data: bytes, media_type: str) -> bytes:
    raise StandInUnreadable(f"cannot convert {media_type}")


def assemble(fragments: list[bytes]) -> bytes:
    writer = PdfWriter()
    for fragment in fragments:
        writer.append(PdfReader(io.BytesIO(fragment)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


KINDS = {"DME ORDER": DocumentKind.DME_ORDER, "SLEEP STUDY": DocumentKind.SLEEP_STUDY,
         "OFFICE NOTE": DocumentKind.OFFICE_NOTE}


def classify(document: Document) -> tuple[DocumentKind, float]:
    first = document.pages[0].text.upper() if document.pages else ""
    return next(((kind, 0.9) for title, kind in KINDS.items() if title in first), (DocumentKind.NON_DME, 0.5))


def extract(document: Document) -> dict[str, ExtractedField]:
    found: dict[str, ExtractedField] = {}
    text = document.pages[0].text
    for match in re.finditer(r"^(Patient|DOB|MBI|HCPCS|AHI|NPI): *(.+)$", text, re.MULTILINE):
        label, value = match.group(1), match.group(2).strip()
        where = Provenance(document.sha256, 1, match.start(2), match.end(2), value)
        if label == "Patient":
            family, _, given = value.partition(", ")
            found["patient_name"] = ExtractedField("patient_name", {"family": family, "given": given}, 0.9, where)
        elif label == "DOB":
            found["birth_date"] = ExtractedField("birth_date", value, 0.9, where)
        elif label == "MBI":
            found["mbi"] = ExtractedField("mbi", value, 0.9, where)
        elif label == "HCPCS":
            found["items"] = ExtractedField("items", [{"hcpcs": value, "quantity": 1, "settings": {}}], 0.9, where)
        elif label == "NPI":
            found["prescriber_npi"] = ExtractedField("prescriber_npi", value, 0.9, where)
        elif label == "AHI":
            found["sleep_study"] = ExtractedField("sleep_study", {"date": "2026-01-02", "type": "PSG",
                                                                  "ahi": float(value), "rdi": None,
                                                                  "total_events": None, "recording_hours": None},
                                                  0.9, where)
    return found


@dataclass
class Verdict:
    verdict: str
    of: str | None = None


@dataclass
class ExactDeduper:
    """Exact repeats by text; an order saying "Amended: yes" supersedes the patient's earlier order."""

    seen: dict[str, str] = field(default_factory=dict)
    orders: dict[str, tuple[str, bool]] = field(default_factory=dict)  # patient → (sha256, amended)

    def check(self, document: Document) -> Verdict:
        text = document.text.strip()
        if text in self.seen:
            return Verdict("exact", self.seen[text])
        earlier = self.orders.get(self._patient(document)) if document.kind == DocumentKind.DME_ORDER else None
        if earlier:
            return Verdict("supersedes" if "Amended: yes" in text else "superseded", earlier[0])
        return Verdict("unique")

    def add(self, document: Document) -> None:
        self.seen.setdefault(document.text.strip(), document.sha256)
        if document.kind == DocumentKind.DME_ORDER:
            self.orders[self._patient(document)] = (document.sha256, "Amended: yes" in document.text)

    @staticmethod
    def _patient(document: Document) -> str:
        return str(document.value("patient_name"))


@dataclass
class Match:
    case_key: str | None
    score: float
    needs_review: bool
    reasons: list[str]


def match(document: Document, cases: list[OrderCase]) -> Match:
    """Same patient name and birth date as the case's order; two such cases → a person decides."""
    name, born = document.value("patient_name"), document.value("birth_date")
    hits = [case.key for case in cases
            if any(d.value("patient_name") == name and d.value("birth_date") == born for d in case.documents)]
    if len(hits) == 1:
        return Match(hits[0], 1.0, False, ["name and birth date"])
    return Match(None, 0.0, len(hits) > 1, [f"{len(hits)} cases match"] if hits else [])


def merge_fields(case: OrderCase) -> dict[str, ExtractedField]:
    merged: dict[str, ExtractedField] = {}
    for document in case.documents:
        for name, value in document.fields.items():
            merged.setdefault(name, value)
    return merged


def decide(case: OrderCase) -> Decision:
    study = case.fields.get("sleep_study")
    if study and study.value["ahi"] >= 15:
        return Decision("qualified", rule_set="stand-in")
    return Decision("missing", [Missing("sleep-study", "A sleep study showing AHI ≥ 15.")], rule_set="stand-in")


STAGES = Stages(read_pages, to_pdf, assemble, classify, extract, ExactDeduper, match, decide, merge_fields,
                StandInUnreadable)
