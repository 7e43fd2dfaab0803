"""Cadence: booking, cancelling and rescheduling appointments — atomically.

A booking is one transaction Bundle: every Slot it takes (the provider's, the room's, the
equipment's) is PUT ``busy`` with ``ifMatch`` on the version that was read free, and the Appointment
is created (or, for a reschedule or an accepted waitlist offer, updated with ``ifMatch``). If any of
those resources changed in between, the Chronicle refuses the whole transaction (``VersionConflict``)
and nothing is written — on SQLite and PostgreSQL alike — so two bookings of one slot can never both
succeed. The loser learns ``SlotTaken`` (409, "already taken"), unless only the room was taken, in
which case another free room is tried.

Cancelling frees the slots in the same transaction that cancels the appointment; the waitlist reacts
to the freed slots through the change feed.
"""

from __future__ import annotations

from typing import Any

from osler.apps.scheduling import vocabulary as v
from osler.apps.scheduling.claims import Claim, plan_claim
from osler.apps.scheduling.context import Clinic, Forbidden, SlotTaken, WrongState, instant
from osler.apps.scheduling.directory import VisitType, read_known, visit_type
from osler.apps.scheduling.requests import BookingRequest, CancelRequest, RescheduleRequest
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.chronicle.transactions import EntryResult
from osler.fhir.outcome import Conflict, VersionConflict

ATTEMPTS = 3
CANCELLABLE = {"proposed", "pending", "booked", "arrived", "checked-in", "waitlist"}
MOVABLE = {"proposed", "pending", "booked"}


def book_appointment(clinic: Clinic, request: BookingRequest, *, actor: Actor = SYSTEM,
                     acting_patient: str | None = None) -> Stored:
    """Book ``request.visit_type`` for the patient in the provider slot ``request.slot``; the Appointment."""
    if acting_patient is not None and acting_patient != request.patient:
        raise Forbidden("a patient may book appointments for their own record only")
    read_known(clinic, "Patient", request.patient, actor=actor)
    visit = visit_type(clinic, request.visit_type, actor=actor)
    if acting_patient is not None and not visit.patient_bookable:
        raise Forbidden(f"visit type {visit.code!r} cannot be booked by patients; call the clinic")
    appointment = {"resourceType": "Appointment", "created": instant(clinic.now()),
                   "participant": [{"actor": v.reference("Patient", request.patient), "required": "required",
                                    "status": "accepted"}]}
    if request.comment:
        appointment["comment"] = request.comment
    return take_slots(clinic, request.slot, visit, appointment, actor=actor, room=request.room)


def take_slots(clinic: Clinic, slot_id: str, visit: VisitType, appointment: dict[str, Any], *, actor: Actor,
               room: str | None = None, current: Stored | None = None,
               extra_entries: list[dict[str, Any]] | None = None) -> Stored:
    """Claim the visit's slots and store ``appointment`` holding them, in one transaction.

    ``current`` is the stored version of ``appointment`` when it already exists (a reschedule, a waitlist
    entry being booked): its slots count as available, the ones it no longer needs are freed, and the
    update carries ``ifMatch`` so that a concurrent change to the appointment fails the whole move.
    """
    own = frozenset(held_slot_ids(current.resource)) if current is not None else frozenset()
    for _attempt in range(ATTEMPTS):
        first = read_known(clinic, "Slot", slot_id, actor=actor)
        claim = plan_claim(clinic, first, visit, actor=actor, room=room, own=own)
        entries = [_slot_write(slot, "busy") for slot in claim.slots if slot.res_id not in own]
        taken = {slot.res_id for slot in claim.slots}
        if current is not None:
            entries += [_slot_write(slot, "free") for slot in _held_slots(clinic, current, actor)
                        if slot.res_id not in taken and slot.resource.get("status") == "busy"]
        resource = _appointment(claim, visit, appointment)
        if current is None:
            entries.append({"request": {"method": "POST", "url": "Appointment"}, "resource": resource})
        else:
            entries.append({"request": {"method": "PUT", "url": f"Appointment/{current.res_id}",
                                        "ifMatch": current.etag}, "resource": {**resource, "id": current.res_id}})
        entries += extra_entries or []
        try:
            results = _transaction(clinic, entries, actor)
        except VersionConflict:
            if current is not None and clinic.chronicle.read("Appointment", current.res_id).version != current.version:
                raise Conflict(f"Appointment/{current.res_id} was changed by someone else meanwhile; "
                               "reload it and try again") from None
            if any(clinic.chronicle.read("Slot", s.res_id).resource.get("status") != "free"
                   for s in claim.provider_slots if s.res_id not in own):
                raise SlotTaken(f"Slot/{slot_id} is already taken: another booking got it first") from None
            continue  # only a room or device was taken meanwhile: choose again
        return next(r.stored for r in results if r.stored is not None and r.stored.res_type == "Appointment")
    raise SlotTaken(f"Slot/{slot_id} could not be booked: the rooms or equipment it needs kept being taken by "
                    "concurrent bookings (nothing was written); choose another time or try again")


