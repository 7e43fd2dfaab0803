"""Beaker: checking a reported value against its test, and flagging it against the reference range.

Pure: no reads or writes. A value is checked (the component belongs to the test, the unit is one the
lab accepts, a number where the component is numeric, a listed answer where it is qualitative),
converted to the component's canonical unit to compare it with the catalog's limits, and flagged
with the HL7 v3 ObservationInterpretation codes N, L, H, LL, HH (beyond a critical limit) or A (an
abnormal qualitative answer). The Observation shows the range in the unit the value was reported in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from osler.apps.lab.catalog import Component, LabTest, Limits
from osler.apps.lab.requests import ResultValue
from osler.apps.lab.vocabulary import CRITICAL, INTERPRETATION, INTERPRETATIONS, InvalidResult
from osler.apps.terminology import UCUM


@dataclass(frozen=True)
class Measurement:
    component: Component
    value: float | str
    unit: str | None
    flag: str  # N, L, H, LL, HH or A
    normal: Limits | None  # in the reported unit

    @property
    def critical(self) -> bool:
        return self.flag in CRITICAL

    @property
    def abnormal(self) -> bool:
        return self.flag != "N"

    def value_element(self) -> dict[str, Any]:
        if isinstance(self.value, str):
            return {"valueString": self.value}
        return {"valueQuantity": quantity(self.value, self.unit)}

    def interpretation(self) -> list[dict[str, Any]]:
        return [{"coding": [{"system": INTERPRETATION, "code": self.flag, "display": INTERPRETATIONS[self.flag]}]}]

    def reference_range(self) -> list[dict[str, Any]]:
        if not self.component.numeric:
            return [{"text": ", ".join(sorted(self.component.normal_answers))}]
        if self.normal is None:
            return []
        bounds: dict[str, Any] = {}
        if self.normal.low is not None:
            bounds["low"] = quantity(self.normal.low, self.unit)
        if self.normal.high is not None:
            bounds["high"] = quantity(self.normal.high, self.unit)
        return [{**bounds, "text": range_text(self.normal, self.unit)}]

    def summary(self) -> str:
        """``Hemoglobin 6.5 g/dL (LL)``: how the result reads in a message."""
        shown = self.value if isinstance(self.value, str) else f"{number(self.value)} {self.unit}"
        return f"{self.component.name} {shown}" + (f" ({self.flag})" if self.abnormal else "")


def quantity(value: float, unit: str | None) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def number(value: float) -> str:
    return f"{value:g}"


def range_text(limits: Limits, unit: str | None) -> str:
    if limits.low is not None and limits.high is not None:
        return f"{number(limits.low)}-{number(limits.high)} {unit}"
    if limits.low is not None:
        return f">={number(limits.low)} {unit}"
    return f"<={number(limits.high or 0)} {unit}"


def flag(value: float, normal: Limits | None, critical: Limits | None) -> str:
    """The interpretation of a value in canonical units: strictly beyond a limit counts."""
    if critical is not None:
        if critical.low is not None and value < critical.low:
            return "LL"
        if critical.high is not None and value > critical.high:
            return "HH"
    if normal is not None:
        if normal.low is not None and value < normal.low:
            return "L"
        if normal.high is not None and value > normal.high:
            return "H"
    return "N"


def measure_all(test: LabTest, values: Sequence[ResultValue], gender: str | None,
                field: str = "results") -> list[Measurement]:
    """Every value checked and flagged, in the order given; ``InvalidResult`` (422) at the first that
    does not fit, naming its path (``results[2].unit``)."""
    seen: set[str] = set()
    measured = []
    for index, item in enumerate(values):
        where = f"{field}[{index}]"
        if item.code in seen:
            raise InvalidResult(f"{where}: component {item.code} is given twice", where=f"{where}.code")
        seen.add(item.code)
        measured.append(measure(test, item, gender, where))
    return measured


def measure(test: LabTest, item: ResultValue, gender: str | None, where: str) -> Measurement:
    component = test.components.get(item.code)
    if component is None:
        raise InvalidResult(f"{where}: {item.code} is not a component of {test.name} ({test.code}); its components "
                            f"are {', '.join(test.components)}", where=f"{where}.code")
    if not component.numeric:
        return _qualitative(component, item, where)
    if item.unit not in component.units:
        accepted = ", ".join(component.units)
        given = "no unit" if item.unit is None else f"unit {item.unit!r}"
        raise InvalidResult(f"{where}: {given} does not fit {component.name} ({component.code}); accepted units: "
                            f"{accepted}", where=f"{where}.unit")
    value = _number(item.value)
    if value is None:
        raise InvalidResult(f"{where}: {component.name} ({component.code}) is numeric; {item.value!r} is not a number",
                            where=f"{where}.value")
    factor = component.units[item.unit]
    normal = component.reference_range(gender)
    return Measurement(component, value, item.unit, flag(value * factor, normal, component.critical),
                       _in_unit(normal, factor))


def _qualitative(component: Component, item: ResultValue, where: str) -> Measurement:
    if item.unit is not None:
        raise InvalidResult(f"{where}: {component.name} ({component.code}) is qualitative and takes no unit",
                            where=f"{where}.unit")
    answer = next((a for a in component.answers if isinstance(item.value, str)
                   and a.lower() == item.value.strip().lower()), None)
    if answer is None:
        raise InvalidResult(f"{where}: {item.value!r} is not an answer for {component.name} ({component.code}); "
                            f"answers: {', '.join(component.answers)}", where=f"{where}.value")
    return Measurement(component, answer, None, "N" if answer in component.normal_answers else "A", None)


def _number(value: float | int | str) -> float | None:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    value = float(value)
    return value if math.isfinite(value) else None


def _in_unit(limits: Limits | None, factor: float) -> Limits | None:
    if limits is None or factor == 1:
        return limits

    def convert(bound: float | None) -> float | None:
        return None if bound is None else float(f"{bound / factor:.4g}")

    return Limits(convert(limits.low), convert(limits.high))
