"""Cadence through its Python API, on SQLite and PostgreSQL: set-up, slot generation, availability,
atomic booking, cancel, reschedule, day-of-visit statuses and the waitlist."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from osler.apps.scheduling import (
    AppointmentView,
    BookingRequest,
    CancelRequest,
    Forbidden,
    NotBookable,
    RescheduleRequest,
    SlotGeneration,
    SlotTaken,
    TimeOff,
    UnknownReference,
    WaitlistRequest,
    WrongState,
    accept_offer,
    add_time_off,
    add_to_waitlist,
    appointment_room,
    appointments_on,
    book_appointment,
    cancel_appointment,
    decline_offer,
    find_availability,
    generate_slots,
    mark_arrived,
    mark_no_show,
    offer_freed_slot,
    register_waitlist,
    reschedule_appointment,
    set_up_department,
    todays_appointment,
)
from osler.chronicle.reactions import Reactor
from osler.fhir.outcome import BadRequest
from tests.test_scheduling_helpers import MONDAY, STAFF, WEDNESDAY, Cadence, cadence, setup_request

__all__ = ["cadence"]  # the fixture, imported for pytest

TUESDAY = date(2030, 3, 5)
SLOTS_PER_DAY = 3 * 12 + 2 * 36 + 36  # three providers 09-12, two rooms and a device 08-17, on 15 minutes


def book(env: Cadence, provider: str, local: str, visit: str = "NEW30", patient: int = 0, **extra: object):
    request = BookingRequest(patient=env.patients[patient], visit_type=visit, slot=env.slot(provider, local)["id"],
                             **extra)
    return book_appointment(env.clinic, request, actor=STAFF)


def test_setup_is_declarative_and_slot_generation_idempotent(cadence: Cadence) -> None:
    env = cadence
    again = set_up_department(env.clinic, setup_request(), actor=STAFF)
    assert again.as_json() == env.dept.as_json()
    assert [env.count(t) for t in ("Organization", "Practitioner", "PractitionerRole", "Schedule", "Device",
                                   "ActivityDefinition")] == [1, 3, 3, 6, 1, 4]
    assert env.count("Location") == 3  # the department and two rooms
    assert env.count("Slot") == 3 * SLOTS_PER_DAY
    report = generate_slots(env.clinic, env.dept.id, SlotGeneration(start=MONDAY, end=WEDNESDAY), actor=STAFF)
    assert (report.created, report.unchanged) == (0, 3 * SLOTS_PER_DAY)
    assert env.count("Slot") == 3 * SLOTS_PER_DAY

    # Blocked time: P1 on Monday 10:00-11:00 local.
    off = TimeOff(start="2030-03-04T10:00:00-05:00", end="2030-03-04T11:00:00-05:00", reason="meeting")
    assert add_time_off(env.clinic, env.role("P1"), off, actor=STAFF).blocked == 4
    assert env.slot("P1", "2030-03-04T10:15")["status"] == "busy-unavailable"
    assert env.slot("P1", "2030-03-04T11:00")["status"] == "free"
    beyond = TimeOff(start="2030-03-08T09:00:00-05:00", end="2030-03-08T10:00:00-05:00")  # no slots that Friday
    assert add_time_off(env.clinic, env.role("P1"), beyond, actor=STAFF).created == 0

    # A holiday on Tuesday, with a visit already booked on Wednesday that a later closure hits.
    booked = book(env, "P1", "2030-03-06T09:00")
    holiday = setup_request(closures=[{"start": "2030-03-05T00:00:00-05:00", "end": "2030-03-07T00:00:00-05:00",
                                       "reason": "holiday"}])
    set_up_department(env.clinic, holiday, actor=STAFF)
    report = generate_slots(env.clinic, env.dept.id, SlotGeneration(start=TUESDAY, end=WEDNESDAY), actor=STAFF)
    held = AppointmentView.of(booked).slot_ids
    assert sorted(report.booked_outside_template) == sorted(held)
    assert report.blocked == 2 * SLOTS_PER_DAY - len(held)
    assert env.slot("R1", "2030-03-05T08:00")["status"] == "busy-unavailable"
    assert env.chronicle.read("Slot", held[0]).resource["status"] == "busy"  # never touched
    set_up_department(env.clinic, setup_request(), actor=STAFF)  # the holiday is called off
    report = generate_slots(env.clinic, env.dept.id, SlotGeneration(start=TUESDAY, end=WEDNESDAY), actor=STAFF)
    assert report.reopened == 2 * SLOTS_PER_DAY - len(held) and not report.booked_outside_template
    assert env.count("Slot") == 3 * SLOTS_PER_DAY


def test_availability_by_department_provider_visit_type_and_resources(cadence: Cadence) -> None:
    env = cadence
    options = find_availability(env.clinic, env.dept.id, "FU15", MONDAY, WEDNESDAY, limit=6, actor=STAFF)
    nine = datetime(2030, 3, 4, 14, 0, tzinfo=UTC)
    assert [(o.start, o.provider_name) for o in options[:3]] == [(nine, "Halsted"), (nine, "Kelly"),
                                                                  (nine, "William Osler")]
    assert len(options) == 6
    new = find_availability(env.clinic, env.dept.id, "NEW30", MONDAY, MONDAY, limit=500, actor=STAFF)
    assert {o.provider_name for o in new} == {"Kelly", "William Osler"}  # P2 does not offer NEW30
    assert len(new) == 2 * 11  # 30 minutes fit at 11 of the 12 quarter hours of 09:00-12:00
    only_p1 = find_availability(env.clinic, env.dept.id, "NEW30", MONDAY, MONDAY, provider_role=env.role("P1"),
                                limit=500, actor=STAFF)
    assert {o.provider_role for o in only_p1} == {env.role("P1")} and len(only_p1) == 11
    assert find_availability(env.clinic, env.dept.id, "NEW30", MONDAY, MONDAY, provider_role=env.role("P2"),
                             actor=STAFF) == []

    # Both rooms taken at 09:00: nobody can be seen in a room then; a video visit still can.
    book(env, "P1", "2030-03-04T09:00", "FU15", 0)
    book(env, "P2", "2030-03-04T09:00", "FU15", 1)
    first = find_availability(env.clinic, env.dept.id, "FU15", MONDAY, MONDAY, limit=1, actor=STAFF)[0]
    assert first.start == datetime(2030, 3, 4, 14, 15, tzinfo=UTC)
    video = find_availability(env.clinic, env.dept.id, "TELE15", MONDAY, MONDAY, limit=1, actor=STAFF)[0]
    assert (video.start, video.provider_name) == (datetime(2030, 3, 4, 14, 0, tzinfo=UTC), "Kelly")
    # One ECG cart: ECG visits at one time for one provider only.
    book(env, "P3", "2030-03-04T10:00", "ECG30", 2)
    ecg = find_availability(env.clinic, env.dept.id, "ECG30", MONDAY, MONDAY, limit=500, actor=STAFF)
    assert not [o for o in ecg if datetime(2030, 3, 4, 14, 45, tzinfo=UTC) <= o.start <=
                datetime(2030, 3, 4, 15, 15, tzinfo=UTC)]

    env.clock.moment = datetime(2030, 3, 4, 16, 20, tzinfo=UTC)  # 11:20 local: the morning is almost over
    late = find_availability(env.clinic, env.dept.id, "FU15", MONDAY, TUESDAY, limit=500, actor=STAFF)
    assert min(o.start for o in late) == datetime(2030, 3, 4, 16, 30, tzinfo=UTC)
    assert max(o.start for o in late).date() == TUESDAY

    with pytest.raises(Forbidden):
        find_availability(env.clinic, env.dept.id, "NEW30", MONDAY, MONDAY, acting_patient=env.patients[0])
    with pytest.raises(UnknownReference, match="visit type"):
        find_availability(env.clinic, env.dept.id, "NOPE", MONDAY, MONDAY)
    with pytest.raises(UnknownReference, match="provider"):
        find_availability(env.clinic, env.dept.id, "FU15", MONDAY, MONDAY, provider_role="nobody")
    with pytest.raises(UnknownReference, match="department"):
        find_availability(env.clinic, "nowhere", "FU15", MONDAY, MONDAY)
    with pytest.raises(BadRequest, match="before start"):
        find_availability(env.clinic, env.dept.id, "FU15", TUESDAY, MONDAY)


def test_booking_takes_provider_room_and_equipment_slots_together_or_not_at_all(cadence: Cadence) -> None:
    env = cadence
    stored = book(env, "P1", "2030-03-04T09:00", "ECG30", comment="palpitations")
    view = AppointmentView.of(stored)
    assert view.status == "booked" and view.visit_type == "ECG30" and view.department == "CARD"
    assert (view.start, view.end) == (datetime(2030, 3, 4, 14, 0, tzinfo=UTC), datetime(2030, 3, 4, 14, 30, tzinfo=UTC))
    assert view.patient_id == env.patients[0] and view.provider_role_id == env.role("P1")
    assert view.room_id == appointment_room(stored.resource) and view.room_id is not None
    assert len(view.device_ids) == 1 and len(view.slot_ids) == 6  # 2 provider + 2 room + 2 device slots
    assert {env.chronicle.read("Slot", s).resource["status"] for s in view.slot_ids} == {"busy"}

    appointments = env.count("Appointment")
    with pytest.raises(SlotTaken, match="already taken"):
        book(env, "P1", "2030-03-04T09:00", "FU15", 1)
    with pytest.raises(SlotTaken, match="already taken"):  # the second quarter of the booked half hour
        book(env, "P1", "2030-03-04T09:15", "FU15", 1)
    with pytest.raises(SlotTaken, match="equipment"):  # the only ECG cart is in use
        book(env, "P3", "2030-03-04T09:15", "ECG30", 1)
    with pytest.raises(SlotTaken, match="whole 30 minutes"):  # the template ends at 12:00
        book(env, "P3", "2030-03-04T11:45", "NEW30", 1)
    with pytest.raises(NotBookable, match="does not offer"):
        book(env, "P2", "2030-03-04T10:00", "NEW30", 1)
    room_slot = env.slot("R2", "2030-03-04T10:00")["id"]
    with pytest.raises(NotBookable, match="not a provider's slot"):
        book_appointment(env.clinic, BookingRequest(patient=env.patients[1], visit_type="FU15", slot=room_slot))
    with pytest.raises(UnknownReference, match="Patient/ghost"):
        book_appointment(env.clinic, BookingRequest(patient="ghost", visit_type="FU15",
                                                    slot=env.slot("P3", "2030-03-04T10:00")["id"]))
    with pytest.raises(UnknownReference, match="Slot/ghost"):
        book_appointment(env.clinic, BookingRequest(patient=env.patients[1], visit_type="FU15", slot="ghost"))
    with pytest.raises(UnknownReference, match="visit type"):
        book(env, "P3", "2030-03-04T10:00", "GHOST", 1)
    env.clock.moment = datetime(2030, 3, 4, 15, 5, tzinfo=UTC)
    with pytest.raises(NotBookable, match="in the past"):
        book(env, "P3", "2030-03-04T10:00", "FU15", 1)
    assert env.count("Appointment") == appointments  # nothing was written by any refusal

    # Self-scheduling: only one's own record, only visit types open to patients.
    own = BookingRequest(patient=env.patients[1], visit_type="FU15", slot=env.slot("P3", "2030-03-04T11:00")["id"])
    with pytest.raises(Forbidden, match="own record"):
        book_appointment(env.clinic, own, acting_patient=env.patients[2])
    with pytest.raises(Forbidden, match="cannot be booked by patients"):
        book_appointment(env.clinic, own.model_copy(update={"visit_type": "NEW30"}), acting_patient=env.patients[1])
    assert AppointmentView.of(book_appointment(env.clinic, own, acting_patient=env.patients[1])).patient_id == \
        env.patients[1]
    with pytest.raises(UnknownReference, match="not a room"):
        book(env, "P3", "2030-03-05T09:00", "FU15", 1, room="elsewhere")
    second_room = env.dept.of_kind("room")[1].actor_id
    assert AppointmentView.of(book(env, "P3", "2030-03-05T09:00", "FU15", 1, room=second_room)).room_id == second_room


def test_cancel_frees_and_reschedule_moves_atomically(cadence: Cadence) -> None:
    env = cadence
    first = book(env, "P1", "2030-03-04T09:00")
    old = AppointmentView.of(first)
    cancelled = cancel_appointment(env.clinic, first.res_id, CancelRequest(reason="feeling better"), actor=STAFF)
    assert cancelled.resource["status"] == "cancelled"
    assert cancelled.resource["cancelationReason"]["text"] == "feeling better"
    assert {env.chronicle.read("Slot", s).resource["status"] for s in old.slot_ids} == {"free"}
    with pytest.raises(WrongState):
        cancel_appointment(env.clinic, first.res_id, actor=STAFF)

    # Moving by a quarter hour shares a slot with the old time: 09:00 freed, 09:30 taken, 09:15 kept.
    second = AppointmentView.of(book(env, "P1", "2030-03-04T09:00"))
    moved = AppointmentView.of(reschedule_appointment(
        env.clinic, second.id, RescheduleRequest(slot=env.slot("P1", "2030-03-04T09:15")["id"]), actor=STAFF))
    assert moved.id == second.id and moved.start == datetime(2030, 3, 4, 14, 15, tzinfo=UTC)
    assert env.slot("P1", "2030-03-04T09:00")["status"] == "free"
    assert env.slot("P1", "2030-03-04T09:30")["status"] == "busy"
    assert moved.room_id == second.room_id  # its room was still free at the new time and is kept

    # A move onto a taken time changes nothing at all.
    book(env, "P3", "2030-03-04T10:00", "NEW30", 1)
    before = env.chronicle.read("Appointment", second.id)
    with pytest.raises(SlotTaken):
        reschedule_appointment(env.clinic, second.id, RescheduleRequest(slot=env.slot("P3", "2030-03-04T10:15")["id"]))
    assert env.chronicle.read("Appointment", second.id).version == before.version
    assert {env.chronicle.read("Slot", s).resource["status"] for s in moved.slot_ids} == {"busy"}
    with pytest.raises(Forbidden):
        reschedule_appointment(env.clinic, second.id, RescheduleRequest(slot=env.slot("P1", "2030-03-04T11:00")["id"]),
                               acting_patient=env.patients[2])
    with pytest.raises(Forbidden):
        cancel_appointment(env.clinic, second.id, acting_patient=env.patients[2])


def test_day_of_visit_lookups_and_statuses(cadence: Cadence) -> None:
    env = cadence
    monday = AppointmentView.of(book(env, "P1", "2030-03-04T10:00"))
    tuesday = AppointmentView.of(book(env, "P1", "2030-03-05T10:00"))
    today = todays_appointment(env.clinic, env.patients[0], actor=STAFF)
    assert today is not None and today.id == monday.id and today.room_id == monday.room_id
    assert [a.id for a in appointments_on(env.clinic, env.patients[0], TUESDAY)] == [tuesday.id]
    assert todays_appointment(env.clinic, env.patients[1]) is None
    assert mark_arrived(env.clinic, monday.id, actor=STAFF).resource["status"] == "arrived"
    with pytest.raises(WrongState):
        mark_no_show(env.clinic, monday.id)  # arrived patients are not no-shows
    with pytest.raises(WrongState, match="day of the visit"):
        mark_no_show(env.clinic, tuesday.id)
    env.clock.moment = datetime(2030, 3, 5, 17, 0, tzinfo=UTC)
    assert mark_no_show(env.clinic, tuesday.id, actor=STAFF).resource["status"] == "noshow"
    assert {env.chronicle.read("Slot", s).resource["status"] for s in tuesday.slot_ids} == {"busy"}
    assert appointments_on(env.clinic, env.patients[0], TUESDAY) == []  # no longer active


def test_waitlist_offers_a_freed_slot_once_to_the_first_who_fits(cadence: Cadence) -> None:
    env = cadence
    reactor = Reactor(env.chronicle)
    register_waitlist(reactor, env.clinic)
    taken = book(env, "P1", "2030-03-04T09:00", "NEW30", 0)
    reactor.run_once()  # slot generation and the booking offer nothing
    waiting_p2 = add_to_waitlist(env.clinic, WaitlistRequest(
        patient=env.patients[1], department=env.dept.id, visit_type="FU15", earliest=MONDAY, latest=MONDAY,
        provider=env.role("P2")), actor=STAFF)
    first = add_to_waitlist(env.clinic, WaitlistRequest(
        patient=env.patients[1], department=env.dept.id, visit_type="NEW30", earliest=MONDAY, latest=TUESDAY))
    second = add_to_waitlist(env.clinic, WaitlistRequest(
        patient=env.patients[2], department=env.dept.id, visit_type="FU15", earliest=MONDAY, latest=MONDAY))
    with pytest.raises(Forbidden):
        add_to_waitlist(env.clinic, WaitlistRequest(patient=env.patients[2], department=env.dept.id,
                                                    visit_type="FU15", earliest=MONDAY, latest=MONDAY),
                        acting_patient=env.patients[1])
    assert reactor.run_once() == 0 and env.count("Task") == 0

    cancel_appointment(env.clinic, taken.res_id, actor=STAFF)  # frees P1 09:00 and 09:15
    reactor.run_once()
    offers = {o.resource["basedOn"][0]["reference"]: o
              for o in env.chronicle.search("Task", [("code", "urn:osler:cadence|waitlist-offer")]).matches}
    # First come, first served, one open offer per entry; P2's waiter does not fit P1's slots.
    assert set(offers) == {f"Appointment/{first.res_id}", f"Appointment/{second.res_id}"}
    first_offer, second_offer = offers[f"Appointment/{first.res_id}"], offers[f"Appointment/{second.res_id}"]
    assert first_offer.resource["focus"]["reference"] == f"Slot/{env.slot('P1', '2030-03-04T09:00')['id']}"
    assert second_offer.resource["focus"]["reference"] == f"Slot/{env.slot('P1', '2030-03-04T09:15')['id']}"
    assert first_offer.resource["for"]["reference"] == f"Patient/{env.patients[1]}"
    changes = [c for c in env.chronicle.changes_since(0, 100_000) if c.res_type == "Slot" and c.op == "update"]
    for change in changes:  # a replayed feed (at-least-once delivery) makes no second offer
        offer_freed_slot(env.clinic, change)
    assert env.count("Task") == 2

    with pytest.raises(Forbidden):
        accept_offer(env.clinic, first_offer.res_id, acting_patient=env.patients[2])
    booked = AppointmentView.of(accept_offer(env.clinic, first_offer.res_id, acting_patient=env.patients[1]))
    assert booked.id == first.res_id and booked.status == "booked"
    assert booked.start == datetime(2030, 3, 4, 14, 0, tzinfo=UTC)
    assert env.chronicle.read("Task", first_offer.res_id).resource["status"] == "completed"
    with pytest.raises(WrongState):
        accept_offer(env.clinic, first_offer.res_id)
    with pytest.raises(SlotTaken):  # an offer is not a reservation: the 30-minute visit took 09:15 too
        accept_offer(env.clinic, second_offer.res_id, acting_patient=env.patients[2])
    decline_offer(env.clinic, second_offer.res_id, acting_patient=env.patients[2])

    cancel_appointment(env.clinic, booked.id, actor=STAFF)
    reactor.run_once()
    requested = env.chronicle.search("Task", [("status", "requested")]).matches
    assert [(o.resource["basedOn"][0]["reference"], o.resource["focus"]["reference"]) for o in requested] == [
        (f"Appointment/{second.res_id}", f"Slot/{env.slot('P1', '2030-03-04T09:00')['id']}")]
    decline_offer(env.clinic, requested[0].res_id, acting_patient=env.patients[2])
    assert env.chronicle.search("Task", [("status", "requested")]).matches == []  # nobody else fits
    assert env.chronicle.read("Appointment", waiting_p2.res_id).resource["status"] == "waitlist"