def cancel_appointment(clinic: Clinic, appointment_id: str, request: CancelRequest | None = None, *,
                       actor: Actor = SYSTEM, acting_patient: str | None = None) -> Stored:
    """Cancel an appointment and free its slots, in one transaction."""
    current = clinic.chronicle.read("Appointment", appointment_id, actor=actor)
    appointment = current.resource
    _check_patient(appointment, acting_patient)
    status = appointment.get("status")
    if status not in CANCELLABLE:
        raise WrongState(f"Appointment/{appointment_id} is {status}: it cannot be cancelled")
    if acting_patient is not None and status not in MOVABLE | {"waitlist"}:
        raise Forbidden("patients cannot cancel a visit they have already arrived for")
    reason = (request.reason if request else None) or ("cancelled by the patient" if acting_patient else "cancelled")
    coding = [{"system": v.CANCEL_REASON, "code": "pat", "display": "Patient"}] if acting_patient else []
    cancelled = {**appointment, "status": "cancelled",
                 "cancelationReason": {**({"coding": coding} if coding else {}), "text": reason}}
    entries = [{"request": {"method": "PUT", "url": f"Appointment/{appointment_id}", "ifMatch": current.etag},
                "resource": cancelled}]
    entries += [_slot_write(slot, "free") for slot in _held_slots(clinic, current, actor)
                if slot.resource.get("status") == "busy"]
    try:
        results = _transaction(clinic, entries, actor)
    except VersionConflict:
        raise Conflict(f"Appointment/{appointment_id} was changed by someone else meanwhile; reload it") from None
    assert results[0].stored is not None
    return results[0].stored


def reschedule_appointment(clinic: Clinic, appointment_id: str, request: RescheduleRequest, *,
                           actor: Actor = SYSTEM, acting_patient: str | None = None) -> Stored:
    """Move an appointment to another slot: the new slots taken and the old freed together, or nothing."""
    current = clinic.chronicle.read("Appointment", appointment_id, actor=actor)
    appointment = current.resource
    _check_patient(appointment, acting_patient)
    if appointment.get("status") not in MOVABLE:
        raise WrongState(f"Appointment/{appointment_id} is {appointment.get('status')}: it cannot be rescheduled")
    code = v.visit_type_code(appointment)
    if code is None:
        raise WrongState(f"Appointment/{appointment_id} was not booked through scheduling: it has no visit type")
    visit = visit_type(clinic, code, actor=actor)
    if acting_patient is not None and not visit.patient_bookable:
        raise Forbidden(f"visit type {visit.code!r} cannot be rescheduled by patients; call the clinic")
    return take_slots(clinic, request.slot, visit, appointment, actor=actor, room=request.room, current=current)


# --------------------------------------------------------------------------------- helpers


def held_slot_ids(appointment: dict[str, Any]) -> list[str]:
    return [sid for ref in appointment.get("slot") or [] if (sid := v.reference_id(ref, "Slot"))]


def patient_of(appointment: dict[str, Any]) -> str | None:
    return next((pid for p in appointment.get("participant") or []
                 if (pid := v.reference_id(p.get("actor"), "Patient"))), None)


def _check_patient(appointment: dict[str, Any], acting_patient: str | None) -> None:
    if acting_patient is not None and patient_of(appointment) != acting_patient:
        raise Forbidden("a patient may change their own appointments only")


def _held_slots(clinic: Clinic, appointment: Stored, actor: Actor) -> list[Stored]:
    return [clinic.chronicle.read("Slot", sid, actor=actor) for sid in held_slot_ids(appointment.resource)]


def _slot_write(slot: Stored, status: str) -> dict[str, Any]:
    return {"request": {"method": "PUT", "url": f"Slot/{slot.res_id}", "ifMatch": slot.etag},
            "resource": {**slot.resource, "status": status}}


def _transaction(clinic: Clinic, entries: list[dict[str, Any]], actor: Actor) -> list[EntryResult]:
    return clinic.chronicle.transact(entries, actor=actor)


def _appointment(claim: Claim, visit: VisitType, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` (a new or stored Appointment) holding the claim: status, times, slots, participants."""
    schedule = claim.schedule
    participants = [p for p in base.get("participant") or [] if v.reference_id(p.get("actor"), "Patient")]
    performer = [{"coding": [{"system": v.PARTICIPATION, "code": "PPRF", "display": "primary performer"}]}]
    if schedule.practitioner_id:
        participants.append({"type": performer, "actor": v.reference("Practitioner", schedule.practitioner_id,
                                                                      schedule.name),
                             "required": "required", "status": "accepted"})
    participants.append({"type": performer, "actor": v.reference(schedule.actor_type, schedule.actor_id, schedule.name),
                         "required": "required", "status": "accepted"})
    for resource, _ in claim.resources:
        kind = [{"coding": [{"system": v.PARTICIPATION, "code": "LOC", "display": "location"}]}] \
            if resource.actor_type == "Location" else []
        participants.append({**({"type": kind} if kind else {}),
                             "actor": v.reference(resource.actor_type, resource.actor_id, resource.name),
                             "required": "required", "status": "accepted"})
    tags = [t for t in (base.get("meta") or {}).get("tag") or [] if t.get("system") != v.DEPARTMENT_TAG]
    resource = {key: value for key, value in base.items() if key not in ("meta", "requestedPeriod")}
    resource.update({
        "meta": {"tag": [*tags, v.tag(v.DEPARTMENT_TAG, schedule.department)]},
        "status": "booked", "serviceType": [v.concept(v.VISIT_TYPE, visit.code, visit.name)],
        "description": visit.name, "start": instant(claim.start), "end": instant(claim.end),
        "minutesDuration": visit.minutes, "slot": [v.reference("Slot", s.res_id) for s in claim.slots],
        "participant": participants})
    return resource
