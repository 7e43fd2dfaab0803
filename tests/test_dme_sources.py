"""The DME sources: the fax folder, a Maildir, and the FHIR source against a real ``osler serve`` (seeded
over HTTP with a supplier, a patient with MBI and coverage, a prescriber with NPI, supporting documents
inline and as Binary, a signed DME order sent to the supplier and copied to a second one) — and that
order carried by the pipeline, with the real stages, into a delivered packet."""

from __future__ import annotations

import json
import mailbox
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from pypdf import PdfReader

from osler.dme.demo import EhrSeeder
from osler.dme.sources import BearerToken, FaxFolder, FhirSource, MaildirSource
from tests.dme_stand_ins import dme_pdf
from tests.live_server import running_server

TIFF_HEADER = b"II*\x00" + b"\x00" * 60


# ---------------------------------------------------------------------------------------- fax


def test_fax_folder_keys_files_by_content_and_archives_them(tmp_path: Path) -> None:
    folder = tmp_path / "fax"
    folder.mkdir()
    order = dme_pdf("DME ORDER", {"Patient": "Doe, Jane"})
    (folder / "a.pdf").write_bytes(order)
    (folder / "same-fax-again.PDF").write_bytes(order)
    (folder / "scan.tif").write_bytes(TIFF_HEADER)
    (folder / ".incoming.pdf").write_bytes(b"still being written")
    (folder / "note.txt").write_text("not a document")
    source = FaxFolder(folder)
    items = list(source.discover())
    assert [item.ref["filename"] for item in items] == ["a.pdf", "same-fax-again.PDF", "scan.tif"]
    assert items[0].key == items[1].key and items[0].key.startswith("fax:")  # same bytes, one idempotency key
    fetched = source.fetch(items[2])
    assert not fetched.is_order and fetched.files[0].parts == [(TIFF_HEADER, "image/tiff")]
    source.archive(items[0])
    assert not (folder / "a.pdf").exists()
    assert source.fetch(items[0]).files[0].parts[0][0] == order  # a retried fetch after the move still works
    assert [item.ref["filename"] for item in source.discover()] == ["same-fax-again.PDF", "scan.tif"]


# ------------------------------------------------------------------------------------- maildir


def test_maildir_message_attachments_are_documents_and_seen_messages_are_skipped(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    message = EmailMessage()
    message["Message-ID"] = "<fax-42@gateway.example>"
    message["Subject"] = "Fax from 555-0100"
    message.set_content("2 pages attached")
    pdf = dme_pdf("DME ORDER", {"Patient": "Doe, Jane"})
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="order.pdf")
    message.add_attachment(TIFF_HEADER, maintype="image", subtype="tiff", filename="page2.tif")
    box.add(message)
    source = MaildirSource(tmp_path / "mail")
    (item,) = source.discover()
    assert item.key == "maildir:<fax-42@gateway.example>"
    fetched = source.fetch(item)
    assert [(f.filename, f.parts[0][1]) for f in fetched.files] == [("order.pdf", "application/pdf"),
                                                                    ("page2.tif", "image/tiff")]
    assert fetched.files[0].parts[0][0] == pdf
    assert fetched.files[0].source.startswith("maildir:<fax-42@gateway.example>:")
    source.archive(item)
    assert list(source.discover()) == []
    assert list(MaildirSource(tmp_path / "no-such-box").discover()) == []


# ------------------------------------------------------------------------------------- FHIR


