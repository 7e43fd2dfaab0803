"""Deciding a case: its fields merged (an EHR order's structured facts outranking what is read from its
documents), the payer decision, and notes on unreadable and dropped documents. For an EHR order, its own
documents are deduplicated first; a repeat that reads more than the copy kept takes its place."""

from __future__ import annotations

from osler.dme.model import Document, DocumentKind, ExtractedField, OrderCase, fill_from
from osler.dme.pipeline.runtime import current

DUPLICATE_VERDICTS = ("exact", "near")
# Fields an EHR order states in structured resources: they outrank what is read from its documents.
STRUCTURED_WINS = {"patient_name", "birth_date", "sex", "mrn", "mbi", "payer", "member_id", "order_date", "items",
                   "prescriber_name", "prescriber_npi", "signature_present", "diagnoses"}


def decide_order(key: str, source: str, documents: list[Document],
                 structured: dict[str, ExtractedField]) -> OrderCase:
    """An EHR order's case: its readable DME documents less duplicates, fields merged with the structured
    facts of its FHIR resources, and the payer decision."""
    deduper = current().stages.new_deduper()
    kept: list[Document] = []
    notes: list[str] = []
    for document in documents:
        if document.quarantined is None and document.kind == DocumentKind.NON_DME:
            notes.append(f"set aside {document.filename}: not a DME document")
            continue
        if document.quarantined is None:
            verdict = deduper.check(document)
            if verdict.verdict in DUPLICATE_VERDICTS:
                replaced = _replace(kept, verdict.of, document) if getattr(verdict, "richer", ()) else None
                dropped = replaced or document
                notes.append(f"dropped {dropped.filename}: {verdict.verdict} duplicate")
                if replaced:
                    deduper.add(document)
                continue
            deduper.add(document)
        kept.append(document)
    return decided(OrderCase(key, source, kept), structured, notes)


def _replace(kept: list[Document], sha256: str | None, richer: Document) -> Document | None:
    """Put ``richer`` in the place of the kept copy ``sha256``; the copy it replaced."""
    for position, document in enumerate(kept):
        if document.sha256 == sha256:
            fill_from(richer, document)
            kept[position] = richer
            return document
    return None


def decided(case: OrderCase, structured: dict[str, ExtractedField], notes: list[str]) -> OrderCase:
    stages = current().stages
    merged = stages.merge_fields(case)
    merged.update({name: field for name, field in structured.items() if name in STRUCTURED_WINS or name not in merged})
    case.fields = merged
    case.decision = stages.decide(case)
    for document in case.documents:
        if document.quarantined and not any(document.filename in note for note in case.decision.notes):
            case.decision.notes.append(f"unreadable document {document.filename}: {document.quarantined}")
    case.decision.notes.extend(notes)
    return case


def structured_facts(case: OrderCase) -> dict[str, ExtractedField]:
    """The facts an EHR order's FHIR resources stated (kept in its case beside what was read)."""
    return {name: field for name, field in case.fields.items() if field.extractor == "fhir"}
