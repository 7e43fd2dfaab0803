"""Cadence: turning templates into ``Slot``s over a horizon, idempotently.

For each Schedule of a department, the slots its template wants in the range are compared with the
slots already stored there; only the difference is written:

* a wanted slot that does not exist is created ``free``, with the id ``<schedule id>-<start>`` (so that
  a slot is found by id from its schedule and time) and the identifier ``<schedule id>/<start>``;
* a ``free`` slot the template no longer wants (new blocked time, a holiday, shorter hours) becomes
  ``busy-unavailable`` — kept, so that the schedule shows it as blocked, and reopened if the block goes;
* a booked (``busy``) slot the template no longer wants is left alone and reported, for staff to move.

Writes go in transactions of at most ``CHUNK`` entries, each also updating the Schedule (its
``planningHorizon``) with ``ifMatch``: two generators racing on one schedule cannot both write — the
loser's transaction fails whole, and it plans again from what the winner stored. Regenerating the
same range therefore writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from osler.apps.scheduling import vocabulary as v
from osler.apps.scheduling.context import Clinic, compact, instant, parse_instant
from osler.apps.scheduling.directory import (
    ScheduleInfo,
    department_code,
    department_schedules,
    read_known,
    search_all,
)
from osler.apps.scheduling.requests import SlotGeneration, TimeOff
from osler.apps.scheduling.templates import (
    Interval,
    blocks_from_available_time,
    blocks_from_hours,
    days_between,
    period_interval,
    slot_times,
)
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import Conflict, Gone, NotFound, VersionConflict

CHUNK = 500
ATTEMPTS = 4


@dataclass
class GenerationReport:
    created: int = 0
    blocked: int = 0  # free → busy-unavailable
    reopened: int = 0  # busy-unavailable → free
    unchanged: int = 0
    booked_outside_template: list[str] = field(default_factory=list)  # Slot ids

    def add(self, other: GenerationReport) -> None:
        self.created += other.created
        self.blocked += other.blocked
        self.reopened += other.reopened
        self.unchanged += other.unchanged
        self.booked_outside_template += other.booked_outside_template

    def as_json(self) -> dict[str, Any]:
        return {"created": self.created, "blocked": self.blocked, "reopened": self.reopened,
                "unchanged": self.unchanged, "booked_outside_template": self.booked_outside_template}


def slot_identifier(schedule_id: str, start_utc: Any) -> str:
    return f"{schedule_id}/{compact(start_utc)}"


def slot_id(schedule_id: str, start_utc: Any) -> str:
    """The Slot's FHIR id, derived from its schedule and start: whoever needs "the slot of this schedule at
    this time" (a longer visit's next slot, a room at the same time) reads it by id instead of searching."""
    candidate = f"{schedule_id}-{compact(start_utc)}"
    if len(candidate) <= 64:
        return candidate
    return hashlib.sha256(candidate.encode()).hexdigest()[:64]


def read_slot(clinic: Clinic, schedule_id: str, start: datetime, actor: Actor) -> Stored | None:
    """The Slot of a schedule at a start time (its id says which), or None."""
    try:
        return clinic.chronicle.read("Slot", slot_id(schedule_id, start), actor=actor)
    except (NotFound, Gone):
        return None


def generate_slots(clinic: Clinic, department_id: str, horizon: SlotGeneration, *, actor: Actor = SYSTEM,
                   schedule_ids: Iterable[str] | None = None) -> GenerationReport:
    """Bring the Slots of a department's Schedules (or only ``schedule_ids``) in line with their templates."""
    code, _ = department_code(clinic, department_id, actor=actor)
    location = _department_location(clinic, code, actor)
    hours = blocks_from_hours(location.get("hoursOfOperation") or [])
    closures = [period_interval(_nested_value(item, "period", "valuePeriod"))
                for item in location.get("extension") or [] if item.get("url") == v.CLOSURE_EXT]
    wanted_ids = set(schedule_ids) if schedule_ids is not None else None
    days = days_between(horizon.start, horizon.end)
    report = GenerationReport()
    for schedule in department_schedules(clinic, code, actor=actor):
        if wanted_ids is not None and schedule.id not in wanted_ids:
            continue
        blocks, exceptions = hours, list(closures)
        if schedule.kind == v.PROVIDER:
            role = clinic.chronicle.read("PractitionerRole", schedule.actor_id, actor=actor).resource
            blocks = blocks_from_available_time(role.get("availableTime") or []) if role.get("active", True) else []
            exceptions += [period_interval(item.get("during")) for item in role.get("notAvailable") or []]
        elif schedule.kind == v.ROOM:
            room = clinic.chronicle.read("Location", schedule.actor_id, actor=actor).resource
            if room.get("hoursOfOperation"):
                blocks = blocks_from_hours(room["hoursOfOperation"])
        wanted = slot_times(clinic.zone, days, blocks, schedule.slot_minutes, exceptions)
        report.add(_sync_schedule(clinic, schedule, wanted, horizon, actor))
    return report


