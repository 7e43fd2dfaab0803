"""The key fields that decide whether two documents with alike words are one document, a newer version of
it, or two documents: the patient's identity, the document kind, what each kind is about (an order's
items, date, signature, prescriber and diagnoses; a study's date and AHI; …) and, for an order, whether
it says it is amended. Text similarity alone never drops a document: two patients' orders on one
practice's template read almost alike.

What disagrees decides (``agreement``): an identifier one OCR glyph off, or a value one copy lost, is no
disagreement; another patient identifier, date, quantity or setting is. A disagreeing copy of an order
for the same patient and item is an amendment — the later order date, else the one marked amended, is
in force — and never a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from osler.dme.dedupe.agreement import Agreement, Texts, agree
from osler.dme.dedupe.fingerprint import word_hashes
from osler.dme.identity import (
    NAME_SAME,
    NAME_TYPO,
    birth_dates_agree,
    identifier,
    identifiers_agree,
    items_key,
    name_similarity,
    parse_date,
)
from osler.dme.model import Document, DocumentKind

# What a document of each kind says beyond whose it is.
CONTENT_FIELDS: dict[str, tuple[str, ...]] = {
    DocumentKind.DME_ORDER: ("items", "order_date", "signature_present", "prescriber_npi", "diagnoses"),
    DocumentKind.SLEEP_STUDY: ("sleep_study",),
    DocumentKind.OXYGEN_TEST: ("oxygen_test",),
    DocumentKind.OFFICE_NOTE: ("face_to_face", "diagnoses", "signature_present"),
    DocumentKind.ENCOUNTER_SUMMARY: ("face_to_face", "diagnoses"),
    DocumentKind.FACESHEET: ("payer", "member_id"),
}
# How a practice marks a corrected order ("AMENDED ORDER", "Revised …", "amends and replaces the order
# dated …"): looked up among the text's word hashes, so the stored index needs no text.
AMENDMENT_WORDS = (b"amended", b"amends", b"amendment", b"corrected", b"correction", b"revised", b"revision",
                   b"supersedes", b"superseded")
_AMENDMENT_HASHES = np.unique(word_hashes(AMENDMENT_WORDS).astype(np.uint32))
# One MBI (issued to one beneficiary) identifies a patient; any other identifier only with a second one.
STRONG_IDENTITY = "mbi"
IDENTITY_FIELDS = ("patient_name", "birth_date", "mbi", "mrn")


def key_fields(document: Document, vocabulary: np.ndarray) -> dict[str, Any]:
    """The document's kind, identity and content fields in a canonical JSON-able form, absent ones left out;
    ``vocabulary`` is its fingerprint's word hashes."""
    kind = document.kind.value if document.kind else None
    keys: dict[str, Any] = {"kind": kind}
    name = document.value("patient_name")
    if name:
        keys["patient_name"] = name
    birth = parse_date(document.value("birth_date"))
    if birth:
        keys["birth_date"] = birth.isoformat()
    for field_name in ("mbi", "mrn", *CONTENT_FIELDS.get(kind or "", ())):
        value = _canonical(field_name, document.value(field_name))
        if value is not None:
            keys[field_name] = value
    if kind == DocumentKind.DME_ORDER and np.isin(_AMENDMENT_HASHES, vocabulary, assume_unique=True).any():
        keys["amended"] = True
    return keys


def _canonical(name: str, value: Any) -> Any:
    """A value in the form two readings of one document agree on (JSON-able, order-free)."""
    if value is None:
        return None
    if name in ("mbi", "mrn", "member_id", "prescriber_npi"):
        return identifier(value)
    if name == "order_date":
        found = parse_date(value)
        return found.isoformat() if found else None
    if name == "items":
        key = items_key(value)
        # Lists, as the key fields come back from their JSON store.
        return None if key is None else [[hcpcs, quantity, [list(s) for s in settings]]
                                         for hcpcs, quantity, settings in key]
    if name == "diagnoses":
        return sorted({identifier(code) for code in value} - {None}) or None
    if isinstance(value, dict):
        return {key: _plain_part(part) for key, part in value.items() if part is not None} or None
    return value


def _plain_part(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 1)
    if isinstance(value, list):
        return sorted(str(v).lower() for v in value)
    return value


@dataclass(frozen=True)
class Comparison:
    outcome: str  # "same" | "amended" | "different"
    reason: str
    content_agreeing: tuple[str, ...] = ()  # content fields both documents state alike, at least in part
    richer: tuple[str, ...] = ()  # "same": the content fields the new copy states and the old one lacks
    newer: str = "new"  # "amended": which of the two is in force, "new" or "old"


