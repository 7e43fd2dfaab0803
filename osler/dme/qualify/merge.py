"""The case view: one value per field, combined from the case's documents. Each field is read from the
document kind that is its authority (the order for what was ordered, the sleep study for its results,
the office note for the face-to-face evaluation), then from the most confident document; values that
disagree are noted as conflicts. Fields the case already carries (an EHR's structured order) fill what
no document says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from osler.dme.identity import parse_date
from osler.dme.model import FIELD_NAMES, Document, DocumentKind, ExtractedField, OrderCase
from osler.dme.understand.validators import valid_mbi

AUTHORITY: dict[str, DocumentKind] = {
    "order_date": DocumentKind.DME_ORDER, "items": DocumentKind.DME_ORDER,
    "prescriber_name": DocumentKind.DME_ORDER, "prescriber_npi": DocumentKind.DME_ORDER,
    "signature_present": DocumentKind.DME_ORDER,
    "sleep_study": DocumentKind.SLEEP_STUDY, "oxygen_test": DocumentKind.OXYGEN_TEST,
    "face_to_face": DocumentKind.OFFICE_NOTE,
    "patient_name": DocumentKind.FACESHEET, "birth_date": DocumentKind.FACESHEET, "sex": DocumentKind.FACESHEET,
    "mrn": DocumentKind.FACESHEET, "mbi": DocumentKind.FACESHEET, "payer": DocumentKind.FACESHEET,
    "member_id": DocumentKind.FACESHEET,
}
# Read only from the authority when one is on file: a date in a note is not the order's date.
AUTHORITY_FIRST = frozenset({"order_date", "items"})
# Read only from the authority, ever: a signed office note does not make the order signed, and a visit
# mentioned in an encounter summary is not the face-to-face evaluation the rules ask for.
AUTHORITY_ONLY = frozenset({"signature_present", "face_to_face", "sleep_study", "oxygen_test"})
UNION_FIELDS = frozenset({"diagnoses"})  # a code on the order or in a note counts
# An MBI failing its format check is a misreading (OCR's, or a typing slip) wherever it is written: a
# well-formed one on another document of the case is the beneficiary's, even over the facesheet's.
WELL_FORMED = {"mbi": valid_mbi}


@dataclass
class Merged:
    fields: dict[str, ExtractedField]
    conflicts: list[str] = field(default_factory=list)
    unreadable: list[Document] = field(default_factory=list)  # quarantined documents of the case


def _readable(case: OrderCase) -> list[Document]:
    return [d for d in case.documents if d.quarantined is None and d.kind != DocumentKind.NON_DME]


def _same(first: Any, second: Any) -> bool:
    return json.dumps(first, sort_keys=True, default=str) == json.dumps(second, sort_keys=True, default=str)


def _rank(name: str, document: Document, found: ExtractedField) -> tuple[bool, bool, str, float]:
    """Sort key, best first: a well-formed value; the authority's kind; among orders the latest order date
    (an amendment wins); then confidence."""
    authority = AUTHORITY.get(name)
    latest = document.value("order_date") if document.kind == DocumentKind.DME_ORDER else None
    check = WELL_FORMED.get(name)
    well_formed = check is None or check(str(found.value))
    return (well_formed, document.kind == authority, str(parse_date(latest) or ""), found.confidence)


def merge(case: OrderCase) -> Merged:
    documents = _readable(case)
    merged = Merged({}, unreadable=[d for d in case.documents if d.quarantined is not None])
    for name in FIELD_NAMES:
        candidates = [(document, document.fields[name]) for document in documents if name in document.fields]
        if name in UNION_FIELDS:
            codes = sorted({code for _, found in candidates for code in found.value or ()})
            if codes:
                best = max(candidates, key=lambda pair: pair[1].confidence)[1]
                merged.fields[name] = ExtractedField(name, codes, best.confidence, best.provenance, best.extractor)
        elif candidates:
            authority = AUTHORITY.get(name)
            if name in AUTHORITY_ONLY or (name in AUTHORITY_FIRST and any(d.kind == authority for d in documents)):
                candidates = [(d, found) for d, found in candidates if d.kind == authority]
            candidates.sort(key=lambda pair: _rank(name, *pair), reverse=True)
            if candidates:
                chosen = candidates[0][1]
                merged.fields[name] = chosen
                disagreeing = sorted({d.filename for d, found in candidates[1:]
                                      if not _same(found.value, chosen.value)})
                if disagreeing:
                    merged.conflicts.append(f"{name}: {candidates[0][0].filename} and {', '.join(disagreeing)} "
                                            f"disagree; used {candidates[0][0].filename}")
        if name not in merged.fields and name in case.fields:
            merged.fields[name] = case.fields[name]
    return merged


def merge_fields(case: OrderCase) -> dict[str, ExtractedField]:
    return merge(case).fields
