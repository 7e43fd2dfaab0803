"""Willow: refill requests, and the prescriber's answer (Epic: refill requests routed to In Basket).

A refill request (from the patient, the pharmacy or a caregiver) becomes a new fill in the pharmacy
queue while the prescription still allows one — some quantity remains of quantity * (1 + refills) and
it has not expired. Otherwise it is routed to the prescriber (the prescription's ``requester``) as an
in-basket Task (category ``refill-request``). The prescriber approves — a new MedicationRequest that
names the old one as its ``priorPrescription``, with new refills; the old one is completed, in the same
transaction — or denies, with a reason the patient is told in an in-basket message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from osler.apps.clinic import Clinic, instant
from osler.apps.inbasket import CATEGORY, STATE_TAG, compose_message, compose_task, post_entry
from osler.apps.pharmacy import vocabulary as v
from osler.apps.pharmacy.errors import Forbidden, WrongState
from osler.apps.pharmacy.fills import new_fill, put
from osler.apps.pharmacy.prescriptions import (
    Prescription,
    current_fill,
    dispensed,
    load_prescription,
    require_party,
)
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import BadRequest

REQUESTERS = ("Patient", "RelatedPerson", "Practitioner", "PractitionerRole", "Organization")
REFILL_REQUEST = "refill-request"
MAX_REFILLS = 11
MAX_REASON = 1000
ANSWERABLE = ("requested", "received", "accepted", "in-progress")


@dataclass(frozen=True)
class RefillRouting:
    routed_to: str  # "pharmacy": a new fill in the queue; "prescriber": an in-basket Task to the prescriber
    task: Stored


def request_refill(clinic: Clinic, medication_request_id: str, requested_by: str, *,
                   actor: Actor = SYSTEM) -> RefillRouting:
    """Ask for a refill: a new fill when the prescription allows one, else a Task to the prescriber."""
    prescription = load_prescription(clinic, medication_request_id, actor=actor, require_active=False)
    status = prescription.resource.get("status")
    if status not in ("active", "completed"):
        raise WrongState(f"{prescription.reference} is {status}: it cannot be refilled; ask the prescriber "
                         "for a new prescription")
    require_party(clinic, requested_by, REQUESTERS, what="requester", actor=actor)
    task, earlier_fills = current_fill(clinic, prescription, actor=actor)
    if task is not None:
        raise WrongState(f"{prescription.reference} already has a fill under way at the pharmacy")
    if status == "active" and earlier_fills == 0:
        raise WrongState(f"{prescription.reference} has not been filled yet: it is waiting in the pharmacy queue")
    authorized = prescription.authorized_total()
    if (status == "active" and not prescription.expired(clinic) and authorized is not None
            and authorized > dispensed(clinic, prescription, actor=actor)):
        fill = new_fill(clinic, prescription, earlier_fills + 1, "to-verify", requester=requested_by)
        return RefillRouting("pharmacy", _store(clinic, [post_entry(fill)], actor)[0])
    return RefillRouting("prescriber", _route_to_prescriber(clinic, prescription, requested_by, actor=actor))


def approve_refill(clinic: Clinic, task_id: str, prescriber: str, refills: int, *,
                   actor: Actor = SYSTEM) -> Stored:
    """Approve a refill request: the new MedicationRequest (``priorPrescription`` = the old one)."""
    if not 0 <= refills <= MAX_REFILLS:
        raise BadRequest(f"refills must be between 0 and {MAX_REFILLS}, not {refills}")
    task, prescription = _open_request(clinic, task_id, prescriber, actor=actor)
    old = prescription.resource
    renewed = {key: value for key, value in old.items() if key not in ("id", "meta", "text", "identifier")}
    dispense_request = {k: val for k, val in (old.get("dispenseRequest") or {}).items() if k != "validityPeriod"}
    renewed.update({"status": "active", "authoredOn": instant(clinic.now()),
                    "requester": v.reference(f"Practitioner/{prescriber}"),
                    "priorPrescription": v.reference(prescription.reference),
                    "dispenseRequest": {**dispense_request, "numberOfRepeatsAllowed": refills}})
    url = f"urn:uuid:{uuid4()}"
    entries = [{"fullUrl": url, **post_entry(renewed)},
               put(task, _answered(clinic, task.resource, "approved",
                                   output=[v.parameter("renewal", valueReference=v.reference(url))]))]
    if old.get("status") == "active":
        entries.append(put(prescription.stored, {**old, "status": "completed"}))
    return _store(clinic, entries, actor)[0]


def deny_refill(clinic: Clinic, task_id: str, prescriber: str, reason: str, *, actor: Actor = SYSTEM) -> Stored:
    """Deny a refill request with a reason; the patient is told in their in-basket. The answered Task."""
    reason = reason.strip()[:MAX_REASON]
    if not reason:
        raise BadRequest("a denied refill needs a reason for the patient")
    task, prescription = _open_request(clinic, task_id, prescriber, actor=actor)
    message = compose_message(
        clinic, category=REFILL_REQUEST, recipient=prescription.patient, patient=prescription.patient,
        sender=f"Practitioner/{prescriber}", subject="Your refill request was not approved",
        text=f"Your request to refill {prescription.display} was not approved: {reason}",
        about=[prescription.reference, f"Task/{task_id}"])
    answered = _answered(clinic, task.resource, "denied", statusReason={"text": reason})
    return _store(clinic, [put(task, answered), post_entry(message)], actor)[0]


def _route_to_prescriber(clinic: Clinic, prescription: Prescription, requested_by: str, *,
                         actor: Actor) -> Stored:
    if prescription.prescriber is None:
        raise WrongState(f"{prescription.reference} names no prescriber to ask for a refill")
    pending = clinic.chronicle.search("Task", [("focus", prescription.reference),
                                               ("code", f"{CATEGORY}|{REFILL_REQUEST}"),
                                               ("status", ",".join(ANSWERABLE)), ("_count", "1")], actor=actor)
    if pending.matches:
        raise WrongState(f"a refill of {prescription.reference} was already requested (Task/"
                         f"{pending.matches[0].res_id}) and awaits the prescriber")
    task = compose_task(clinic, category=REFILL_REQUEST, owner=prescription.prescriber,
                        description=f"Refill request: {prescription.display} has no refills left",
                        patient=prescription.patient, focus=prescription.reference, requester=requested_by)
    return _store(clinic, [post_entry(task)], actor)[0]


def _open_request(clinic: Clinic, task_id: str, prescriber: str, *, actor: Actor) -> tuple[Stored, Prescription]:
    task = clinic.chronicle.read("Task", task_id, actor=actor)
    codings = (task.resource.get("code") or {}).get("coding") or []
    if not any(c.get("system") == CATEGORY and c.get("code") == REFILL_REQUEST for c in codings):
        raise WrongState(f"Task/{task_id} is not a refill request")
    if task.resource.get("status") not in ANSWERABLE:
        raise WrongState(f"the refill request Task/{task_id} was already answered")
    target = v.reference_id(task.resource.get("focus"), "MedicationRequest") or ""
    prescription = load_prescription(clinic, target, actor=actor, require_active=False)
    # the in-basket may have routed the request to a covering prescriber: either may answer it
    answerers = {(task.resource.get("owner") or {}).get("reference"), prescription.prescriber}
    if f"Practitioner/{prescriber}" not in answerers:
        raise Forbidden(f"the refill request Task/{task_id} is addressed to another prescriber")
    if prescription.resource.get("status") not in ("active", "completed"):
        raise WrongState(f"{prescription.reference} is {prescription.resource.get('status')}: it cannot be renewed")
    return task, prescription


def _answered(clinic: Clinic, task: dict[str, Any], decision: str, **changes: Any) -> dict[str, Any]:
    tags = [t for t in (task.get("meta") or {}).get("tag") or [] if t.get("system") != STATE_TAG]
    output = changes.pop("output", [])
    answered = {**task, "meta": {"tag": [*tags, {"system": STATE_TAG, "code": "done"}]}, "status": "completed",
                "businessStatus": v.decision_concept(decision), "lastModified": instant(clinic.now()), **changes}
    if output:
        answered["output"] = [*(task.get("output") or []), *output]
    return answered


def _store(clinic: Clinic, entries: list[dict[str, Any]], actor: Actor) -> list[Stored]:
    return [r.stored for r in clinic.chronicle.transact(entries, actor=actor) if r.stored is not None]
