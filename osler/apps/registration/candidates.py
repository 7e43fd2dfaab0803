"""Prelude: finding the patients worth scoring, cheaply, through the FHIR search index — and scoring them.

Scoring every patient is out of the question; a handful of indexed searches finds everyone a match
could plausibly be (each capped at ``MAX_PER_QUERY``):

* the same birth date, and the birth date with day and month transposed (catches any name typo);
* the first three letters of the family name within a year either side of the birth date (catches
  a mistyped birth date), and the same with the given name as family (transposed names);
* any of the phone numbers, in the ways people write them;
* the SSN's last four digits.

Without a birth date (``$match`` with a partial Patient), the name searches add the given name's
initial instead of the year window. Merged-away records (inactive, ``replaced-by``) are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from osler.apps.registration.codes import SSN_LAST4_SYSTEM
from osler.apps.registration.matching import DEFAULT_THRESHOLDS, Comparison, Person, Thresholds, compare, person_of
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.chronicle.store import Chronicle

MAX_PER_QUERY = 100
GRADE_ORDER = ("certain", "probable", "possible", "certainly-not")


@dataclass(frozen=True)
class PatientMatch:
    """One candidate: the stored Patient, how alike it is, and its match grade."""

    stored: Stored
    comparison: Comparison
    grade: str

    @property
    def patient_id(self) -> str:
        return self.stored.res_id

    @property
    def score(self) -> float:
        return self.comparison.score


def _phone_spellings(digits: str) -> list[str]:
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    return [f"{area}-{exchange}-{line}", f"({area}) {exchange}-{line}", f"({area}){exchange}-{line}", digits,
            f"+1{digits}", f"+1-{area}-{exchange}-{line}", f"1-{area}-{exchange}-{line}", f"{area}.{exchange}.{line}"]


def _escaped(text: str) -> str:
    """A search value with FHIR's separators escaped (a comma would otherwise mean OR)."""
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("$", "\\$").replace("|", "\\|")


def _transposed(day: date) -> date | None:
    if day.day > 12 or day.day == day.month:
        return None
    return date(day.year, day.day, day.month)


def candidate_queries(person: Person) -> list[list[tuple[str, str]]]:
    """The searches (FHIR query pairs on Patient) that find every plausible match of ``person``."""
    queries: list[list[tuple[str, str]]] = []
    born = person.birth_date
    if born:
        queries.append([("birthdate", born.isoformat())])
        if (swapped := _transposed(born)) is not None:
            queries.append([("birthdate", swapped.isoformat())])
    for name in person.names[:2]:
        for family, given in ((name.family_text, name.given_text), (name.given_text, name.family_text)):
            if len(family) < 2:
                continue
            narrow = ([("birthdate", f"ge{born.year - 1}-01-01"), ("birthdate", f"le{born.year + 1}-12-31")] if born
                      else [("given", _escaped(given[:1]))] if given else [])
            queries.append([("family", _escaped(family[:3])), *narrow])
    if person.phones:
        queries.append([("phone", ",".join(s for digits in sorted(person.phones) for s in _phone_spellings(digits)))])
    if person.ssn_last_four:
        queries.append([("identifier", f"{SSN_LAST4_SYSTEM}|{person.ssn_last_four}")])
    return queries


def _merged_away(patient: dict[str, Any]) -> bool:
    return patient.get("active") is False and any(link.get("type") == "replaced-by"
                                                  for link in patient.get("link") or [])


def find_candidates(chronicle: Chronicle, person: Person, *, actor: Actor = SYSTEM) -> list[Stored]:
    """Every live Patient one of ``candidate_queries`` finds, once each."""
    found: dict[str, Stored] = {}
    for query in candidate_queries(person):
        page = chronicle.search("Patient", [*query, ("_count", str(MAX_PER_QUERY)), ("_total", "none")], actor=actor)
        for stored in page.matches:
            if stored.res_id not in found and not _merged_away(stored.resource):
                found[stored.res_id] = stored
    return list(found.values())


def match_patients(chronicle: Chronicle, patient: dict[str, Any], *, actor: Actor = SYSTEM,
                   thresholds: Thresholds = DEFAULT_THRESHOLDS, minimum_grade: str = "possible",
                   count: int | None = None, exclude_id: str | None = None) -> list[PatientMatch]:
    """Stored patients like ``patient`` (FHIR JSON, possibly partial), best first, at ``minimum_grade`` or better."""
    person = person_of(patient)
    allowed = GRADE_ORDER[:GRADE_ORDER.index(minimum_grade) + 1]
    matches = []
    for stored in find_candidates(chronicle, person, actor=actor):
        if stored.res_id == exclude_id:
            continue
        comparison = compare(person, person_of(stored.resource))
        grade = comparison.grade(thresholds)
        if grade in allowed:
            matches.append(PatientMatch(stored, comparison, grade))
    matches.sort(key=lambda match: (-match.score, match.stored.res_id))
    return matches[:count] if count is not None else matches