def add_time_off(clinic: Clinic, role_id: str, time_off: TimeOff, *, actor: Actor = SYSTEM) -> GenerationReport:
    """Block a provider's time (``PractitionerRole.notAvailable``) and block the free slots it covers."""
    role = read_known(clinic, "PractitionerRole", role_id, actor=actor, what="provider")
    resource = dict(role.resource)
    resource["notAvailable"] = [*(resource.get("notAvailable") or []), {
        "description": time_off.reason, "during": {"start": instant(time_off.start), "end": instant(time_off.end)}}]
    try:
        clinic.chronicle.update("PractitionerRole", role_id, resource, actor=actor, if_match=role.etag)
    except VersionConflict:
        raise Conflict(f"PractitionerRole/{role_id} changed meanwhile: try again") from None
    code, organization_id = _role_department(clinic, resource, actor)
    report = GenerationReport()
    for schedule in department_schedules(clinic, code, actor=actor, kind=v.PROVIDER):
        if schedule.actor_id != role_id:
            continue
        # Only the days slots were generated for: blocking time must not create slots beyond the horizon.
        generated = clinic.chronicle.read("Schedule", schedule.id, actor=actor).resource.get("planningHorizon")
        if not generated:
            continue
        first = max(clinic.local_day(time_off.start), clinic.local_day(parse_instant(generated["start"])))
        last = min(clinic.local_day(time_off.end), clinic.local_day(parse_instant(generated["end"]) - timedelta(
            microseconds=1)))
        if first <= last:
            report.add(generate_slots(clinic, organization_id, SlotGeneration(start=first, end=last), actor=actor,
                                      schedule_ids=[schedule.id]))
    return report


def _nested_value(extension: dict[str, Any], url: str, key: str) -> Any:
    for item in extension.get("extension") or []:
        if item.get("url") == url:
            return item.get(key)
    return None


def _role_department(clinic: Clinic, role: dict[str, Any], actor: Actor) -> tuple[str, str]:
    organization_id = v.reference_id(role.get("organization"), "Organization") or ""
    code, _ = department_code(clinic, organization_id, actor=actor)
    return code, organization_id


def _department_location(clinic: Clinic, code: str, actor: Actor) -> dict[str, Any]:
    found = clinic.chronicle.search("Location", [("identifier", f"{v.DEPARTMENT_LOCATION_ID}|{code}")],
                                    actor=actor).matches
    return found[0].resource if found else {}


def _existing(clinic: Clinic, schedule_id: str, first: Any, end: Any, actor: Actor) -> dict[str, Stored]:
    params = [("schedule", f"Schedule/{schedule_id}"), ("start", f"ge{instant(first)}"), ("start", f"lt{instant(end)}")]
    return {instant(parse_instant(s.resource["start"])): s
            for s in search_all(clinic, "Slot", params, actor=actor)}


def _sync_schedule(clinic: Clinic, schedule: ScheduleInfo, wanted: list[Interval], horizon: SlotGeneration,
                   actor: Actor) -> GenerationReport:
    first, _ = clinic.day_bounds(horizon.start)
    _, end = clinic.day_bounds(horizon.end)
    for _attempt in range(ATTEMPTS):
        stored = clinic.chronicle.read("Schedule", schedule.id, actor=actor)
        existing = _existing(clinic, schedule.id, first, end, actor)
        report, writes = _plan(clinic, schedule, wanted, existing)
        if not writes:
            return report
        try:
            for start in range(0, len(writes), CHUNK):
                stored = _write_chunk(clinic, stored, writes[start:start + CHUNK], first, end, actor)
            return report
        except VersionConflict:
            continue  # another generator or a booking got there first: plan again from what is stored
    raise Conflict(f"the slots of Schedule/{schedule.id} kept changing during generation; try again")


def _plan(clinic: Clinic, schedule: ScheduleInfo, wanted: list[Interval],
          existing: dict[str, Stored]) -> tuple[GenerationReport, list[dict[str, Any]]]:
    report = GenerationReport()
    writes: list[dict[str, Any]] = []
    wanted_keys = set()
    for slot in wanted:
        key = instant(slot.start)
        wanted_keys.add(key)
        current = existing.get(key)
        if current is None:
            resource = new_slot(clinic, schedule, slot)
            writes.append({"request": {"method": "PUT", "url": f"Slot/{resource['id']}"}, "resource": resource})
            report.created += 1
        elif current.resource.get("status") == "busy-unavailable":
            writes.append(_status_change(current, "free"))
            report.reopened += 1
        else:
            report.unchanged += 1
    for key, current in existing.items():
        if key in wanted_keys:
            continue
        status = current.resource.get("status")
        if status == "free":
            writes.append(_status_change(current, "busy-unavailable"))
            report.blocked += 1
        elif status == "busy":
            report.booked_outside_template.append(current.res_id)
    return report, writes


def new_slot(clinic: Clinic, schedule: ScheduleInfo, slot: Interval) -> dict[str, Any]:
    local = slot.start.astimezone(clinic.zone)
    return {"resourceType": "Slot", "id": slot_id(schedule.id, slot.start),
            "meta": {"tag": [v.hour_tag(schedule.kind, schedule.department, local.date(), local.hour)]},
            "identifier": [v.identifier(v.SLOT_ID, slot_identifier(schedule.id, slot.start))],
            "schedule": v.reference("Schedule", schedule.id), "status": "free",
            "start": instant(slot.start), "end": instant(slot.end)}


def _status_change(current: Stored, status: str) -> dict[str, Any]:
    return {"request": {"method": "PUT", "url": f"Slot/{current.res_id}", "ifMatch": current.etag},
            "resource": {**current.resource, "status": status}}


def _write_chunk(clinic: Clinic, schedule: Stored, writes: list[dict[str, Any]], first: Any, end: Any,
                 actor: Actor) -> Stored:
    resource = dict(schedule.resource)
    horizon = resource.get("planningHorizon") or {}
    starts = [s for s in (horizon.get("start"), instant(first)) if s]
    ends = [e for e in (horizon.get("end"), instant(end)) if e]
    resource["planningHorizon"] = {"start": min(starts, key=parse_instant), "end": max(ends, key=parse_instant)}
    entries = [{"request": {"method": "PUT", "url": f"Schedule/{schedule.res_id}", "ifMatch": schedule.etag},
                "resource": resource}, *writes]
    results = clinic.chronicle.transact(entries, actor=actor)
    assert results[0].stored is not None
    return results[0].stored
