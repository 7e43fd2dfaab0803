"""EpicCare Ambulatory (charting): recording a set of vitals (the flowsheet) as vital-signs Observations.

One call records what was measured together — heart rate, respiratory rate, temperature, SpO2, height,
weight, BMI (computed from height and weight when not given) and blood pressure (the 85354-9 panel with
systolic and diastolic components) — each an Observation with category ``vital-signs``, the FHIR
vital-signs profiles, LOINC code and a UCUM ``valueQuantity``. Every unit and value is checked first
(``UnitMismatch``, ``ImplausibleValue``: 422) and all of them are written in one transaction, or none.
"""

from __future__ import annotations

from typing import Any

from osler.apps import terminology
from osler.apps.charting import vital_signs as vs
from osler.apps.charting import vocabulary as v
from osler.apps.charting.encounters import EncounterContext, open_encounter, post, transact
from osler.apps.charting.requests import Measurement, VitalsRequest
from osler.apps.clinic import Clinic, instant
from osler.chronicle.records import SYSTEM, Actor, Stored


def record_vitals(clinic: Clinic, encounter_id: str, request: VitalsRequest, *, actor: Actor = SYSTEM) -> list[Stored]:
    """Record the vitals of ``request`` in the open encounter; the Observations, in flowsheet order."""
    measured = _checked(request)
    context = open_encounter(clinic, encounter_id, practitioner=request.practitioner, actor=actor)
    effective = instant(request.effective or clinic.now())
    entries: list[dict[str, Any]] = []
    for vital, (value, unit) in measured.items():
        observation = _observation(vital.loinc, vital.profile, context, effective)
        observation["valueQuantity"] = _quantity(value, unit)
        if vital is vs.BMI and request.bmi is None:
            observation["derivedFrom"] = [v.reference(f"urn:uuid:vital-{source.field}")
                                          for source in (vs.HEIGHT, vs.WEIGHT)]
        entries.append(post(observation, f"urn:uuid:vital-{vital.field}"))
    if request.blood_pressure is not None:
        entries.append(post(_blood_pressure(request, context, effective)))
    return transact(clinic, entries, actor=actor)


def _checked(request: VitalsRequest) -> dict[vs.VitalSign, tuple[float, str]]:
    """Every single-valued vital given (and BMI computed) as (value, UCUM unit), units and ranges checked."""
    measured: dict[vs.VitalSign, tuple[float, str]] = {}
    canonical: dict[vs.VitalSign, float] = {}
    for vital in vs.SINGLE:
        given: Measurement | None = getattr(request, vital.field)
        if given is None:
            continue
        unit = vital.unit_of(given.unit)
        canonical[vital] = vital.check(given.value, unit)
        measured[vital] = (given.value, unit)
    if vs.BMI not in measured and vs.HEIGHT in canonical and vs.WEIGHT in canonical:
        bmi = vs.body_mass_index(canonical[vs.HEIGHT], canonical[vs.WEIGHT])
        if not vs.BMI.low <= bmi <= vs.BMI.high:
            vs.implausible("height", f"height and weight give a BMI of {bmi:g} kg/m2, which is not plausible: "
                                     "one of them is mistyped")
        measured[vs.BMI] = (bmi, vs.BMI.canonical)
    pressure = request.blood_pressure
    if pressure is not None:
        systolic = vs.SYSTOLIC.check(pressure.systolic, vs.SYSTOLIC.unit_of(pressure.unit))
        diastolic = vs.DIASTOLIC.check(pressure.diastolic, vs.DIASTOLIC.unit_of(pressure.unit))
        if diastolic >= systolic:
            vs.implausible("blood_pressure", f"blood pressure {pressure.systolic:g}/{pressure.diastolic:g}: the "
                                             "diastolic pressure must be lower than the systolic")
    return measured


def _observation(codes: tuple[str, ...], profile: str, context: EncounterContext, effective: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "status": "final",
        "meta": {"profile": [v.VITAL_SIGNS_PROFILE, f"{v.PROFILE_BASE}/{profile}"]},
        "category": [{"coding": [v.VITAL_SIGNS]}],
        "code": {"coding": [terminology.coding(terminology.LOINC, code) for code in codes]},
        "subject": context.patient, "encounter": context.encounter, "effectiveDateTime": effective,
        "performer": [context.practitioner]}


def _blood_pressure(request: VitalsRequest, context: EncounterContext, effective: str) -> dict[str, Any]:
    pressure = request.blood_pressure
    assert pressure is not None
    unit = vs.SYSTOLIC.unit_of(pressure.unit)
    panel = _observation((vs.BLOOD_PRESSURE_PANEL,), "bp", context, effective)
    panel["component"] = [
        {"code": {"coding": [terminology.coding(terminology.LOINC, part.loinc[0])]},
         "valueQuantity": _quantity(value, unit)}
        for part, value in ((vs.SYSTOLIC, pressure.systolic), (vs.DIASTOLIC, pressure.diastolic))]
    return panel


def _quantity(value: float, unit: str) -> dict[str, Any]:
    terminology.require(terminology.UCUM, unit, what="unit")
    return {"value": value, "unit": unit, "system": terminology.UCUM, "code": unit}
