"""Patient and order identity as the deduper and the matcher compare it: names (typos, "Last, First" vs
"First Last", OCR's "rn" read as "m"), birth dates (exact or day/month transposed), identifiers (MBI, MRN,
NPI) written with or without separators or read by OCR with a letter for a digit, and order items. Pure
functions over the field values of ``osler.dme.model``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from osler.dme.understand.labels import ocr_shape
from osler.dme.understand.normalize import fold_digits

NAME_SAME = 92.0  # rapidfuzz ratio at or above which two written names are one name
NAME_TYPO = 85.0  # …a typo of one name; below this two names belong to two people


def _letters(text: str) -> str:
    """Lower-case ASCII letters and single spaces: accents, hyphens and apostrophes dropped."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.findall(r"[a-z]+", plain.lower()))


def name_similarity(first: dict[str, str] | None, second: dict[str, str] | None) -> float | None:
    """0..100, the better of the names as written and with given/family swapped (a "Last, First" read as
    "First Last"); ``None`` when either name is unknown."""
    if not first or not second:
        return None
    given_a, family_a = _letters(first.get("given", "")), _letters(first.get("family", ""))
    given_b, family_b = _letters(second.get("given", "")), _letters(second.get("family", ""))
    if not (given_a or family_a) or not (given_b or family_b):
        return None
    straight = fuzz.ratio(f"{family_a} {given_a}", f"{family_b} {given_b}")
    swapped = fuzz.ratio(f"{family_a} {given_a}", f"{given_b} {family_b}")
    # A middle name or initial on one side only ("Ann M" vs "Ann") must not read as a different person.
    first_given_a, first_given_b = given_a.split()[:1], given_b.split()[:1]
    initial_dropped = 100.0 if family_a == family_b and first_given_a == first_given_b and first_given_a else 0.0
    # Nor must OCR's usual confusions ("Emest" read for "Ernest": rn as m, cl as d)
    read_alike = 100.0 if ocr_shape(f"{family_a} {given_a}") in (ocr_shape(f"{family_b} {given_b}"),
                                                                 ocr_shape(f"{given_b} {family_b}")) else 0.0
    # Letters OCR reads for one another ("Licyd" for "Lloyd") make a name misread, never a name matched: at
    # most a typo's similarity, which counts only when another identifier vouches for the patient
    best = max(straight, swapped, initial_dropped, read_alike)
    if best >= NAME_LOOK_ALIKE_CAP:
        return best
    glyphs = max(_look_alike_similarity(f"{family_a} {given_a}", f"{family_b} {given_b}"),
                 _look_alike_similarity(f"{family_a} {given_a}", f"{given_b} {family_b}"))
    return max(best, min(glyphs, NAME_LOOK_ALIKE_CAP))


# Glyphs OCR takes for one another in print; swapping two of one group costs ``LOOK_ALIKE_COST`` of an edit
_LOOK_ALIKE_GROUPS = ("il1|!tfj", "oce0a", "uv", "hbk", "nmh", "gq9", "s5", "z2", "b8")
LOOK_ALIKE_COST = 0.4
NAME_LOOK_ALIKE_CAP = NAME_SAME - 1.0


def _look_alike(first: str, second: str) -> bool:
    return any(first in group and second in group for group in _LOOK_ALIKE_GROUPS)


def _look_alike_similarity(first: str, second: str) -> float:
    """0..100: one minus the edit distance (look-alike substitutions cheap) over the longer length; 0 for two
    strings too unlike for it to reach a typo's similarity (checked first with the plain distance, which is
    fast, so that comparing a name with many others' stays cheap)."""
    if not first or not second:
        return 0.0
    longest = max(len(first), len(second))
    if Levenshtein.distance(first, second) * LOOK_ALIKE_COST > (1 - NAME_TYPO / 100) * longest:
        return 0.0
    previous = [float(j) for j in range(len(second) + 1)]
    for i, a in enumerate(first, 1):
        current = [float(i)]
        for j, b in enumerate(second, 1):
            swap = 0.0 if a == b else LOOK_ALIKE_COST if _look_alike(a, b) else 1.0
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + swap))
        previous = current
    return 100.0 * (1 - previous[-1] / longest)


def identifier(value: Any) -> str | None:
    """An MBI, MRN or NPI as compared: upper-case letters and digits only."""
    if value is None:
        return None
    cleaned = re.sub(r"[^0-9A-Za-z]", "", str(value)).upper()
    return cleaned or None


def folded_identifier(value: Any) -> str | None:
    """An identifier with OCR's look-alike letters read as digits: ``7TD5QT0MP85`` and ``7TDSOTOMP85`` fold
    alike. For comparing and indexing only, never for showing."""
    found = identifier(value)
    return fold_digits(found) if found else None


def identifiers_agree(first: Any, second: Any) -> bool | None:
    """``True``: one identifier, look-alike glyphs aside; ``False``: two identifiers; ``None``: one is unknown,
    or they are one character apart — an OCR slip as likely as another person, so evidence neither way."""
    first_folded, second_folded = folded_identifier(first), folded_identifier(second)
    if not first_folded or not second_folded:
        return None
    if first_folded == second_folded:
        return True
    return None if Levenshtein.distance(first_folded, second_folded) <= 1 else False


def birth_dates_agree(first: Any, second: Any) -> bool | None:
    """As ``identifiers_agree``, for birth dates: one misread digit or day and month swapped is no evidence
    either way."""
    first_date, second_date = parse_date(first), parse_date(second)
    if first_date is None or second_date is None:
        return None
    if first_date == second_date:
        return True
    return None if one_digit_apart(first_date, second_date) or dates_transposed(first_date, second_date) else False


def parse_date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def one_digit_apart(first: date, second: date) -> bool:
    """Two dates written alike but for one digit (1947-06-27 and 1947-06-21): OCR's misreading of one glyph."""
    return Levenshtein.distance(first.isoformat(), second.isoformat()) == 1


def dates_transposed(first: date, second: date) -> bool:
    """The same date with day and month swapped (03/04 written for 04/03)."""
    return first != second and first.year == second.year and (first.month, first.day) == (second.day, second.month)


def items_key(items: Any) -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] | None:
    """Order items in a comparable form: (HCPCS, quantity, settings) sorted; ``None`` when unknown."""
    if not items:
        return None
    key = []
    for item in items:
        settings = tuple(sorted((str(k), _plain(v)) for k, v in (item.get("settings") or {}).items()))
        key.append((str(item.get("hcpcs", "")).upper(), _plain(item.get("quantity") or 1), settings))
    return tuple(sorted(key))


def _plain(value: Any) -> str:
    """A setting or quantity as text, 10, 10.0 and "10" alike."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value).strip().lower()
    return f"{number:g}"


def hcpcs_codes(items: Any) -> set[str]:
    return {str(item.get("hcpcs", "")).upper() for item in items or () if item.get("hcpcs")}
