"""Cadence: appointments as the rest of the clinic sees them — lookups and day-of-visit statuses.

What check-in and the workspace need: a patient's appointments of a day (``appointments_on``,
``todays_appointment``), an ``AppointmentView`` with the provider, room and equipment already picked
out of the participants (``appointment_room``), and the status changes of the visit day (arrived,
checked-in, no-show, fulfilled) with the transitions R4 allows. A no-show keeps its slots busy: the
time was held for the patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from osler.apps.scheduling import vocabulary as v
from osler.apps.scheduling.booking import held_slot_ids, patient_of
from osler.apps.scheduling.context import Clinic, WrongState, instant, parse_instant
from osler.apps.scheduling.directory import search_all
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import Conflict, VersionConflict

ACTIVE = ("booked", "arrived", "checked-in")
# The statuses a day-of-visit change may come from (cancelling and rescheduling live in ``booking``).
TRANSITIONS = {
    "arrived": {"booked", "pending", "checked-in"},
    "checked-in": {"booked", "pending", "arrived"},
    "noshow": {"booked", "pending"},
    "fulfilled": {"booked", "arrived", "checked-in"},
}


@dataclass(frozen=True)
class AppointmentView:
    id: str
    version: int
    etag: str
    status: str
    start: datetime | None
    end: datetime | None
    patient_id: str | None
    practitioner_id: str | None
    provider_role_id: str | None
    provider_name: str | None
    room_id: str | None
    room_name: str | None
    device_ids: tuple[str, ...]
    visit_type: str | None
    department: str | None
    slot_ids: tuple[str, ...]

    @classmethod
    def of(cls, stored: Stored) -> AppointmentView:
        resource = stored.resource
        actors = [p.get("actor") or {} for p in resource.get("participant") or []]
        role = next((a for a in actors if v.reference_id(a, "PractitionerRole")), {})
        room = next((a for a in actors if v.reference_id(a, "Location")), {})
        return cls(
            id=stored.res_id, version=stored.version, etag=stored.etag, status=resource.get("status", ""),
            start=parse_instant(resource["start"]) if resource.get("start") else None,
            end=parse_instant(resource["end"]) if resource.get("end") else None,
            patient_id=patient_of(resource),
            practitioner_id=next((i for a in actors if (i := v.reference_id(a, "Practitioner"))), None),
            provider_role_id=v.reference_id(role, "PractitionerRole"), provider_name=role.get("display"),
            room_id=v.reference_id(room, "Location"), room_name=room.get("display"),
            device_ids=tuple(i for a in actors if (i := v.reference_id(a, "Device"))),
            visit_type=v.visit_type_code(resource), department=v.tag_code(resource, v.DEPARTMENT_TAG),
            slot_ids=tuple(held_slot_ids(resource)))

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "status": self.status,
                "start": instant(self.start) if self.start else None, "end": instant(self.end) if self.end else None,
                "patient": self.patient_id, "practitioner": self.practitioner_id,
                "provider_role": self.provider_role_id, "provider_name": self.provider_name, "room": self.room_id,
                "room_name": self.room_name, "devices": list(self.device_ids), "visit_type": self.visit_type,
                "department": self.department, "slots": list(self.slot_ids)}


def appointment_room(appointment: dict[str, Any]) -> str | None:
    """The id of the room (Location) an Appointment takes, or None (telehealth, not yet roomed)."""
    for participant in appointment.get("participant") or []:
        room = v.reference_id(participant.get("actor"), "Location")
        if room:
            return room
    return None


def appointments_on(clinic: Clinic, patient_id: str, day: date | None = None, *, actor: Actor = SYSTEM,
                    statuses: tuple[str, ...] = ACTIVE) -> list[AppointmentView]:
    """A patient's appointments starting on a clinic-local day (default today), in time order."""
    first, end = clinic.day_bounds(day or clinic.today())
    params = [("patient", f"Patient/{patient_id}"), ("date", f"ge{instant(first)}"), ("date", f"lt{instant(end)}")]
    if statuses:
        params.append(("status", ",".join(statuses)))
    found = [AppointmentView.of(s) for s in search_all(clinic, "Appointment", params, actor=actor)]
    return sorted(found, key=lambda a: (a.start or first, a.id))


def todays_appointment(clinic: Clinic, patient_id: str, *, actor: Actor = SYSTEM) -> AppointmentView | None:
    """The patient's next active appointment today: the first not yet over, else the last of the day."""
    found = appointments_on(clinic, patient_id, actor=actor)
    if not found:
        return None
    now = clinic.now()
    return next((a for a in found if a.end is None or a.end > now), found[-1])


def set_appointment_status(clinic: Clinic, appointment_id: str, status: str, *, actor: Actor = SYSTEM,
                           if_match: str | None = None) -> Stored:
    """Move an appointment to ``status`` (arrived, checked-in, noshow, fulfilled) if R4's workflow allows."""
    if status not in TRANSITIONS:
        raise WrongState(f"status {status!r} is not set this way; cancel or reschedule through booking")
    current = clinic.chronicle.read("Appointment", appointment_id, actor=actor)
    before = current.resource.get("status")
    if before == status:
        return current
    if before not in TRANSITIONS[status]:
        raise WrongState(f"Appointment/{appointment_id} is {before}: it cannot become {status}")
    if status == "noshow":
        start = current.resource.get("start")
        day = clinic.local_day(parse_instant(start)) if start else None
        if day is None or day > clinic.today():
            raise WrongState(f"Appointment/{appointment_id} is on {day}: a no-show can be recorded on the day "
                             "of the visit or later")
    try:
        return clinic.chronicle.update("Appointment", appointment_id, {**current.resource, "status": status},
                                       actor=actor, if_match=if_match or current.etag).stored
    except VersionConflict:
        raise Conflict(f"Appointment/{appointment_id} was changed by someone else meanwhile; reload it") from None


def mark_arrived(clinic: Clinic, appointment_id: str, *, actor: Actor = SYSTEM) -> Stored:
    return set_appointment_status(clinic, appointment_id, "arrived", actor=actor)


def mark_checked_in(clinic: Clinic, appointment_id: str, *, actor: Actor = SYSTEM) -> Stored:
    return set_appointment_status(clinic, appointment_id, "checked-in", actor=actor)


def mark_no_show(clinic: Clinic, appointment_id: str, *, actor: Actor = SYSTEM) -> Stored:
    return set_appointment_status(clinic, appointment_id, "noshow", actor=actor)


def mark_fulfilled(clinic: Clinic, appointment_id: str, *, actor: Actor = SYSTEM) -> Stored:
    return set_appointment_status(clinic, appointment_id, "fulfilled", actor=actor)
