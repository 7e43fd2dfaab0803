"""Beaker: accession numbers — ``L25-000123``, the year (clinic-local) and a counter of that year.

The counter is a ``Basic`` resource per year (identifier ``urn:osler:lab:accession-counter|2025``)
holding the last number given. Claiming a number is a PUT of the counter with ``ifMatch`` on the
version read, in the same transaction that creates the Specimen: of two concurrent collections that
read the same counter, the Chronicle lets exactly one write (on SQLite and PostgreSQL alike) and the
other gets ``VersionConflict``, re-reads and tries the next number. A failed collection claims no
number, so numbers have no gaps and never repeat. The counter itself is created once per year by a
conditional create on its identifier (serialized by the store, so two first collections of a year
cannot create two counters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from osler.apps.clinic import Clinic
from osler.apps.lab.vocabulary import ACCESSION, ACCESSION_COUNTER, BEAKER, COUNTER_VALUE_EXT, put_entry
from osler.chronicle.records import Actor, Stored

DIGITS = 6


@dataclass(frozen=True)
class Claim:
    """The next accession number and the transaction entry that takes it."""

    accession: str
    entry: dict[str, Any]

    def identifier(self) -> dict[str, str]:
        return {"system": ACCESSION, "value": self.accession}


def accession_number(year: int, number: int) -> str:
    return f"L{year % 100:02d}-{number:0{DIGITS}d}"


def claim_next(clinic: Clinic, *, actor: Actor) -> Claim:
    """The number after the year's counter as it is now; the claim fails at commit if someone took it."""
    year = clinic.today().year
    counter = _counter(clinic, year, actor)
    last = next((e["valueInteger"] for e in counter.resource.get("extension") or []
                 if e.get("url") == COUNTER_VALUE_EXT), 0)
    claimed = {**counter.resource, "extension": [{"url": COUNTER_VALUE_EXT, "valueInteger": last + 1}]}
    return Claim(accession_number(year, last + 1), put_entry("Basic", counter.res_id, claimed, counter.etag))


def _counter(clinic: Clinic, year: int, actor: Actor) -> Stored:
    criteria = f"{ACCESSION_COUNTER}|{year}"
    found = clinic.chronicle.search("Basic", [("identifier", criteria)], actor=actor).matches
    if found:
        return found[0]
    counter = {"resourceType": "Basic", "identifier": [{"system": ACCESSION_COUNTER, "value": str(year)}],
               "code": {"coding": [{"system": BEAKER, "code": "accession-counter",
                                    "display": "Lab accession number counter"}]},
               "extension": [{"url": COUNTER_VALUE_EXT, "valueInteger": 0}]}
    return clinic.chronicle.create(counter, actor=actor, if_none_exist=f"identifier={criteria}").stored
