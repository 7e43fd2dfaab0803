"""Cadence: the waitlist — patients waiting for an earlier time, and offers when a slot frees.

A waitlist entry is an ``Appointment`` with status ``waitlist`` (R4's own status for it): the
patient, the visit type (``serviceType``), the department (tag), optionally a provider
(``PractitionerRole`` participant) and the acceptable days (``requestedPeriod``). Entries are served
first come, first served (``created``).

When a provider Slot becomes free (a cancellation, a reschedule, blocked time lifted), the change
feed calls ``offer_freed_slot`` (registered with the ``Reactor`` by ``register_waitlist``): the first
entry that fits — right provider, the day in its period, the whole visit and a room free from that
slot — and has no open offer gets a ``Task`` (intent ``proposal``, ``focus`` the Slot, ``basedOn``
the entry, ``for`` the patient). Delivery is at least once, so the handler is idempotent: a Task
records the slot version it was made for, a replay finds it and stops, and the Task's identifier
``<slot>/<entry>`` makes the create conditional. Accepting an offer books the slot for the entry (the
entry becomes the booked Appointment) and completes the Task in one transaction.
"""

from __future__ import annotations

from typing import Any

from osler.apps.scheduling import vocabulary as v
from osler.apps.scheduling.booking import patient_of, take_slots
from osler.apps.scheduling.claims import plan_claim
from osler.apps.scheduling.context import Clinic, Forbidden, NotBookable, WrongState, instant, parse_instant
from osler.apps.scheduling.directory import ScheduleInfo, department_code, read_known, search_all, visit_type
from osler.apps.scheduling.requests import WaitlistRequest
from osler.chronicle.reactions import Reactor
from osler.chronicle.records import SYSTEM, Actor, Change, Stored
from osler.fhir.outcome import Conflict, FhirError, VersionConflict

WAITLIST_ACTOR = Actor("cadence-waitlist", "TREAT")
CONSUMER = "cadence.waitlist"
SLOT_VERSION = "slot-version"
OFFER_CODE = f"{v.TASK_CODE['system']}|{v.TASK_CODE['code']}"


def add_to_waitlist(clinic: Clinic, request: WaitlistRequest, *, actor: Actor = SYSTEM,
                    acting_patient: str | None = None) -> Stored:
    """Put a patient on the waitlist of a department for a visit type and a range of days."""
    if acting_patient is not None and acting_patient != request.patient:
        raise Forbidden("a patient may put their own record on a waitlist only")
    read_known(clinic, "Patient", request.patient, actor=actor)
    code, _ = department_code(clinic, request.department, actor=actor)
    visit = visit_type(clinic, request.visit_type, actor=actor)
    if acting_patient is not None and not visit.patient_bookable:
        raise Forbidden(f"visit type {visit.code!r} cannot be booked by patients; call the clinic")
    if request.latest < clinic.today():
        raise NotBookable(f"the waitlist period ends {request.latest}, in the past")
    participants = [{"actor": v.reference("Patient", request.patient), "required": "required",
                     "status": "needs-action"}]
    if request.provider is not None:
        role = read_known(clinic, "PractitionerRole", request.provider, actor=actor, what="provider").resource
        if v.reference_id(role.get("organization"), "Organization") != request.department:
            raise NotBookable(f"PractitionerRole/{request.provider} does not work in department {code}")
        participants.append({"actor": v.reference("PractitionerRole", request.provider,
                                                  (role.get("practitioner") or {}).get("display")),
                             "required": "required", "status": "needs-action"})
    first, _ = clinic.day_bounds(request.earliest)
    _, end = clinic.day_bounds(request.latest)
    entry = {"resourceType": "Appointment", "status": "waitlist", "meta": {"tag": [v.tag(v.DEPARTMENT_TAG, code)]},
             "serviceType": [v.concept(v.VISIT_TYPE, visit.code, visit.name)], "description": visit.name,
             "created": instant(clinic.now()), "requestedPeriod": [{"start": instant(first), "end": instant(end)}],
             "participant": participants}
    return clinic.chronicle.create(entry, actor=actor).stored


def register_waitlist(reactor: Reactor, clinic: Clinic) -> None:
    """Have ``reactor`` offer freed slots to the waitlist."""
    reactor.on(CONSUMER, lambda change, _chronicle: offer_freed_slot(clinic, change), resource_types={"Slot"})


