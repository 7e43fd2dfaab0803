"""Prelude: how alike two patients are — a score in 0..1 and a FHIR match grade — with no I/O.

Each field present on both records gets a similarity in 0..1 (rapidfuzz for the strings):

=============  ======  =====================================================================
field          weight  similarity
=============  ======  =====================================================================
family         0.22    1 equal · 0.9 one typo (incl. two letters swapped) or one part of a
given          0.18    compound name · 0.75 two typos in a long name · 0.9 nicknames
                       (Bill/William) · 0.6 an initial · 0.85 times for a middle name used as first
birth_date     0.25    1 equal · 0.8 day and month transposed · 0.7 one digit off or swapped
sex            0.05    1 equal · 0 different (other/unknown are not compared)
phone          0.10    1 a number in common · 0
address        0.08    0.4 same ZIP + 0.6 street-line likeness (token sort ratio)
ssn_last_four  0.12    1 equal · 0
=============  ======  =====================================================================

Given and family names are also tried transposed (Smith John for John Smith) at 0.9 times their score.
The score is the weighted mean over the fields both records have. Phones and addresses change, so a
mismatch there costs only 30 % of its weight, while a match counts fully. When the fields compared
weigh less than ``EVIDENCE_FLOOR`` (a name alone), the score is scaled down: a name is not a person.

Grades (``Thresholds``), used by registration and by ``Patient/$match``:

* **certain** — score ≥ 0.95 *and* corroborated: the birth date is exact and either both names are
  exact or a phone, the SSN's last four or the address agrees (and no SSN disagrees). Registration
  returns the existing patient instead of creating one.
* **probable** — score ≥ 0.80: registration creates the patient *and* a possible-duplicate work item
  for staff. E.g. same name and birth date but a new phone and address, or Bill for William with
  nothing else to confirm, or day and month transposed.
* **possible** — score ≥ 0.60: shown by ``$match``, not worth a work item (a twin, a namesake).
* **certainly-not** — below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler

from osler.apps.registration.codes import SSN_LAST4_SYSTEM, US_SSN_SYSTEM
from osler.apps.registration.nicknames import are_nicknames
from osler.fhir.index_values import normalize

WEIGHTS = {"family": 0.22, "given": 0.18, "birth_date": 0.25, "sex": 0.05, "phone": 0.10, "address": 0.08,
           "ssn_last_four": 0.12}
MISMATCH_COST = {"phone": 0.3, "address": 0.3}  # share of the weight a disagreement costs; 1 when not listed
NAME_SWAP_FACTOR = 0.9
MIDDLE_AS_FIRST_FACTOR = 0.85
EVIDENCE_FLOOR = 0.6

_NOT_LETTERS = re.compile(r"[^a-z]+")
_STREET_WORDS = {"street": "st", "avenue": "ave", "road": "rd", "drive": "dr", "lane": "ln", "boulevard": "blvd",
                 "court": "ct", "place": "pl", "apartment": "apt", "suite": "ste", "north": "n", "south": "s",
                 "east": "e", "west": "w", "highway": "hwy", "circle": "cir", "terrace": "ter"}


@dataclass(frozen=True)
class Thresholds:
    """Score limits of the match grades; see the module docstring for what each one means."""

    same_person: float = 0.95
    review: float = 0.80
    possible: float = 0.60


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Name:
    family: str  # letters only: "obrien" for O'Brien
    family_parts: tuple[str, ...]  # "smith", "jones" for Smith-Jones
    given: tuple[str, ...]
    family_text: str = ""  # as the search index normalizes it (lower case, no accents): for prefix searches
    given_text: str = ""


@dataclass(frozen=True)
class Person:
    """What matching looks at, normalized (lower case, accents and punctuation removed)."""

    names: tuple[Name, ...]
    birth_date: date | None
    sex: str | None
    phones: frozenset[str]  # digits only, last ten
    addresses: tuple[tuple[str, str], ...]  # (ZIP5, street line)
    ssn_last_four: str | None


@dataclass(frozen=True)
class Comparison:
    score: float
    similarities: dict[str, float] = field(default_factory=dict)  # fields compared → similarity
    corroborated: bool = False

    def grade(self, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> str:
        if self.score >= thresholds.same_person and self.corroborated:
            return "certain"
        if self.score >= thresholds.review:
            return "probable"
        if self.score >= thresholds.possible:
            return "possible"
        return "certainly-not"


def _letters(text: str) -> str:
    return _NOT_LETTERS.sub("", normalize(text))


def _street(line: str) -> str:
    words = re.sub(r"[^a-z0-9 ]+", " ", normalize(line)).split()
    return " ".join(_STREET_WORDS.get(word, word) for word in words)


def _ssn_last_four(identifiers: list[dict[str, Any]]) -> str | None:
    for identifier in identifiers:
        digits = re.sub(r"\D", "", str(identifier.get("value", "")))
        if identifier.get("system") in (SSN_LAST4_SYSTEM, US_SSN_SYSTEM) and len(digits) >= 4:
            return digits[-4:]
    return None


def person_of(patient: dict[str, Any]) -> Person:
    """The matching view of a FHIR Patient (JSON)."""
    names = []
    for name in patient.get("name") or []:
        family = name.get("family") or ""
        given = tuple(g for g in (_letters(part) for part in name.get("given") or []) if g)
        parts = tuple(p for p in (_letters(part) for part in re.split(r"[\s\-]+", family)) if p)
        if family or given:
            first_given = (name.get("given") or [""])[0]
            names.append(Name(_letters(family), parts, given, normalize(family), normalize(first_given)))
    try:
        birth_date = date.fromisoformat(patient["birthDate"]) if len(patient.get("birthDate", "")) == 10 else None
    except ValueError:
        birth_date = None
    phones = frozenset(digits[-10:] for t in patient.get("telecom") or [] if t.get("system") in ("phone", "sms")
                       and len(digits := re.sub(r"\D", "", str(t.get("value", "")))) >= 10)
    addresses = tuple((str(a.get("postalCode", ""))[:5], _street(" ".join(a.get("line") or [])))
                      for a in patient.get("address") or [] if a.get("line") or a.get("postalCode"))
    sex = patient.get("gender") if patient.get("gender") in ("male", "female") else None
    return Person(tuple(names), birth_date, sex, phones, addresses, _ssn_last_four(patient.get("identifier") or []))


def string_similarity(first: str, second: str) -> float:
    """Typo-tolerant likeness of two normalized names: only close strings earn anything."""
    if not first or not second:
        return 0.0
    if first == second:
        return 1.0
    edits = OSA.distance(first, second)  # a swap of two neighbouring letters is one edit
    longest = max(len(first), len(second))
    if edits == 1:
        return 0.9 if longest >= 4 else 0.7
    if edits == 2 and longest >= 7:
        return 0.75
    return max(0.0, (JaroWinkler.normalized_similarity(first, second) - 0.85) / 0.15) * 0.7


def family_similarity(first: Name, second: Name) -> float:
    score = string_similarity(first.family, second.family)
    if score < 0.9 and set(first.family_parts) & set(second.family_parts):
        score = 0.9  # Smith vs Smith-Jones
    return score


def _given_pair(first: str, second: str) -> float:
    if first == second:
        return 1.0
    if are_nicknames(first, second):
        return 0.9
    if len(first) == 1 or len(second) == 1:
        return 0.6 if first[0] == second[0] else 0.0
    return string_similarity(first, second)


def given_similarity(first: tuple[str, ...], second: tuple[str, ...]) -> float:
    if not first or not second:
        return 0.0
    best = _given_pair(first[0], second[0])
    for one in first:
        for other in second:
            if (one, other) != (first[0], second[0]):
                best = max(best, MIDDLE_AS_FIRST_FACTOR * _given_pair(one, other))
    return best


def birth_date_similarity(first: date, second: date) -> float:
    if first == second:
        return 1.0
    if (first.year, first.month, first.day) == (second.year, second.day, second.month):
        return 0.8  # 03/04 for 04/03: US and European order
    if OSA.distance(first.strftime("%Y%m%d"), second.strftime("%Y%m%d")) == 1:
        return 0.7
    return 0.0


def address_similarity(first: tuple[tuple[str, str], ...], second: tuple[tuple[str, str], ...]) -> float:
    best = 0.0
    for zip_a, line_a in first:
        for zip_b, line_b in second:
            line = fuzz.token_sort_ratio(line_a, line_b) / 100 if line_a and line_b else 0.0
            best = max(best, 0.4 * (bool(zip_a) and zip_a == zip_b) + 0.6 * (line if line >= 0.6 else 0.0))
    return best


def _names(first: Person, second: Person) -> tuple[float, float, bool]:
    """Best (family, given, transposed?) over every pair of names, straight or transposed."""
    best = (0.0, 0.0, False)
    for one in first.names:
        for other in second.names:
            options = [(family_similarity(one, other), given_similarity(one.given, other.given), False)]
            if one.given and other.given:
                swapped_other = Name(other.given[0], (other.given[0],), (other.family,))
                options.append((NAME_SWAP_FACTOR * family_similarity(Name(one.family, one.family_parts, ()),
                                                                       swapped_other),
                                NAME_SWAP_FACTOR * _given_pair(one.given[0], other.family) if other.family else 0.0,
                                True))
            for option in options:
                if WEIGHTS["family"] * option[0] + WEIGHTS["given"] * option[1] > \
                        WEIGHTS["family"] * best[0] + WEIGHTS["given"] * best[1]:
                    best = option
    return best


def compare(first: Person, second: Person) -> Comparison:
    """Score how likely two records name the same person (symmetric)."""
    similarities: dict[str, float] = {}
    transposed = False
    if first.names and second.names:
        similarities["family"], similarities["given"], transposed = _names(first, second)
    if first.birth_date and second.birth_date:
        similarities["birth_date"] = birth_date_similarity(first.birth_date, second.birth_date)
    if first.sex and second.sex:
        similarities["sex"] = float(first.sex == second.sex)
    if first.phones and second.phones:
        similarities["phone"] = float(bool(first.phones & second.phones))
    if first.addresses and second.addresses:
        similarities["address"] = address_similarity(first.addresses, second.addresses)
    if first.ssn_last_four and second.ssn_last_four:
        similarities["ssn_last_four"] = float(first.ssn_last_four == second.ssn_last_four)
    if not similarities.keys() & {"family", "given", "birth_date"}:
        return Comparison(0.0, similarities)
    earned = sum(WEIGHTS[name] * value for name, value in similarities.items())
    at_stake = sum(WEIGHTS[name] * (value + (1 - value) * MISMATCH_COST.get(name, 1.0))
                   for name, value in similarities.items())
    score = earned / at_stake if at_stake else 0.0
    evidence = sum(WEIGHTS[name] for name in similarities)
    if evidence < EVIDENCE_FLOOR:
        score *= evidence / EVIDENCE_FLOOR
    names_exact = similarities.get("family") == 1.0 and similarities.get("given") == 1.0
    confirmed = (similarities.get("phone") == 1.0 or similarities.get("ssn_last_four") == 1.0
                 or similarities.get("address", 0.0) >= 0.9)
    corroborated = (similarities.get("birth_date") == 1.0 and not transposed and (names_exact or confirmed)
                    and similarities.get("ssn_last_four") != 0.0)
    return Comparison(round(score, 4), similarities, corroborated)
