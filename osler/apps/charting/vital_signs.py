"""EpicCare Ambulatory (charting): what each vital sign is — its LOINC code, FHIR vital-signs profile, the
UCUM units that fit it, and the range a living patient's value can fall in (pure, no I/O).

A value is checked in the vital's canonical unit after conversion (98.6 [degF] is 37 Cel), so the
range is written once per vital. The ranges are what is physiologically possible, not normal: they
catch a slipped decimal or a swapped field (a weight typed into the heart rate), not a sick patient.
"""

from __future__ import annotations

from dataclasses import dataclass

from osler.apps.charting.errors import ImplausibleValue, UnitMismatch
from osler.fhir.outcome import Issue

# unit → (factor, offset) into the canonical unit: canonical = value * factor + offset
Conversions = dict[str, tuple[float, float]]


@dataclass(frozen=True, eq=False)  # each vital is one object: compared and hashed by identity
class VitalSign:
    field: str  # its name in ``VitalsRequest``
    label: str
    loinc: tuple[str, ...]  # the profile's required code first
    profile: str  # the FHIR vital-signs profile's id, e.g. ``heartrate``
    units: Conversions  # the first one is canonical and the default
    low: float
    high: float

    @property
    def canonical(self) -> str:
        return next(iter(self.units))

    def unit_of(self, unit: str | None) -> str:
        """The UCUM code to store: ``unit`` if it fits this vital, its default if none; else ``UnitMismatch``."""
        chosen = unit or self.canonical
        if chosen not in self.units:
            message = (f"{self.label} in {chosen!r}: the unit does not fit; {self.label} takes "
                       f"{', '.join(self.units)}; nothing was written")
            raise UnitMismatch(message, issues=[Issue("code-invalid", message, expression=[f"{self.field}.unit"])])
        return chosen

    def in_canonical(self, value: float, unit: str) -> float:
        factor, offset = self.units[unit]
        return value * factor + offset

    def check(self, value: float, unit: str) -> float:
        """The value in the canonical unit, if plausible; else ``ImplausibleValue`` naming the range."""
        canonical = self.in_canonical(value, unit)
        if not self.low <= canonical <= self.high:
            shown = f"{value:g} {unit}" + (f" ({canonical:.1f} {self.canonical})" if unit != self.canonical else "")
            implausible(self.field, f"{self.label} {shown} is not plausible: it must be between {self.low:g} and "
                                    f"{self.high:g} {self.canonical}")
        return canonical


def implausible(field: str, reason: str) -> None:
    message = f"{reason}; nothing was written"
    raise ImplausibleValue(message, issues=[Issue("business-rule", message, expression=[field])])


PER_MINUTE: Conversions = {"/min": (1.0, 0.0)}
MM_HG: Conversions = {"mm[Hg]": (1.0, 0.0)}

HEART_RATE = VitalSign("heart_rate", "heart rate", ("8867-4",), "heartrate", PER_MINUTE, 20, 300)
RESPIRATORY_RATE = VitalSign("respiratory_rate", "respiratory rate", ("9279-1",), "resprate", PER_MINUTE, 4, 80)
TEMPERATURE = VitalSign("temperature", "body temperature", ("8310-5",), "bodytemp",
                        {"Cel": (1.0, 0.0), "[degF]": (5 / 9, -160 / 9)}, 25, 45)
SPO2 = VitalSign("spo2", "oxygen saturation", ("2708-6", "59408-5"), "oxygensat", {"%": (1.0, 0.0)}, 50, 100)
HEIGHT = VitalSign("height", "body height", ("8302-2",), "bodyheight",
                   {"cm": (1.0, 0.0), "m": (100.0, 0.0), "[in_i]": (2.54, 0.0)}, 20, 272)
WEIGHT = VitalSign("weight", "body weight", ("29463-7",), "bodyweight",
                   {"kg": (1.0, 0.0), "g": (0.001, 0.0), "[lb_av]": (0.45359237, 0.0)}, 0.2, 650)
BMI = VitalSign("bmi", "body mass index", ("39156-5",), "bmi", {"kg/m2": (1.0, 0.0)}, 5, 150)
SYSTOLIC = VitalSign("blood_pressure.systolic", "systolic blood pressure", ("8480-6",), "bp", MM_HG, 40, 300)
DIASTOLIC = VitalSign("blood_pressure.diastolic", "diastolic blood pressure", ("8462-4",), "bp", MM_HG, 10, 200)
BLOOD_PRESSURE_PANEL = "85354-9"

# The single-valued vitals, in the order a flowsheet shows them.
SINGLE = (HEART_RATE, RESPIRATORY_RATE, TEMPERATURE, SPO2, HEIGHT, WEIGHT, BMI)


def body_mass_index(height_cm: float, weight_kg: float) -> float:
    return round(weight_kg / (height_cm / 100) ** 2, 1)
