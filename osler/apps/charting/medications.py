"""EpicCare Ambulatory (charting): the medication list — what the patient takes, as MedicationStatements.

Reconciling the list in a visit adds what the patient reports taking (RxNorm coded, with the dosage
as said) and stops what she no longer takes. Prescriptions written in the visit are orders
(``prescriptions``), not list entries; the list is what she says she takes.
"""

from __future__ import annotations

from osler.apps import terminology
from osler.apps.charting import vocabulary as v
from osler.apps.charting.encounters import editable, open_encounter, post, put, same_patient, transact
from osler.apps.charting.errors import Duplicate, WrongState
from osler.apps.charting.requests import MedicationEntry, StopMedication
from osler.apps.clinic import Clinic, instant
from osler.chronicle.records import SYSTEM, Actor, Stored


def add_medication(clinic: Clinic, encounter_id: str, request: MedicationEntry, *, actor: Actor = SYSTEM) -> Stored:
    """Add a drug to the patient's medication list; the MedicationStatement (status active)."""
    drug = v.coded(terminology.RXNORM, request.rxnorm, what="RxNorm code")
    context = open_encounter(clinic, encounter_id, practitioner=request.practitioner, actor=actor)
    taken = clinic.chronicle.search("MedicationStatement", [
        ("patient", f"Patient/{context.patient_id}"), ("status", "active"),
        ("code", f"{terminology.RXNORM}|{request.rxnorm}"), ("_count", "1")], actor=actor).matches
    if taken:
        raise Duplicate(f"RxNorm {request.rxnorm} is already on the medication list "
                        f"(MedicationStatement/{taken[0].res_id}); nothing was written")
    statement = {"resourceType": "MedicationStatement", "status": "active",
                 "category": {"coding": [v.PATIENT_SPECIFIED]}, "medicationCodeableConcept": drug,
                 "subject": context.patient, "context": context.encounter,
                 "dateAsserted": instant(clinic.now()), "informationSource": context.practitioner}
    if request.started:
        statement["effectivePeriod"] = {"start": request.started.isoformat()}
    if request.dosage:
        statement["dosage"] = [{"text": request.dosage}]
    return transact(clinic, [post(statement)], actor=actor)[0]


def stop_medication(clinic: Clinic, encounter_id: str, statement_id: str, request: StopMedication, *,
                    actor: Actor = SYSTEM) -> Stored:
    """The patient no longer takes it: the MedicationStatement becomes ``stopped`` as of today."""
    context = open_encounter(clinic, encounter_id, practitioner=request.practitioner, actor=actor)
    current = clinic.chronicle.read("MedicationStatement", statement_id, actor=actor)
    same_patient(current, context, path="subject")
    statement = editable(current)
    if statement.get("status") != "active":
        raise WrongState(f"MedicationStatement/{statement_id} is {statement.get('status')}, not active; "
                         "nothing was written")
    statement["status"] = "stopped"
    statement["effectivePeriod"] = {**statement.get("effectivePeriod", {}), "end": clinic.today().isoformat()}
    if request.reason:
        statement["statusReason"] = [{"text": request.reason}]
    return transact(clinic, [put(current, statement)], actor=actor)[0]
