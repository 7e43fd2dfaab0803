"""The deterministic extractor: which fields to read from which kind of document, and reading them.

Patient identity and diagnoses are read from every document (matching needs them); the rest only from
the kinds that carry them, so that an office note's "plan: CPAP" is not taken for an order and an order's
"AHI ≥ 15" criteria text is not taken for a study result."""

from __future__ import annotations

from collections.abc import Callable

from osler.dme.model import Document, DocumentKind, ExtractedField
from osler.dme.understand import clinical, identity, orders, oxygen, sleep
from osler.dme.understand.classify import classify
from osler.dme.understand.scan import Scan

Extractor = Callable[[Scan], ExtractedField | None]

IDENTITY: dict[str, Extractor] = {
    "patient_name": identity.patient_name, "birth_date": identity.birth_date, "sex": identity.sex,
    "mrn": identity.mrn, "mbi": identity.mbi, "payer": identity.payer, "member_id": identity.member_id,
    "diagnoses": clinical.diagnoses,
}
ORDER: dict[str, Extractor] = {
    "order_date": orders.order_date, "items": orders.items, "prescriber_name": orders.prescriber_name,
    "prescriber_npi": orders.prescriber_npi, "signature_present": orders.signature_present,
}
PRESCRIBER: dict[str, Extractor] = {"prescriber_name": orders.prescriber_name, "prescriber_npi": orders.prescriber_npi}
SIGNED_NOTE: dict[str, Extractor] = {**PRESCRIBER, "signature_present": orders.signature_present}
BY_KIND: dict[DocumentKind, dict[str, Extractor]] = {
    DocumentKind.DME_ORDER: ORDER,
    DocumentKind.FACESHEET: {},
    DocumentKind.OFFICE_NOTE: {**SIGNED_NOTE, "face_to_face": clinical.face_to_face},
    DocumentKind.SLEEP_STUDY: {**PRESCRIBER, "sleep_study": sleep.sleep_study},
    DocumentKind.OXYGEN_TEST: {**PRESCRIBER, "oxygen_test": oxygen.oxygen_test},
    DocumentKind.ENCOUNTER_SUMMARY: {**SIGNED_NOTE, "face_to_face": clinical.face_to_face,
                                     "oxygen_test": oxygen.oxygen_test},
    DocumentKind.NON_DME: {},
}


def extract(document: Document) -> dict[str, ExtractedField]:
    """The fields ``document`` states, each with provenance and confidence (classified first if needed)."""
    kind = document.kind or classify(document)[0]
    scan = Scan(document)
    fields = {}
    for name, extractor in {**IDENTITY, **BY_KIND[kind]}.items():
        found = extractor(scan)
        if found is not None:
            fields[name] = found
    return fields
