"""EpicCare Ambulatory (charting): the allergy list — AllergyIntolerance resources.

A drug allergy names an RxNorm **ingredient** (penicillin G 7980, not a tablet), so that the pharmacy's
verification matches any product containing it; other allergens are SNOMED CT substances (latex,
peanut). Each carries its criticality and the reactions seen (SNOMED CT manifestations). "No known
drug allergies" is its own entry (SNOMED 409137002): it is refused while a drug allergy is active and
set inactive, in the same transaction, when one is recorded. A mistaken entry is marked
entered-in-error (its clinical status removed, as FHIR requires), never deleted.
"""

from __future__ import annotations

from typing import Any

from osler.apps import terminology
from osler.apps.charting import vocabulary as v
from osler.apps.charting.encounters import EncounterContext, editable, open_encounter, post, put, same_patient, transact
from osler.apps.charting.errors import Duplicate, WrongState
from osler.apps.charting.requests import Acting, AllergyRequest
from osler.apps.clinic import Clinic, instant
from osler.chronicle.records import SYSTEM, Actor, Stored


def record_allergy(clinic: Clinic, encounter_id: str, request: AllergyRequest, *, actor: Actor = SYSTEM) -> Stored:
    """Record an allergy of the encounter's patient; the AllergyIntolerance."""
    allergen, category = _allergen(request)
    reactions = [v.coded(terminology.SNOMED, code, what="reaction manifestation", use="manifestation")
                 for code in request.reactions]
    context = open_encounter(clinic, encounter_id, practitioner=request.practitioner, actor=actor)
    system, code = allergen["coding"][0]["system"], allergen["coding"][0]["code"]
    if _active(clinic, context, f"{system}|{code}", actor):
        raise Duplicate(f"an active allergy to {allergen['coding'][0].get('display', code)} is already recorded; "
                        "nothing was written")
    allergy = _allergy(clinic, context, allergen)
    allergy.update({"type": "allergy", "category": [category]})
    if request.criticality:
        allergy["criticality"] = request.criticality
    if request.onset:
        allergy["onsetDateTime"] = request.onset.isoformat()
    if reactions:
        allergy["reaction"] = [{"manifestation": reactions, **({"severity": request.severity} if request.severity
                                                                else {})}]
    if request.note:
        allergy["note"] = [{"text": request.note, "authorReference": context.practitioner}]
    entries = [post(allergy)]
    if category == "medication":  # a drug allergy ends a "no known drug allergies" statement
        for statement in _active(clinic, context, f"{terminology.SNOMED}|{v.NO_KNOWN_DRUG_ALLERGY}", actor):
            ended = editable(statement)
            ended["clinicalStatus"] = v.status_concept(v.ALLERGY_CLINICAL, "inactive")
            entries.append(put(statement, ended))
    return transact(clinic, entries, actor=actor)[0]


def record_no_known_drug_allergies(clinic: Clinic, encounter_id: str, request: Acting, *,
                                   actor: Actor = SYSTEM) -> Stored:
    """Record that the patient has no known drug allergies (refused while a drug allergy is active)."""
    context = open_encounter(clinic, encounter_id, practitioner=request.practitioner, actor=actor)
    for found in _active(clinic, context, None, actor):
        if "medication" in (found.resource.get("category") or []):
            raise WrongState(f"AllergyIntolerance/{found.res_id} is an active drug allergy: the patient does not "
                             "have no known drug allergies; nothing was written")
        if v.first_code(found.resource.get("code"), terminology.SNOMED) == v.NO_KNOWN_DRUG_ALLERGY:
            raise Duplicate("no known drug allergies is already recorded; nothing was written")
    statement = _allergy(clinic, context, v.coded(terminology.SNOMED, v.NO_KNOWN_DRUG_ALLERGY,
                                                  what="allergy statement"))
    return transact(clinic, [post(statement)], actor=actor)[0]


def mark_allergy_entered_in_error(clinic: Clinic, encounter_id: str, allergy_id: str, request: Acting, *,
                                  actor: Actor = SYSTEM) -> Stored:
    """Mark an allergy recorded by mistake as entered-in-error; the AllergyIntolerance."""
    context = open_encounter(clinic, encounter_id, practitioner=request.practitioner, actor=actor)
    current = clinic.chronicle.read("AllergyIntolerance", allergy_id, actor=actor)
    same_patient(current, context)
    allergy = editable(current)
    if v.first_code(allergy.get("verificationStatus"), v.ALLERGY_VERIFICATION) == "entered-in-error":
        raise WrongState(f"AllergyIntolerance/{allergy_id} is already entered-in-error; nothing was written")
    allergy.pop("clinicalStatus", None)
    allergy["verificationStatus"] = v.status_concept(v.ALLERGY_VERIFICATION, "entered-in-error")
    return transact(clinic, [put(current, allergy)], actor=actor)[0]


def _allergen(request: AllergyRequest) -> tuple[dict[str, Any], str]:
    """The allergen as a CodeableConcept and its AllergyIntolerance category."""
    if request.rxnorm is not None:
        found = terminology.require(terminology.RXNORM, request.rxnorm, what="RxNorm code")
        if found.properties.get("tty") != "IN":
            raise terminology.UnknownCode(f"RxNorm {request.rxnorm} ({found.display}) is not an ingredient: record a "
                                          "drug allergy by its ingredient (e.g. 7980 penicillin G)")
        return {"coding": [found.coding()]}, "medication"
    assert request.snomed is not None
    found = v.known(terminology.SNOMED, request.snomed, what="allergen", use="allergen")
    return {"coding": [found.coding()]}, found.properties["charting"]["category"]

def _allergy(clinic: Clinic, context: EncounterContext, code: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "AllergyIntolerance",
            "clinicalStatus": v.status_concept(v.ALLERGY_CLINICAL, "active"),
            "verificationStatus": v.status_concept(v.ALLERGY_VERIFICATION, "confirmed"),
            "code": code, "patient": context.patient, "encounter": context.encounter,
            "recordedDate": instant(clinic.now()), "recorder": context.practitioner}


def _active(clinic: Clinic, context: EncounterContext, code: str | None, actor: Actor) -> list[Stored]:
    params = [("patient", f"Patient/{context.patient_id}"), ("clinical-status", "active"), ("_count", "200")]
    if code is not None:
        params.append(("code", code))
    return clinic.chronicle.search("AllergyIntolerance", params, actor=actor).matches