def offer_freed_slot(clinic: Clinic, change: Change, *, actor: Actor = WAITLIST_ACTOR) -> Stored | None:
    """React to one Slot change: when it freed the slot, offer it to the first waitlisted patient who fits."""
    if change.res_type != "Slot" or change.op != "update" or change.version < 2:
        return None
    chronicle = clinic.chronicle
    try:
        # Most Slot changes are bookings: the current version, read first, settles those in one read.
        slot = chronicle.read("Slot", change.res_id, actor=actor)
        if slot.resource.get("status") != "free":
            return None
        freed = chronicle.vread("Slot", change.res_id, change.version, actor=actor).resource.get("status") == "free"
        before = chronicle.vread("Slot", change.res_id, change.version - 1, actor=actor).resource.get("status")
    except FhirError:
        return None  # deleted since: nothing to offer
    if not freed or before == "free":
        return None
    if parse_instant(slot.resource["start"]) <= clinic.now():
        return None
    schedule = ScheduleInfo.of(chronicle.read("Schedule", v.reference_id(slot.resource.get("schedule"), "Schedule")
                                              or "", actor=actor))
    if schedule.kind != v.PROVIDER:
        return None
    return offer_slot(clinic, slot, schedule, change.version, actor=actor)


def offer_slot(clinic: Clinic, slot: Stored, schedule: ScheduleInfo, freed_version: int, *,
               actor: Actor = WAITLIST_ACTOR) -> Stored | None:
    """Offer a free slot to the first fitting waitlist entry; the offer Task (an existing one on a replay)."""
    offers = list(search_all(clinic, "Task", [("focus", f"Slot/{slot.res_id}"), ("code", OFFER_CODE)], actor=actor))
    for offer in offers:
        if _input(offer.resource, SLOT_VERSION) == freed_version and offer.resource.get("status") != "rejected":
            return offer  # this freeing was handled already (a replayed change)
    offered = {v.reference_id(ref, "Appointment") for offer in offers for ref in offer.resource.get("basedOn") or []}
    # The status goes first: of equally selective filters the first drives the search, and there are far
    # fewer open offers and waitlist entries than Tasks and Appointments of a department.
    department = ("_tag", f"{v.DEPARTMENT_TAG}|{schedule.department}")
    open_offers = {v.reference_id(ref, "Appointment")
                   for offer in search_all(clinic, "Task", [("status", "requested"), department, ("code", OFFER_CODE)],
                                           actor=actor)
                   for ref in offer.resource.get("basedOn") or []}
    entries = sorted(search_all(clinic, "Appointment", [("status", "waitlist"), department], actor=actor),
                     key=lambda e: (e.resource.get("created") or "", e.pk))  # ties: the order they were stored
    start = parse_instant(slot.resource["start"])
    for entry in entries:
        if entry.res_id in offered or entry.res_id in open_offers or not _fits(clinic, entry, slot, schedule, start):
            continue
        return _make_offer(clinic, slot, entry, freed_version, actor)
    return None


def _fits(clinic: Clinic, entry: Stored, slot: Stored, schedule: ScheduleInfo, start: Any) -> bool:
    resource = entry.resource
    periods = resource.get("requestedPeriod") or [{}]
    if not any((not p.get("start") or parse_instant(p["start"]) <= start) and
               (not p.get("end") or start < parse_instant(p["end"])) for p in periods):
        return False
    wanted_role = next((r for p in resource.get("participant") or []
                        if (r := v.reference_id(p.get("actor"), "PractitionerRole"))), None)
    if wanted_role is not None and wanted_role != schedule.actor_id:
        return False
    code = v.visit_type_code(resource)
    if code is None or not schedule.offers(code):
        return False
    try:
        plan_claim(clinic, slot, visit_type(clinic, code, actor=WAITLIST_ACTOR), actor=WAITLIST_ACTOR)
    except FhirError:
        return False  # too short a gap, no room free then, visit type retired…
    return True