@pytest.fixture(scope="module")
def ehr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A live Osler server with one signed CPAP order for supplier A, copied to supplier B."""
    with running_server(tmp_path_factory.mktemp("ehr")) as base:
        seeder = EhrSeeder(base)
        supplier, copied = seeder.supplier("Acme Home Medical"), seeder.supplier("Beta Respiratory")
        department = seeder.create({"resourceType": "Organization", "name": "Sleep Clinic"})
        patient = seeder.patient({"family": "Lopez", "given": "Sarah"}, "1951-04-09", sex="female", mrn="MRN-1001",
                                 mbi="1EG4TE5MK73")
        seeder.coverage(patient, "Medicare Part B", "1EG4TE5MK73")
        doctor = seeder.practitioner({"family": "Grey", "given": "Meredith"}, "1234567893")
        visit = seeder.open_visit(patient, doctor, department)
        note = dme_pdf("OFFICE NOTE", {"Patient": "Lopez, Sarah", "DOB": "1951-04-09"})
        study = dme_pdf("SLEEP STUDY", {"Patient": "Lopez, Sarah", "DOB": "1951-04-09", "AHI": "31"})
        documents = [seeder.document(patient, "office note", note), seeder.document(patient, "sleep study", study,
                                                                                     as_binary=True)]
        order = seeder.dme_order(visit, hcpcs="E0601", settings={"pressure": 10, "mask": "nasal", "humidifier": True},
                                 reasons=["G47.33"], supplier=supplier, documents=documents,
                                 cc=[f"Organization/{copied}"])
        seeder.close()
        yield {"base": base, "supplier": supplier, "copied": copied, "order": order, "patient": patient,
               "note": note.hex(), "study": study.hex()}


def test_fhir_source_discovers_the_order_and_fetches_its_facts_and_documents(ehr: dict[str, str]) -> None:
    source = FhirSource(ehr["base"], ehr["supplier"], auth=BearerToken("not-checked-by-osler"))
    (item,) = source.discover()
    assert item.key == f"fhir:{ehr['base']}/DeviceRequest/{ehr['order']}"
    assert source.watermark  # the next poll asks only for what changed since
    fetched = source.fetch(item)
    source.close()
    values = {name: field.value for name, field in fetched.fields.items()}
    assert fetched.is_order
    assert values["patient_name"] == {"family": "Lopez", "given": "Sarah"}
    assert (values["birth_date"], values["sex"], values["mrn"], values["mbi"]) == \
        ("1951-04-09", "female", "MRN-1001", "1EG4TE5MK73")
    assert (values["payer"], values["member_id"]) == ("Medicare Part B", "1EG4TE5MK73")
    assert values["items"] == [{"hcpcs": "E0601", "quantity": 1,
                                "settings": {"pressure": 10, "mask": "nasal", "humidifier": True}}]
    assert values["prescriber_npi"] == "1234567893" and values["diagnoses"] == ["G47.33"]
    assert values["signature_present"] is True
    assert fetched.fields["mbi"].provenance.document == f"fhir:Patient/{ehr['patient']}"
    assert [f.parts[0] for f in fetched.files] == [(bytes.fromhex(ehr["note"]), "application/pdf"),
                                                   (bytes.fromhex(ehr["study"]), "application/pdf")]


def test_a_copied_supplier_finds_the_order_through_its_in_basket(ehr: dict[str, str]) -> None:
    source = FhirSource(ehr["base"], ehr["copied"])
    assert [item.ref["id"] for item in source.discover()] == [ehr["order"]]
    source.close()
    other = FhirSource(ehr["base"], "no-such-supplier")
    assert list(other.discover()) == []
    other.close()


def test_a_fhir_order_is_delivered_by_the_pipeline_with_the_real_stages(ehr: dict[str, str], tmp_path: Path) -> None:
    from osler.dme.config import load_dme_settings
    from osler.dme.pipeline.runner import Worker

    settings = load_dme_settings(home=str(tmp_path / "dme"), fhir_url=ehr["base"], supplier=ehr["supplier"],
                                 output_folder=str(tmp_path / "out"))
    worker = Worker(settings)
    worker.start()
    try:
        worker.drain()
        worker.drain()  # polling again finds the same order: processed once
        deliveries = worker.runtime.ledger.deliveries()
    finally:
        worker.stop()
    assert [d["destination"] for d in deliveries] == ["folder"]
    (record_path,) = (tmp_path / "out").glob("*.json")
    record = json.loads(record_path.read_text())
    assert record["key"].endswith(f"/DeviceRequest/{ehr['order']}")
    assert record["fields"]["mbi"]["value"] == "1EG4TE5MK73"
    assert record["fields"]["mbi"]["provenance"]["document"] == f"fhir:Patient/{ehr['patient']}"
    assert len(record["documents"]) == 2 and record["decision"]["status"]
    packet = PdfReader(record_path.with_suffix(".pdf"))
    cover = packet.pages[0].extract_text()
    assert "Lopez" in cover and "1EG4TE5MK73" in cover and f"Patient/{ehr['patient']}" in cover
    assert len(packet.pages) >= 3  # the cover sheet, then both documents
