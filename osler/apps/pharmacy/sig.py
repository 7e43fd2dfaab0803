"""Willow: reading a prescription's sig (``MedicationRequest.dosageInstruction``) into the largest
single dose and the largest daily dose it allows, in the unit of the drug's screening limits.

A dose in mg is compared with limits in mg; a dose in tablets, capsules or puffs is turned into mg
through the drug's strength (and back, for the few drugs whose limits count dose units). The daily
dose is the dose times how often the timing allows it (``repeat.frequency`` per ``period``, or a
``timing.code`` such as BID), capped by ``maxDosePerPeriod`` when the prescriber gave one — which is
how an as-needed sig ("may repeat after 2 hours, no more than 200 mg a day") is read. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from osler.apps.pharmacy.formulary import Drug

MG_PER = {"mg": 1.0, "g": 1000.0, "ug": 0.001, "mcg": 0.001}
DOSE_FORM_UNITS = {"{tbl}", "{tablet}", "{tablets}", "tablet", "tablets", "tab", "{tab}", "{cap}", "{capsule}",
                   "capsule", "capsules", "cap", "{puff}", "puff", "puffs", "{actuat}", "actuat", "{actuation}",
                   "{inhalation}", "1"}
DAYS_PER = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0, "a": 365.0}
TIMES_PER_DAY = {"QD": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "QOD": 0.5, "Q4H": 6.0, "Q6H": 4.0, "Q8H": 3.0,
                 "AM": 1.0, "PM": 1.0, "WK": 1 / 7}
TIMING_CODE = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"


class UnfitUnit(ValueError):
    """The sig's dose is in a unit that cannot be compared with the drug's limits (e.g. mL of a tablet)."""


@dataclass(frozen=True)
class Doses:
    single: float | None  # the largest single dose, in the drug's ``max_unit``; None: no dose given
    daily: float | None  # None: the sig does not say how often


def doses(dosage_instructions: list[dict[str, Any]], drug: Drug) -> Doses:
    """The largest single and daily dose of the sig; ``UnfitUnit`` when a dose's unit does not fit."""
    singles: list[float] = []
    dailies: list[float] = []
    daily_known = True
    for dosage in dosage_instructions:
        single = _dose(dosage, drug)
        if single is None:
            continue
        singles.append(single)
        daily = _daily(dosage, single, drug)
        if daily is None:
            daily_known = False
        else:
            dailies.append(daily)
    if not singles:
        return Doses(None, None)
    return Doses(max(singles), sum(dailies) if daily_known else None)


def amount(quantity: dict[str, Any], drug: Drug) -> float:
    """A Quantity of the drug in its ``max_unit``."""
    value = quantity.get("value")
    unit = str(quantity.get("code") or quantity.get("unit") or "").strip().lower()
    if not isinstance(value, int | float):
        raise UnfitUnit("the dose has no number")
    if unit in MG_PER:
        if drug.max_unit == "mg":
            return value * MG_PER[unit]
        if drug.strength_mg:
            return value * MG_PER[unit] / drug.strength_mg
    elif unit in DOSE_FORM_UNITS:
        if drug.max_unit != "mg":
            return float(value)
        if drug.strength_mg:
            return value * drug.strength_mg
    shown = quantity.get("unit") or quantity.get("code") or "no unit"
    raise UnfitUnit(f"a dose in {shown!r} cannot be compared with the limits of {drug.display} "
                    f"(in {drug.max_unit})")


def _dose(dosage: dict[str, Any], drug: Drug) -> float | None:
    for dose_and_rate in dosage.get("doseAndRate") or []:
        quantity = dose_and_rate.get("doseQuantity") or (dose_and_rate.get("doseRange") or {}).get("high")
        if quantity:
            return amount(quantity, drug)
    return None


def _daily(dosage: dict[str, Any], single: float, drug: Drug) -> float | None:
    times = _times_per_day(dosage.get("timing") or {})
    by_timing = single * times if times is not None else None
    cap = _max_per_day(dosage.get("maxDosePerPeriod"), drug)
    known = [value for value in (by_timing, cap) if value is not None]
    return min(known) if known else None


def _times_per_day(timing: dict[str, Any]) -> float | None:
    repeat = timing.get("repeat") or {}
    period, unit = repeat.get("period"), repeat.get("periodUnit")
    if period and unit in DAYS_PER:
        frequency = repeat.get("frequencyMax") or repeat.get("frequency") or 1
        # the shortest interval the prescriber allows (periodMax is the longer end of a range)
        return frequency / (period * DAYS_PER[unit])
    if repeat.get("timeOfDay"):
        return float(len(repeat["timeOfDay"]))
    for coding in (timing.get("code") or {}).get("coding") or []:
        if coding.get("system") == TIMING_CODE and coding.get("code") in TIMES_PER_DAY:
            return TIMES_PER_DAY[coding["code"]]
    return None


def _max_per_day(ratio: dict[str, Any] | None, drug: Drug) -> float | None:
    if not ratio:
        return None
    numerator, denominator = ratio.get("numerator") or {}, ratio.get("denominator") or {}
    unit = denominator.get("code") or denominator.get("unit")
    if unit not in DAYS_PER or not denominator.get("value"):
        return None
    days = denominator["value"] * DAYS_PER[unit]
    # "200 mg per 24 h" caps a day; "100 mg per 4 h" allows six such periods in a day
    return amount(numerator, drug) / days if days <= 1 else amount(numerator, drug)
