"""EpicCare Ambulatory (charting): what a prescription says — the MedicationRequest of an e-prescription.

The drug is an RxNorm clinical drug (SCD: ingredient, strength, dose form — e.g. 313420 sumatriptan
50 MG Oral Tablet), never an ingredient alone: the pharmacy's drug table is keyed by SCD. The
instructions are a FHIR Dosage — the sig as text, the timing (frequency per period), the route
(SNOMED CT), the dose (UCUM), as-needed — and the dispense request names the quantity, the refills,
the days' supply and the pharmacy Organization that will fill it. Dose-range and allergy checks are
the pharmacy's verification (Willow), not charting's.
"""

from __future__ import annotations

from typing import Any

from osler.apps import terminology
from osler.apps.charting import vocabulary as v
from osler.apps.charting.encounters import EncounterContext, read_known
from osler.apps.charting.requests import Prescription
from osler.apps.clinic import Clinic
from osler.chronicle.records import Actor

PERIOD_WORDS = {"h": "hour", "d": "day", "wk": "week"}
ORAL = "26643006"


def prescription(clinic: Clinic, context: EncounterContext, request: Prescription, actor: Actor) -> dict[str, Any]:
    drug = terminology.require(terminology.RXNORM, request.rxnorm, what="RxNorm code")
    if drug.properties.get("tty") != "SCD":
        raise terminology.UnknownCode(f"RxNorm {request.rxnorm} ({drug.display}) is not a clinical drug (SCD): "
                                      "prescribe a drug with its strength and dose form")
    route = v.known(terminology.SNOMED, request.route, what="route", use="route")
    dose = quantity(request.dose, request.dose_unit)
    supply = quantity(request.quantity, request.quantity_unit)
    pharmacy = read_known(clinic, "Organization", request.pharmacy, actor=actor)
    dosage = {"sequence": 1, "text": request.sig or sig(request, route),
              "timing": {"repeat": {"frequency": request.frequency, "period": request.period,
                                    "periodUnit": request.period_unit}},
              "asNeededBoolean": request.as_needed, "route": {"coding": [route.coding()]},
              "doseAndRate": [{"doseQuantity": dose}]}
    if request.max_doses_per_day is not None:
        cap = quantity(request.dose * request.max_doses_per_day, request.dose_unit)
        dosage["maxDosePerPeriod"] = {"numerator": cap, "denominator": quantity(1, "d")}
        if not request.sig:
            dosage["text"] += f"; no more than {request.max_doses_per_day:g} a day"
    return {"resourceType": "MedicationRequest", "category": [{"coding": [v.OUTPATIENT_RX]}],
            "medicationCodeableConcept": {"coding": [drug.coding()]}, "dosageInstruction": [dosage],
            "dispenseRequest": {
                "quantity": supply, "numberOfRepeatsAllowed": request.refills,
                "expectedSupplyDuration": {"value": request.days_supply, "unit": "days",
                                           "system": terminology.UCUM, "code": "d"},
                "performer": v.reference(f"Organization/{pharmacy.res_id}", pharmacy.resource.get("name"))}}


def quantity(value: float, unit: str) -> dict[str, Any]:
    known = terminology.require(terminology.UCUM, unit, what="unit")
    return {"value": value, "unit": known.display or unit, "system": terminology.UCUM, "code": unit}


def sig(request: Prescription, route: terminology.Concept) -> str:
    """The instructions in words, e.g. "Take 1 tablet by mouth every 2 hours as needed"."""
    unit = terminology.require(terminology.UCUM, request.dose_unit)
    amount = f"{request.dose:g} {unit.display}{'s' if request.dose != 1 else ''}" \
        if request.dose_unit.startswith("{") else f"{request.dose:g} {request.dose_unit}"
    how = "by mouth" if request.route == ORAL else f"by {(route.display or '').lower()}"
    return f"Take {amount} {how} {timing(request)}{' as needed' if request.as_needed else ''}"


def timing(request: Prescription) -> str:
    word = PERIOD_WORDS[request.period_unit]
    span = word if request.period == 1 else f"{request.period:g} {word}s"
    if request.frequency == 1:
        return f"every {span}"
    return f"{request.frequency} times a {word}" if request.period == 1 else f"{request.frequency} times every {span}"
