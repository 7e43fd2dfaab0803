"""The key fields that decide whether two documents with nearly the same words are the same document:
the patient's identity, the document kind, and what each kind is about (an order's items, settings,
date, signature, prescriber and diagnoses; a study's date and AHI; …). Text similarity alone never
drops a document: two patients' orders on one practice's template read almost alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from osler.dme.identity import NAME_SAME, NAME_TYPO, identifier, items_key, name_similarity
from osler.dme.model import Document, DocumentKind

IDENTIFIERS = ("birth_date", "mbi", "mrn")
FREE_TEXT = frozenset({"payer"})
FREE_TEXT_SAME = 90.0

# What a document of each kind says beyond whose it is; any difference makes it another document.
CONTENT_FIELDS: dict[str, tuple[str, ...]] = {
    DocumentKind.DME_ORDER: ("items", "order_date", "signature_present", "prescriber_npi", "diagnoses"),
    DocumentKind.SLEEP_STUDY: ("sleep_study",),
    DocumentKind.OXYGEN_TEST: ("oxygen_test",),
    DocumentKind.OFFICE_NOTE: ("face_to_face", "diagnoses", "signature_present"),
    DocumentKind.ENCOUNTER_SUMMARY: ("face_to_face", "diagnoses"),
    DocumentKind.FACESHEET: ("payer", "member_id"),
}


def _canonical(name: str, value: Any) -> Any:
    """A value in the form two readings of one document agree on (JSON-able, order-free)."""
    if name in (*IDENTIFIERS, "member_id"):
        return identifier(value)
    if name == "items":
        key = items_key(value)
        # Lists, as the key fields come back from their JSON store.
        return None if key is None else [[hcpcs, quantity, [list(s) for s in settings]]
                                         for hcpcs, quantity, settings in key]
    if name == "diagnoses":
        return sorted({identifier(code) for code in value or ()} - {None}) or None
    if isinstance(value, dict):
        return json.dumps({k: _plain_part(v) for k, v in value.items() if v is not None}, sort_keys=True)
    return value


def _plain_part(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 1)
    if isinstance(value, list):
        return sorted(str(v).lower() for v in value)
    return value


def key_fields(document: Document) -> dict[str, Any]:
    """The document's kind, identity and content fields, canonical, absent ones left out."""
    kind = document.kind.value if document.kind else None
    keys: dict[str, Any] = {"kind": kind}
    name = document.value("patient_name")
    if name:
        keys["patient_name"] = name
    for field_name in (*IDENTIFIERS, *CONTENT_FIELDS.get(kind or "", ())):
        value = _canonical(field_name, document.value(field_name))
        if value is not None:
            keys[field_name] = value
    return keys


@dataclass(frozen=True)
class Comparison:
    outcome: str  # "same" | "amended" | "different"
    reason: str
    content_agreeing: tuple[str, ...] = ()  # content fields both documents state, equal


def compare(new: dict[str, Any], old: dict[str, Any]) -> Comparison:
    """Whether ``new`` (a near-identical text) is ``old`` again, an amendment of it, or another document.
    In doubt, "different": keeping a duplicate costs a reviewer a minute, dropping a document can lose
    an order."""
    if new.get("kind") != old.get("kind"):
        return Comparison("different", "different document kinds")
    agreeing = []
    for field_name in IDENTIFIERS:
        if field_name in new and field_name in old:
            if new[field_name] != old[field_name]:
                return Comparison("different", f"different {field_name}")
            agreeing.append(field_name)
    similarity = name_similarity(new.get("patient_name"), old.get("patient_name"))
    if similarity is not None:
        # An OCR slip in a name is tolerated only when another identifier vouches for the patient.
        if similarity < (NAME_TYPO if agreeing else NAME_SAME):
            return Comparison("different", "different patient name")
        agreeing.append("patient_name")
    if not agreeing:
        return Comparison("different", "no patient identity to compare")
    content = CONTENT_FIELDS.get(new.get("kind") or "", ())
    # A field the new copy has and the old one lacked is new information, not a repeat.
    changed = [name for name in content if name in new and not _equal(name, new[name], old.get(name))]
    both = tuple(name for name in content if name in new and name in old and _equal(name, new[name], old[name]))
    if not changed:
        return Comparison("same", f"same {', '.join(agreeing)} and content", both)
    if new.get("kind") != DocumentKind.DME_ORDER:
        return Comparison("different", f"same patient, different {', '.join(changed)}", both)
    if not _codes(new.get("items")) & _codes(old.get("items")) and "items" in new and "items" in old:
        return Comparison("different", "same patient, another order (no item in common)", both)
    return Comparison("amended", f"same patient, changed {', '.join(changed)}", both)


def _equal(name: str, new: Any, old: Any) -> bool:
    if name in FREE_TEXT and isinstance(new, str) and isinstance(old, str):
        # Payer names as printed pick up OCR specks ("Medicare Part B. OS"); the words themselves must agree.
        return fuzz.token_set_ratio(new.lower(), old.lower()) >= FREE_TEXT_SAME
    return new == old


def _codes(items: list | None) -> set[str]:
    return {item[0] for item in items or ()}
