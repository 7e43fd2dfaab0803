"""Cadence: finding bookable times by department, visit type, provider and date range.

The query path is built for departments of tens of thousands of Slots: one clinic-local day at a
time, ``Slot?_tag=provider-day|<DEPT>/<day>&status=free`` reads that day's free provider slots
straight from the token index (the tag is the department-day key ``slots`` writes), and — only when
some provider is free and the visit type needs a room or equipment — one more such query reads the
day's free room and device slots. Everything else (consecutive slots for longer visits, a free room
at the same times, who offers the visit type) is worked out in memory from those two reads and the
department's Schedules. The walk stops as soon as ``limit`` options are found, so "the first free
times from tomorrow" costs a day or two of reads, not the whole range.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from osler.apps.scheduling import vocabulary as v
from osler.apps.scheduling.context import Clinic, Forbidden, UnknownReference, instant, parse_instant
from osler.apps.scheduling.directory import (
    ScheduleInfo,
    VisitType,
    department_code,
    department_schedules,
    search_all,
    visit_type,
)
from osler.apps.scheduling.templates import days_between
from osler.chronicle.records import SYSTEM, Actor
from osler.fhir.outcome import BadRequest

MAX_DAYS = 92
MAX_LIMIT = 500


@dataclass(frozen=True)
class Option:
    """One bookable start: book it by passing ``slot`` (the provider's first slot) and the visit type."""

    start: datetime
    end: datetime
    slot: str
    provider_role: str
    practitioner: str | None
    provider_name: str | None
    rooms_free: int | None  # how many rooms of the needed type are free then (None: no room needed)

    def as_json(self, clinic: Clinic) -> dict[str, Any]:
        return {"start": instant(self.start), "end": instant(self.end),
                "start_local": self.start.astimezone(clinic.zone).isoformat(), "slot": self.slot,
                "provider_role": self.provider_role, "practitioner": self.practitioner,
                "provider_name": self.provider_name, "rooms_free": self.rooms_free}


@dataclass(frozen=True)
class _Free:
    start: datetime
    end: datetime
    slot_id: str


def find_availability(clinic: Clinic, department_id: str, visit_type_code: str, first_day: date, last_day: date, *,
                      provider_role: str | None = None, limit: int = 50, actor: Actor = SYSTEM,
                      acting_patient: str | None = None) -> list[Option]:
    """The earliest bookable starts (up to ``limit``) of a visit type in a department between two clinic-local
    days (inclusive), optionally with one provider (``PractitionerRole`` id); in time order."""
    if last_day < first_day:
        raise BadRequest(f"end {last_day} is before start {first_day}")
    if (last_day - first_day).days >= MAX_DAYS:
        raise BadRequest(f"search at most {MAX_DAYS} days at a time")
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    visit = visit_type(clinic, visit_type_code, actor=actor)
    if acting_patient is not None and not visit.patient_bookable:
        raise Forbidden(f"visit type {visit.code!r} cannot be booked by patients; call the clinic")
    code, _ = department_code(clinic, department_id, actor=actor)
    schedules = department_schedules(clinic, code, actor=actor)
    providers = {s.id: s for s in schedules if s.kind == v.PROVIDER and s.offers(visit.code)
                 and (provider_role is None or s.actor_id == provider_role)}
    if provider_role is not None and not providers:
        if not any(s.kind == v.PROVIDER and s.actor_id == provider_role for s in schedules):
            raise UnknownReference(f"PractitionerRole/{provider_role} is not a provider of department {code}")
        return []  # the provider does not offer this visit type
    needs = ([(v.ROOM, visit.room_type)] if visit.room_type else []) + [(v.DEVICE, kind) for kind in visit.equipment]
    resources = {s.id: s for s in schedules if (s.kind, s.resource_type) in needs}
    now = clinic.now()
    options: list[Option] = []
    for day in days_between(max(first_day, clinic.today()), last_day):
        day_options = _day_options(clinic, code, day, visit, providers, resources, needs, now, actor)
        options += day_options
        if len(options) >= limit:
            break
    return options[:limit]


def _free_slots(clinic: Clinic, kind: str, code: str, day: date, wanted: dict[str, ScheduleInfo],
                actor: Actor) -> dict[str, list[_Free]]:
    """The day's free slots of the wanted schedules, by schedule, in time order."""
    tag = v.day_tag(kind, code, day)
    found: dict[str, list[_Free]] = defaultdict(list)
    for stored in search_all(clinic, "Slot", [("_tag", f"{tag['system']}|{tag['code']}"), ("status", "free")],
                             actor=actor):
        slot = stored.resource
        schedule_id = v.reference_id(slot.get("schedule"), "Schedule")
        if schedule_id in wanted:
            found[schedule_id].append(_Free(parse_instant(slot["start"]), parse_instant(slot["end"]), stored.res_id))
    for slots in found.values():
        slots.sort(key=lambda s: s.start)
    return found


def _chain_starts(slots: list[_Free], count: int) -> dict[datetime, _Free]:
    """The slots that begin ``count`` back-to-back free slots, by start time."""
    starts: dict[datetime, _Free] = {}
    for index in range(len(slots) - count + 1):
        run = slots[index:index + count]
        if all(run[n].end == run[n + 1].start for n in range(count - 1)):
            starts[run[0].start] = run[0]
    return starts


def _day_options(clinic: Clinic, code: str, day: date, visit: VisitType, providers: dict[str, ScheduleInfo],
                 resources: dict[str, ScheduleInfo], needs: list[tuple[str, str | None]], now: datetime,
                 actor: Actor) -> list[Option]:
    free = _free_slots(clinic, v.PROVIDER, code, day, providers, actor)
    candidates = [(providers[sid], first) for sid, slots in free.items()
                  for first in _chain_starts(slots, visit.slots_needed(providers[sid].slot_minutes)).values()
                  if first.start >= now]
    if not candidates:
        return []
    # For each need, how many resources of that kind can start a long-enough run at each time.
    counts: list[dict[datetime, int]] = []
    if needs:
        resource_free = _free_slots(clinic, v.ROOM, code, day, resources, actor)  # rooms and devices share a tag
        for kind, resource_type in needs:
            per_start: dict[datetime, int] = defaultdict(int)
            for sid, slots in resource_free.items():
                schedule = resources[sid]
                if (schedule.kind, schedule.resource_type) == (kind, resource_type):
                    for start in _chain_starts(slots, visit.slots_needed(schedule.slot_minutes)):
                        per_start[start] += 1
            counts.append(per_start)
    options = []
    for schedule, first in candidates:
        if all(per_start.get(first.start, 0) > 0 for per_start in counts):
            options.append(Option(first.start, first.start + timedelta(minutes=visit.minutes), first.slot_id,
                                  schedule.actor_id, schedule.practitioner_id, schedule.name,
                                  counts[0].get(first.start, 0) if visit.room_type else None))
    options.sort(key=lambda o: (o.start, o.provider_name or "", o.provider_role))
    return options
