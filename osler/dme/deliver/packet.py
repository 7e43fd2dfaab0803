"""The order packet: one PDF, a cover sheet (patient, order, items and settings, prescriber and NPI,
diagnoses, the sleep study / oxygen test / face-to-face facts — each with where it was read — then the
decision and what is missing), followed by every readable document of the case (pypdf)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from osler.dme.model import Document, ExtractedField, OrderCase

LABELS = {"patient_name": "Patient", "birth_date": "Date of birth", "sex": "Sex", "mrn": "MRN", "mbi": "MBI",
          "payer": "Payer", "member_id": "Member ID", "order_date": "Order date", "items": "Items",
          "prescriber_name": "Prescriber", "prescriber_npi": "Prescriber NPI", "signature_present": "Signed",
          "diagnoses": "Diagnoses", "sleep_study": "Sleep study", "face_to_face": "Face-to-face",
          "oxygen_test": "Oxygen test"}


def show_value(name: str, value: Any) -> str:
    """A field's value in words for the cover sheet and the CLI."""
    if value is None:
        return "-"
    if name in ("patient_name", "prescriber_name") and isinstance(value, dict):
        return f"{value.get('given', '')} {value.get('family', '')}".strip()
    if name == "items" and isinstance(value, list):
        return "; ".join(f"{item.get('hcpcs')} x{item.get('quantity', 1)}"
                         + (f" ({', '.join(f'{k} {v}' for k, v in item.get('settings', {}).items())})"
                            if item.get("settings") else "") for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}"
                         for k, v in value.items() if v not in (None, []))
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def show_source(field: ExtractedField, documents: dict[str, Document]) -> str:
    """Where a value was read: the document's file name and page, or the FHIR resource and element."""
    where = field.provenance
    if where is None:
        return field.extractor
    if where.document.startswith("fhir:"):
        return f"{where.document[5:]} ({where.text})"
    document = documents.get(where.document)
    name = document.filename if document else where.document[:12]
    return f"{name}, p. {where.page}"


def _latin1(text: str) -> str:
    """The core PDF fonts are Latin-1: replace what they cannot draw rather than fail the delivery."""
    return text.replace("≥", ">=").replace("≤", "<=").replace("—", "-").replace("\u2013", "-") \
        .encode("latin-1", "replace").decode("latin-1")


def cover_sheet(case: OrderCase) -> bytes:
    documents = {d.sha256: d for d in case.documents}
    pdf = FPDF(format="letter")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    write: Callable[..., Any] = pdf.multi_cell
    pdf.set_font("Helvetica", "B", 15)
    write(0, 8, "DME order packet", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    write(0, 5, _latin1(f"Order {case.key}"), new_x="LMARGIN", new_y="NEXT")
    decision = case.decision
    pdf.set_font("Helvetica", "B", 12)
    write(0, 8, _latin1(f"Decision: {decision.status if decision else 'undecided'}"
                        + (f" ({decision.rule_set})" if decision and decision.rule_set else "")),
          new_x="LMARGIN", new_y="NEXT")
    if case.superseded_by:
        write(0, 6, _latin1(f"Superseded by {case.superseded_by}"), new_x="LMARGIN", new_y="NEXT")
    if case.supersedes:
        write(0, 6, _latin1(f"Amended order: replaces {case.supersedes}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for name, label in LABELS.items():
        field = case.fields.get(name)
        if field is None:
            continue
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(38, 6, _latin1(label))
        pdf.set_font("Helvetica", "", 10)
        write(0, 6, _latin1(f"{show_value(name, field.value)}   [{show_source(field, documents)}]"),
              new_x="LMARGIN", new_y="NEXT")
    if decision and decision.missing:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 11)
        write(0, 7, "Missing", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for missing in decision.missing:
            write(0, 6, _latin1(f"- {missing.message}"), new_x="LMARGIN", new_y="NEXT")
    if decision and decision.notes:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 11)
        write(0, 7, "Notes", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for note in decision.notes:
            write(0, 6, _latin1(f"- {note}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    write(0, 7, "Documents", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for document in case.documents:
        state = f"unreadable: {document.quarantined}" if document.quarantined else \
            f"{document.kind.value if document.kind else 'unclassified'}, {len(document.pages)} page(s)"
        write(0, 6, _latin1(f"- {document.filename} ({state})"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def order_packet(case: OrderCase, read_pdf: Callable[[str], bytes]) -> bytes:
    """The cover sheet then each readable document's PDF (``read_pdf(sha256)`` from the cache)."""
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(cover_sheet(case))))
    for document in case.documents:
        if document.quarantined is None:
            writer.append(PdfReader(io.BytesIO(read_pdf(document.sha256))))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
