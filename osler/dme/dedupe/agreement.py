"""How two readings of one field agree — "keep when in doubt" made precise. OCR of a re-scan loses words (a
diagnosis, a table row, a record's last line) far more often than it invents them, so a value one copy
lacks, or a list one copy states only part of, is an omission, not a disagreement; two values both
stated and unlike (another date, another quantity, another AHI) are a conflict. Identifiers one glyph
apart are neither (``identifiers_agree``), and a date is judged by what the texts write, not only by
what the extractor picked: a date the other copy's text writes too is no disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from osler.dme.dedupe.fingerprint import date_stated
from osler.dme.identity import identifiers_agree

PAYER_SAME = 90.0  # token-set ratio: payer names as printed pick up OCR specks ("Medicare Part B. OS")
NUMBER_SAME = 0.05  # two readings of one number (AHI 17.6, SpO2 87) within this are one value
IDENTIFIER_FIELDS = frozenset({"prescriber_npi", "member_id"})
DATE_FIELDS = frozenset({"order_date", "date"})  # "date": a study's, test's or visit's, inside its record


@dataclass(frozen=True)
class Agreement:
    equal: bool = False  # both state it, alike, in full
    shared: bool = False  # both state some of it alike (a study's AHI and date, one diagnosis…)
    conflict: bool = False  # both state it, unlike
    new_lacks: bool = False  # the old reading states something the new one does not
    old_lacks: bool = False  # …and the reverse: the new reading is the richer one there


EQUAL = Agreement(equal=True, shared=True)
CONFLICT = Agreement(conflict=True)
NO_EVIDENCE = Agreement()


@dataclass(frozen=True)
class Texts:
    """The word 3-shingles of the two documents, to ask whether a text writes a date."""

    new: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint32))
    old: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint32))


def agree(name: str, new: Any, old: Any, texts: Texts | None = None) -> Agreement:
    """The agreement of two canonical values (``keys.key_fields``) of the field ``name``."""
    texts = texts or Texts()
    if name in DATE_FIELDS:
        return _dates(new, old, texts)
    if new is None or old is None:
        return Agreement(new_lacks=old is not None, old_lacks=new is not None)
    if name == "items":
        return _items(new, old)
    if name in IDENTIFIER_FIELDS:
        agreed = identifiers_agree(new, old)
        return NO_EVIDENCE if agreed is None else EQUAL if agreed else CONFLICT
    if name == "payer":
        return EQUAL if fuzz.token_set_ratio(str(new).lower(), str(old).lower()) >= PAYER_SAME else CONFLICT
    if isinstance(new, list) and isinstance(old, list):
        return _sets(set(new), set(old))
    if isinstance(new, dict) and isinstance(old, dict):
        return combine([agree(key, new.get(key), old.get(key), texts) for key in sorted(set(new) | set(old))])
    return EQUAL if _same_value(new, old) else CONFLICT


def combine(parts: list[Agreement]) -> Agreement:
    """Several parts of one value: equal when every part is, a conflict when any part is."""
    if any(part.conflict for part in parts):
        return CONFLICT
    return Agreement(equal=all(part.equal for part in parts), shared=any(part.shared for part in parts),
                     new_lacks=any(part.new_lacks for part in parts), old_lacks=any(part.old_lacks for part in parts))


def _dates(new: str | None, old: str | None, texts: Texts) -> Agreement:
    """Two ISO dates. One copy's extractor missing a date its text writes, or two extractors picking
    different dates both texts write (a signature date, an "amends the order dated …" line), is a reading
    difference, not another date."""
    if new == old:
        return EQUAL if new else NO_EVIDENCE
    if new is None or old is None:
        stated = date_stated(texts.new, old) if new is None else date_stated(texts.old, new)  # type: ignore[arg-type]
        return EQUAL if stated else Agreement(new_lacks=new is None, old_lacks=old is None)
    if date_stated(texts.new, old) and date_stated(texts.old, new):
        return EQUAL
    return CONFLICT


def _same_value(new: Any, old: Any) -> bool:
    if isinstance(new, bool) or isinstance(old, bool):
        return new == old
    if isinstance(new, int | float) and isinstance(old, int | float):
        return abs(new - old) <= NUMBER_SAME
    return str(new).strip().lower() == str(old).strip().lower()


def _sets(new: set[Any], old: set[Any]) -> Agreement:
    """A list read in full by one copy and in part by the other (a diagnosis or symptom OCR lost) agrees;
    two lists each naming what the other does not are a conflict only when they share nothing."""
    if new == old:
        return EQUAL if new else NO_EVIDENCE
    if new and old and not new & old:
        return CONFLICT
    return Agreement(shared=bool(new & old), new_lacks=bool(old - new), old_lacks=bool(new - old))


def _items(new: list[list[Any]], old: list[list[Any]]) -> Agreement:
    """Order lines by HCPCS: a line or setting one copy lacks is an omission (OCR drops table rows); a code
    on both with another quantity or setting is a conflict."""
    new_lines = {code: (quantity, dict(settings)) for code, quantity, settings in new}
    old_lines = {code: (quantity, dict(settings)) for code, quantity, settings in old}
    common = set(new_lines) & set(old_lines)
    if not common:
        return CONFLICT
    parts = [Agreement(equal=set(new_lines) == set(old_lines), shared=True,
                       new_lacks=bool(set(old_lines) - common), old_lacks=bool(set(new_lines) - common))]
    for code in sorted(common):
        (new_quantity, new_settings), (old_quantity, old_settings) = new_lines[code], old_lines[code]
        parts.append(EQUAL if new_quantity == old_quantity else CONFLICT)
        parts.append(agree("settings", new_settings or None, old_settings or None) if new_settings or old_settings
                     else EQUAL)
    return combine(parts)