def _make_offer(clinic: Clinic, slot: Stored, entry: Stored, freed_version: int, actor: Actor) -> Stored:
    patient = patient_of(entry.resource) or ""
    local = parse_instant(slot.resource["start"]).astimezone(clinic.zone)
    key = f"{slot.res_id}/{entry.res_id}"
    task = {"resourceType": "Task", "status": "requested", "intent": "proposal", "priority": "routine",
            "meta": {"tag": [t for t in (entry.resource.get("meta") or {}).get("tag") or []
                             if t.get("system") == v.DEPARTMENT_TAG]},
            "identifier": [v.identifier(v.OFFER_ID, key)], "code": {"coding": [dict(v.TASK_CODE)]},
            "description": f"An earlier appointment is available on {local:%Y-%m-%d at %H:%M}",
            "focus": v.reference("Slot", slot.res_id), "basedOn": [v.reference("Appointment", entry.res_id)],
            "for": v.reference("Patient", patient), "authoredOn": instant(clinic.now()),
            "restriction": {"period": {"start": slot.resource["start"], "end": slot.resource["end"]}},
            "input": [{"type": {"text": SLOT_VERSION}, "valueInteger": freed_version}]}
    return clinic.chronicle.create(task, actor=actor, if_none_exist=f"identifier={v.OFFER_ID}|{key}").stored


def accept_offer(clinic: Clinic, task_id: str, *, actor: Actor = SYSTEM, acting_patient: str | None = None) -> Stored:
    """Book the offered slot for the waitlist entry (which becomes the Appointment); complete the offer."""
    task = clinic.chronicle.read("Task", task_id, actor=actor)
    offer = _open_offer(task, acting_patient)
    entry_id = v.reference_id((offer.get("basedOn") or [{}])[0], "Appointment") or ""
    entry = clinic.chronicle.read("Appointment", entry_id, actor=actor)
    if entry.resource.get("status") != "waitlist":
        raise WrongState(f"the waitlist entry Appointment/{entry_id} is {entry.resource.get('status')}")
    visit = visit_type(clinic, v.visit_type_code(entry.resource) or "", actor=actor)
    completed = {**offer, "status": "completed",
                 "output": [{"type": {"text": "appointment"}, "valueReference": v.reference("Appointment", entry_id)}]}
    task_write = {"request": {"method": "PUT", "url": f"Task/{task_id}", "ifMatch": task.etag}, "resource": completed}
    slot_id = v.reference_id(offer.get("focus"), "Slot") or ""
    return take_slots(clinic, slot_id, visit, entry.resource, actor=actor, current=entry, extra_entries=[task_write])


def decline_offer(clinic: Clinic, task_id: str, *, actor: Actor = SYSTEM, acting_patient: str | None = None) -> Stored:
    """Decline an offer; the slot is offered to the next waitlisted patient who fits."""
    task = clinic.chronicle.read("Task", task_id, actor=actor)
    offer = _open_offer(task, acting_patient)
    try:
        stored = clinic.chronicle.update("Task", task_id, {**offer, "status": "rejected"}, actor=actor,
                                         if_match=task.etag).stored
    except VersionConflict:
        raise Conflict(f"Task/{task_id} was changed meanwhile; reload it") from None
    slot = clinic.chronicle.read("Slot", v.reference_id(offer.get("focus"), "Slot") or "", actor=WAITLIST_ACTOR)
    if slot.resource.get("status") == "free" and parse_instant(slot.resource["start"]) > clinic.now():
        schedule = ScheduleInfo.of(clinic.chronicle.read(
            "Schedule", v.reference_id(slot.resource.get("schedule"), "Schedule") or "", actor=WAITLIST_ACTOR))
        offer_slot(clinic, slot, schedule, _input(offer, SLOT_VERSION) or slot.version)
    return stored


def _open_offer(task: Stored, acting_patient: str | None) -> dict[str, Any]:
    offer = task.resource
    if (offer.get("code") or {}).get("coding", [{}])[0].get("code") != v.TASK_CODE["code"]:
        raise WrongState(f"Task/{task.res_id} is not a waitlist offer")
    if acting_patient is not None and v.reference_id(offer.get("for"), "Patient") != acting_patient:
        raise Forbidden("a patient may answer their own offers only")
    if offer.get("status") != "requested":
        raise WrongState(f"the offer Task/{task.res_id} is {offer.get('status')}: it can no longer be answered")
    return offer


def _input(task: dict[str, Any], name: str) -> Any:
    for item in task.get("input") or []:
        if (item.get("type") or {}).get("text") == name:
            return item.get("valueInteger")
    return None
