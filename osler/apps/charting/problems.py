"""EpicCare Ambulatory (charting): the problem list — Conditions with category ``problem-list-item``.

A problem is an ICD-10-CM coded Condition, active and confirmed, with its onset, recorded in the
encounter where it was added; resolving it sets ``clinicalStatus`` resolved and its abatement date.
The same code cannot be on a patient's active problem list twice (409).
"""

from __future__ import annotations

from typing import Any

from osler.apps import terminology
from osler.apps.charting import vocabulary as v
from osler.apps.charting.encounters import EncounterContext, editable, open_encounter, post, put, same_patient, transact
from osler.apps.charting.errors import Duplicate, ImplausibleValue, WrongState
from osler.apps.charting.requests import ProblemRequest, ResolveProblem
from osler.apps.clinic import Clinic, instant
from osler.chronicle.records import SYSTEM, Actor, Stored

ACTIVE = ("active", "recurrence", "relapse")


def add_problem(clinic: Clinic, encounter_id: str, request: ProblemRequest, *, actor: Actor = SYSTEM) -> Stored:
    """Add an ICD-10-CM coded problem to the patient's problem list; the Condition."""
    code = v.coded(terminology.ICD10CM, request.code, what="ICD-10-CM code")
    context = open_encounter(clinic, encounter_id, practitioner=request.practitioner, actor=actor)
    listed = clinic.chronicle.search("Condition", [
        ("patient", f"Patient/{context.patient_id}"), ("category", "problem-list-item"),
        ("clinical-status", ",".join(ACTIVE)), ("code", f"{terminology.ICD10CM}|{request.code}"),
        ("_count", "1")], actor=actor).matches
    if listed:
        raise Duplicate(f"{request.code} is already on the problem list (Condition/{listed[0].res_id}); "
                        "nothing was written")
    problem = condition(clinic, context, v.PROBLEM_LIST_ITEM, code)
    if request.onset:
        problem["onsetDateTime"] = request.onset.isoformat()
    if request.note:
        problem["note"] = [{"text": request.note, "authorReference": context.practitioner,
                            "time": problem["recordedDate"]}]
    return transact(clinic, [post(problem)], actor=actor)[0]


def resolve_problem(clinic: Clinic, encounter_id: str, condition_id: str, request: ResolveProblem, *,
                    actor: Actor = SYSTEM) -> Stored:
    """Mark a problem resolved (today unless ``request.abated`` says when); the Condition."""
    context = open_encounter(clinic, encounter_id, practitioner=request.practitioner, actor=actor)
    current = clinic.chronicle.read("Condition", condition_id, actor=actor)
    same_patient(current, context, path="subject")
    problem = editable(current)
    if v.PROBLEM_LIST_ITEM["code"] not in {c.get("code") for cat in problem.get("category") or []
                                            for c in cat.get("coding") or []}:
        raise WrongState(f"Condition/{condition_id} is not on the problem list; nothing was written")
    status = v.first_code(problem.get("clinicalStatus"), v.CONDITION_CLINICAL)
    if status not in ACTIVE:
        raise WrongState(f"Condition/{condition_id} is {status}, not active: it cannot be resolved; "
                         "nothing was written")
    abated = request.abated or clinic.today()
    if problem.get("onsetDateTime", "")[:10] > abated.isoformat():
        raise ImplausibleValue(f"the problem cannot resolve on {abated}, before its onset; nothing was written")
    problem["clinicalStatus"] = v.status_concept(v.CONDITION_CLINICAL, "resolved")
    problem["abatementDateTime"] = abated.isoformat()
    return transact(clinic, [put(current, problem)], actor=actor)[0]


def condition(clinic: Clinic, context: EncounterContext, category: dict[str, str],
              code: dict[str, Any]) -> dict[str, Any]:
    """A confirmed, active Condition of the encounter's patient, recorded now by the practitioner acting."""
    return {"resourceType": "Condition",
            "clinicalStatus": v.status_concept(v.CONDITION_CLINICAL, "active"),
            "verificationStatus": v.status_concept(v.CONDITION_VERIFICATION, "confirmed"),
            "category": [{"coding": [category]}], "code": code, "subject": context.patient,
            "encounter": context.encounter, "recordedDate": instant(clinic.now()), "recorder": context.practitioner}
