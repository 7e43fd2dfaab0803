"""Beaker: the test catalog (``catalog.json``) — what can be ordered, on which specimen, and how each
result component is measured, ranged and flagged. Read once per process.

Names of tests and components come from the terminology tables (``lab_loinc.json``), so a LOINC code
has one display everywhere; the catalog adds what the lab needs: units, ranges, critical limits,
answers, and whether the test is sensitive (held before the patient sees it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any

from osler.apps import terminology
from osler.apps.lab.vocabulary import SPECIMEN_TYPE, SPECIMEN_TYPES, UnknownTest


@dataclass(frozen=True)
class Limits:
    """A range in the component's canonical unit; either bound may be open."""

    low: float | None = None
    high: float | None = None

    @classmethod
    def of(cls, data: dict[str, float] | None) -> Limits | None:
        return None if data is None else cls(data.get("low"), data.get("high"))


@dataclass(frozen=True)
class Component:
    """One result a test reports: numeric (``units``, ``range``) or qualitative (``answers``)."""

    code: str
    name: str
    units: dict[str, float]  # accepted UCUM code → factor to the canonical (first) unit
    range: Limits | None
    by_sex: dict[str, Limits]
    critical: Limits | None
    answers: tuple[str, ...]
    normal_answers: frozenset[str]

    @property
    def numeric(self) -> bool:
        return bool(self.units)

    def reference_range(self, gender: str | None) -> Limits | None:
        """The adult range that applies to a patient of ``gender`` (the catalog's default when unknown)."""
        return self.by_sex.get(gender or "", self.range)

    @property
    def sex_specific(self) -> bool:
        return bool(self.by_sex)

    def coding(self) -> dict[str, Any]:
        return terminology.coding(terminology.LOINC, self.code)


@dataclass(frozen=True)
class LabTest:
    code: str
    name: str
    specimen: str  # HL7 v2-0487
    container: str
    components: dict[str, Component]
    sensitive: bool
    hold: timedelta  # how long a sensitive result waits before the patient sees it

    def coding(self) -> dict[str, Any]:
        return terminology.coding(terminology.LOINC, self.code)

    @property
    def display(self) -> str:
        return terminology.require(terminology.LOINC, self.code).display or self.name

    def specimen_type(self) -> dict[str, Any]:
        return {"coding": [{"system": SPECIMEN_TYPE, "code": self.specimen, "display": SPECIMEN_TYPES[self.specimen]}]}

    @property
    def sex_specific(self) -> bool:
        return any(c.sex_specific for c in self.components.values())


def _component(code: str, data: dict[str, Any]) -> Component:
    terminology.require(terminology.LOINC, code, what="lab catalog component")
    for unit in data.get("units", {}):
        terminology.require(terminology.UCUM, unit, what=f"unit of component {code}")
    return Component(
        code=code, name=data["name"], units=dict(data.get("units", {})), range=Limits.of(data.get("range")),
        by_sex={sex: Limits(**limits) for sex, limits in data.get("by_sex", {}).items()},
        critical=Limits.of(data.get("critical")), answers=tuple(data.get("answers", ())),
        normal_answers=frozenset(data.get("normal", ())))


@cache
def catalog() -> dict[str, LabTest]:
    """Every orderable test by its LOINC order code."""
    document = json.loads((resources.files(__package__) / "catalog.json").read_text(encoding="utf-8"))
    components = {code: _component(code, data) for code, data in document["components"].items()}
    default_hold = document["default_hold_hours"]
    tests: dict[str, LabTest] = {}
    for item in document["tests"]:
        terminology.require(terminology.LOINC, item["code"], what="lab catalog test")
        sensitive = bool(item.get("sensitive", False))
        tests[item["code"]] = LabTest(
            code=item["code"], name=item["name"], specimen=item["specimen"], container=item["container"],
            components={code: components[code] for code in item["components"]}, sensitive=sensitive,
            hold=timedelta(hours=item.get("hold_hours", default_hold) if sensitive else 0))
    return tests


def lab_test(code: str | None) -> LabTest:
    """The catalog test for an order code; ``UnknownTest`` (422) when the lab does not perform it."""
    found = catalog().get(code or "")
    if found is None:
        raise UnknownTest(f"the lab does not perform {code!r}: orderable tests are {', '.join(sorted(catalog()))}")
    return found