def compare(new: dict[str, Any], old: dict[str, Any], texts: Texts | None = None) -> Comparison:
    """Whether ``new`` is ``old`` again, a newer or older version of the same order, or another document
    (``texts``: their shingles, to check a date against what each text writes). In doubt, "different":
    keeping a duplicate costs a reviewer a minute, dropping a document can lose an order."""
    if new.get("kind") != old.get("kind"):
        return Comparison("different", "different document kinds")
    agreeing, conflict = _identity(new, old)
    if conflict:
        return Comparison("different", conflict)
    if not agreeing:
        return Comparison("different", "no patient identity to compare")
    kind = new.get("kind") or ""
    content = {name: agree(name, new.get(name), old.get(name), texts) for name in CONTENT_FIELDS.get(kind, ())}
    both = tuple(name for name, found in content.items() if found.shared and not found.conflict)
    changed = [name for name, found in content.items() if found.conflict]
    if kind == DocumentKind.DME_ORDER:
        return _orders(new, old, agreeing, content, both, changed)
    if changed:
        return Comparison("different", f"same patient, different {', '.join(changed)}", both)
    return _same(new, old, agreeing, content, both)


def _identity(new: dict[str, Any], old: dict[str, Any]) -> tuple[list[str], str]:
    """The identity fields that agree, and the reason the two are two patients ("" when they are not)."""
    agreeing = []
    for field_name in ("birth_date", "mbi", "mrn"):
        agreed = (birth_dates_agree if field_name == "birth_date" else identifiers_agree)(
            new.get(field_name), old.get(field_name))
        if agreed is False:
            return [], f"different {field_name}"
        if agreed:
            agreeing.append(field_name)
    similarity = name_similarity(new.get("patient_name"), old.get("patient_name"))
    if similarity is not None:
        # An OCR slip in a name is tolerated only when another identifier vouches for the patient.
        if similarity < (NAME_TYPO if agreeing else NAME_SAME):
            return [], "different patient name"
        agreeing.append("patient_name")
    return agreeing, ""


def _same(new: dict[str, Any], old: dict[str, Any], agreeing: list[str], content: dict[str, Agreement],
          both: tuple[str, ...]) -> Comparison:
    # the identity a copy states and the kept one lost (OCR did not read its birth date) counts as much as
    # content: the case's matching needs it
    identity = tuple(name for name in IDENTITY_FIELDS if new.get(name) and not old.get(name))
    richer = identity + tuple(name for name, found in content.items() if found.old_lacks)
    lost = [name for name, found in content.items() if found.new_lacks]
    detail = f"; this copy lacks {', '.join(lost)}" if lost else ""
    detail += f"; this copy adds {', '.join(richer)}" if richer else ""
    return Comparison("same", f"same {', '.join(agreeing)} and content{detail}", both, richer)


def _orders(new: dict[str, Any], old: dict[str, Any], agreeing: list[str], content: dict[str, Agreement],
            both: tuple[str, ...], changed: list[str]) -> Comparison:
    """Two orders of one patient: a copy when nothing disagrees and both state the same order date; a newer
    version when they share an item and the date, a quantity, a setting or the amendment marking differs;
    otherwise two orders."""
    shared_item = bool(_codes(new.get("items")) & _codes(old.get("items")))
    if "items" in new and "items" in old and not shared_item:
        return Comparison("different", "same patient, another order (no item in common)", both)
    marking_differs = bool(new.get("amended")) != bool(old.get("amended"))
    if not changed and not marking_differs:
        if content["order_date"].equal:
            return _same(new, old, agreeing, content, both)
        return Comparison("different", "same patient and items, but the order date is not on both to tell a copy "
                                       "from a version", both)
    what = ", ".join([*changed, *(["amendment marking"] if marking_differs else [])])
    if not shared_item:
        return Comparison("different", f"same patient, changed {what}, no item to compare", both)
    if STRONG_IDENTITY not in agreeing and len(agreeing) < 2:
        return Comparison("different", f"changed {what}, but only the {agreeing[0]} says it is the same patient",
                          both)
    newer = _newer(new, old)
    return Comparison("amended", f"same patient, changed {what}; the {newer} one is in force", both, newer=newer)


def _newer(new: dict[str, Any], old: dict[str, Any]) -> str:
    """"new" or "old": the later order date; on a tie or an unknown date the one marked amended, else the
    later arrival (the new one)."""
    new_date, old_date = parse_date(new.get("order_date")), parse_date(old.get("order_date"))
    if new_date and old_date and new_date != old_date:
        return "new" if new_date > old_date else "old"
    if bool(new.get("amended")) != bool(old.get("amended")):
        return "new" if new.get("amended") else "old"
    return "new"


def _codes(items: list | None) -> set[str]:
    return {item[0] for item in items or ()}
