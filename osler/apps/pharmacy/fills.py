"""Willow: the fill Task — one per fill of a prescription — that carries the pharmacy's work state.

Why a Task and not MedicationDispense statuses: the first two states (to verify, verified) exist
before anything is dispensed, a refill is a new fill of the same prescription, and the prescriber's
order (the MedicationRequest) is immutable once signed. A Task per fill (``focus`` and ``basedOn`` =
the MedicationRequest, ``owner`` = the pharmacy, ``businessStatus`` = the Willow state) holds exactly
that, and the pharmacy's queue is one search. Its outputs record who verified, the DetectedIssues of the
verification and the MedicationDispense of the fill. Pure: these functions build resources; the
workflow modules store them.
"""

from __future__ import annotations

from typing import Any

from osler.apps.clinic import Clinic, instant
from osler.apps.pharmacy import vocabulary as v
from osler.apps.pharmacy.errors import WrongState
from osler.apps.pharmacy.prescriptions import Prescription
from osler.chronicle.records import Stored


def new_fill(clinic: Clinic, prescription: Prescription, fill_number: int, state: str,
             requester: str | None = None) -> dict[str, Any]:
    """A fill Task for the prescription's ``fill_number``-th fill (1 = the first fill), not stored."""
    task: dict[str, Any] = {
        "resourceType": "Task", "status": v.STATES[state][1], "businessStatus": v.state_concept(state),
        "intent": "order", "code": v.FILL_CONCEPT, "focus": v.reference(prescription.reference),
        "basedOn": [v.reference(prescription.reference)], "for": v.reference(prescription.patient),
        "owner": v.reference(prescription.pharmacy or ""), "authoredOn": instant(clinic.now()),
        "lastModified": instant(clinic.now()), "description": f"Fill {fill_number} of {prescription.display}",
        "input": [v.parameter("fill-number", valueInteger=fill_number)]}
    if requester:
        task["requester"] = v.reference(requester)
    return task


def advance(clinic: Clinic, task: dict[str, Any], state: str, *outputs: dict[str, Any]) -> dict[str, Any]:
    """The fill Task moved to ``state``, with ``outputs`` added."""
    moved = {**task, "status": v.STATES[state][1], "businessStatus": v.state_concept(state),
             "lastModified": instant(clinic.now())}
    if outputs:
        moved["output"] = [*(task.get("output") or []), *outputs]
    return moved


def require_state(task: Stored | None, earlier_fills: int, prescription: Prescription, *states: str,
                  doing: str) -> Stored:
    """The open fill Task when it is in one of ``states``; 409 naming the state it is in otherwise (a
    prescription never filled and without a Task yet is *to verify*)."""
    state = v.state_of(task.resource) if task is not None else ("to-verify" if earlier_fills == 0 else None)
    if task is None or state not in states:
        where = v.STATES[state][0].lower() if state else "not waiting at the pharmacy (no fill under way)"
        raise WrongState(f"cannot {doing} {prescription.reference}: it is {where}")
    return task


def fill_number(task: dict[str, Any]) -> int:
    values = v.parameters(task, "input", "fill-number")
    return int(values[0]["valueInteger"]) if values else 1


def dispense_id(task: dict[str, Any]) -> str | None:
    values = v.parameters(task, "output", "dispense")
    return v.reference_id(values[-1].get("valueReference"), "MedicationDispense") if values else None


def put(stored: Stored, resource: dict[str, Any]) -> dict[str, Any]:
    """A transaction entry updating ``stored`` to ``resource``, refused if it changed since it was read."""
    return {"request": {"method": "PUT", "url": f"{stored.res_type}/{stored.res_id}", "ifMatch": stored.etag},
            "resource": {**resource, "id": stored.res_id}}
