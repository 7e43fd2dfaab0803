"""Cadence: finding bookable times by department, visit type, provider and date range.

The query path is built for departments of tens of thousands of Slots. It walks the range one
clinic-local hour at a time, only through the hours the department's provider templates cover, and
stops as soon as ``limit`` options are found — so "the first free times from tomorrow" reads an hour
or two of slots, not the whole range. For a whole department each hour is one search on the token
index, ``Slot?_tag=provider-hour|<DEPT>/<day>T<hour>&status=free`` (the tag ``slots`` writes), plus,
when someone is free and the visit type needs a room or equipment, one such search for the hour's room
and device slots; a visit longer than the rest of the hour also reads the next hour, once. For one
provider, reading the department's hour would mostly read other providers' slots: their slots on the
grid, and then a room for each free time, are read by id instead (Slot ids derive from schedule and
start). Back-to-back slots for longer visits, a free room at the same times and who offers the visit
type are worked out in memory from those reads and the department's layout.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from osler.apps.scheduling import vocabulary as v
from osler.apps.scheduling.context import Clinic, Forbidden, UnknownReference, instant, parse_instant
from osler.apps.scheduling.directory import (
    ScheduleInfo,
    VisitType,
    department_code,
    department_layout,
    search_all,
    visit_type,
)
from osler.apps.scheduling.slots import read_slot
from osler.apps.scheduling.templates import days_between
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import BadRequest

MAX_DAYS = 92
MAX_LIMIT = 500
FEW_PROVIDERS = 1  # up to this many providers, their slots are read by id rather than by department-hour


@dataclass(frozen=True)
class Option:
    """One bookable start: book it by passing ``slot`` (the provider's first slot) and the visit type."""

    start: datetime
    end: datetime
    slot: str
    provider_role: str
    practitioner: str | None
    provider_name: str | None

    def as_json(self, clinic: Clinic) -> dict[str, Any]:
        return {"start": instant(self.start), "end": instant(self.end),
                "start_local": self.start.astimezone(clinic.zone).isoformat(), "slot": self.slot,
                "provider_role": self.provider_role, "practitioner": self.practitioner,
                "provider_name": self.provider_name}


@dataclass(frozen=True)
class _Free:
    start: datetime
    end: datetime
    slot_id: str


class _Source(ABC):
    """Free slots of some schedules by clinic-local hour, each hour read once per search."""

    def __init__(self, clinic: Clinic, wanted: dict[str, ScheduleInfo], actor: Actor) -> None:
        self.clinic, self.wanted, self.actor = clinic, wanted, actor
        self.read: dict[tuple[date, int], dict[str, list[_Free]]] = {}

    def hour(self, day: date, hour: int) -> dict[str, list[_Free]]:
        if (day, hour) not in self.read:
            self.read[(day, hour)] = self._read(day, hour)
        return self.read[(day, hour)]

    @abstractmethod
    def _read(self, day: date, hour: int) -> dict[str, list[_Free]]:
        """The free slots of one clinic-local hour, by schedule id."""

    def span(self, day: date, first_hour: int, hours: int) -> dict[str, list[_Free]]:
        """Free slots of ``hours`` consecutive hours from ``first_hour`` (into the next day if need be)."""
        merged: dict[str, list[_Free]] = defaultdict(list)
        for offset in range(hours):
            moment_day, moment_hour = day + timedelta(days=(first_hour + offset) // 24), (first_hour + offset) % 24
            for schedule_id, slots in self.hour(moment_day, moment_hour).items():
                merged[schedule_id].extend(slots)
        for slots in merged.values():
            slots.sort(key=lambda s: s.start)
        return merged


class _DepartmentHours(_Source):
    """A whole department: one search of the hour's tag (the department's free slots of that hour)."""

    def __init__(self, clinic: Clinic, code: str, kind: str, wanted: dict[str, ScheduleInfo], actor: Actor) -> None:
        super().__init__(clinic, wanted, actor)
        self.code, self.kind = code, kind

    def _read(self, day: date, hour: int) -> dict[str, list[_Free]]:
        tag = v.hour_tag(self.kind, self.code, day, hour)
        found: dict[str, list[_Free]] = defaultdict(list)
        params = [("_tag", f"{tag['system']}|{tag['code']}"), ("status", "free")]
        for stored in search_all(self.clinic, "Slot", params, actor=self.actor):
            slot = stored.resource
            schedule_id = v.reference_id(slot.get("schedule"), "Schedule")
            if schedule_id in self.wanted:
                found[schedule_id].append(_Free(parse_instant(slot["start"]), parse_instant(slot["end"]),
                                                stored.res_id))
        return found


class _ScheduleGrid(_Source):
    """A few schedules (one provider): their slots on the hour's grid, read by id — a department-hour search
    would read every other provider's slots too, only to drop them."""

    def _read(self, day: date, hour: int) -> dict[str, list[_Free]]:
        found: dict[str, list[_Free]] = defaultdict(list)
        for schedule in self.wanted.values():
            for minute in range(0, 60, schedule.slot_minutes):
                stored = read_slot(self.clinic, schedule.id, self.clinic.local(day, time(hour, minute)), self.actor)
                if stored is not None and stored.resource.get("status") == "free":
                    found[schedule.id].append(_Free(parse_instant(stored.resource["start"]),
                                                    parse_instant(stored.resource["end"]), stored.res_id))
        return found


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
    layout = department_layout(clinic, code, actor=actor)
    providers = {s.id: s for s in layout.of_kind(v.PROVIDER) if s.offers(visit.code)
                 and (provider_role is None or s.actor_id == provider_role)}
    if provider_role is not None and not providers:
        if not any(s.actor_id == provider_role for s in layout.of_kind(v.PROVIDER)):
            raise UnknownReference(f"PractitionerRole/{provider_role} is not a provider of department {code}")
        return []  # the provider does not offer this visit type
    needs = ([(v.ROOM, visit.room_type)] if visit.room_type else []) + [(v.DEVICE, kind) for kind in visit.equipment]
    resources = {s.id: s for s in layout.schedules if (s.kind, s.resource_type) in needs}
    few = len(providers) <= FEW_PROVIDERS
    provider_hours = _ScheduleGrid(clinic, providers, actor) if few else \
        _DepartmentHours(clinic, code, v.PROVIDER, providers, actor)
    resource_check = _ResourceProbe(clinic, resources, actor) if few else \
        _ResourceHours(clinic, code, resources, actor)
    longest = max((visit.slots_needed(s.slot_minutes) * s.slot_minutes for s in providers.values()), default=0)
    span = 1 + -(-longest // 60)  # the hour itself and the hours a visit starting in it may reach into
    now = clinic.now()
    options: list[Option] = []
    for day in days_between(max(first_day, clinic.today()), last_day):
        for hour in layout.hours.get(day.weekday(), ()):
            options += _hour_options(provider_hours, resource_check, day, hour, span, visit, needs, now)
            if len(options) >= limit:
                return options[:limit]
    return options


class _ResourceProbe:
    """Rooms and equipment for a few candidate times: read by id, in random order, until one is free."""

    def __init__(self, clinic: Clinic, resources: dict[str, ScheduleInfo], actor: Actor) -> None:
        self.clinic, self.actor = clinic, actor
        self.resources = list(resources.values())
        random.shuffle(self.resources)
        self.read: dict[tuple[str, datetime], Stored | None] = {}

    def _slot(self, schedule_id: str, start: datetime) -> Stored | None:
        if (schedule_id, start) not in self.read:
            self.read[(schedule_id, start)] = read_slot(self.clinic, schedule_id, start, self.actor)
        return self.read[(schedule_id, start)]

    def all_free(self, needs: list[tuple[str, str | None]], start: datetime, visit: VisitType,
                 day: date, hour: int, span: int) -> bool:
        return all(self._one_free(kind, resource_type, start, visit) for kind, resource_type in needs)

    def _one_free(self, kind: str, resource_type: str | None, start: datetime, visit: VisitType) -> bool:
        for schedule in self.resources:
            if (schedule.kind, schedule.resource_type) != (kind, resource_type):
                continue
            step = timedelta(minutes=schedule.slot_minutes)
            count = visit.slots_needed(schedule.slot_minutes)
            held = [self._slot(schedule.id, start + step * n) for n in range(count)]
            if all(s is not None and s.resource.get("status") == "free" for s in held):
                return True
        return False


class _ResourceHours:
    """Rooms and equipment of a whole department: the hour's resource tag, counted once per hour."""

    def __init__(self, clinic: Clinic, code: str, resources: dict[str, ScheduleInfo], actor: Actor) -> None:
        self.resources = resources
        self.hours = _DepartmentHours(clinic, code, v.ROOM, resources, actor)  # rooms and devices share one tag
        self.counts: dict[tuple[date, int], list[dict[datetime, int]]] = {}

    def all_free(self, needs: list[tuple[str, str | None]], start: datetime, visit: VisitType,
                 day: date, hour: int, span: int) -> bool:
        if not needs:
            return True
        if (day, hour) not in self.counts:
            # For each need, how many resources of that kind can start a long-enough run at each time.
            free = self.hours.span(day, hour, span)
            counts = []
            for kind, resource_type in needs:
                per_start: dict[datetime, int] = defaultdict(int)
                for schedule_id, slots in free.items():
                    schedule = self.resources[schedule_id]
                    if (schedule.kind, schedule.resource_type) == (kind, resource_type):
                        for moment in _chain_starts(slots, visit.slots_needed(schedule.slot_minutes)):
                            per_start[moment] += 1
                counts.append(per_start)
            self.counts[(day, hour)] = counts
        return all(per_start.get(start, 0) > 0 for per_start in self.counts[(day, hour)])


def _chain_starts(slots: list[_Free], count: int) -> dict[datetime, _Free]:
    """The slots that begin ``count`` back-to-back free slots, by start time."""
    starts: dict[datetime, _Free] = {}
    for index in range(len(slots) - count + 1):
        run = slots[index:index + count]
        if all(run[n].end == run[n + 1].start for n in range(count - 1)):
            starts[run[0].start] = run[0]
    return starts


def _hour_options(providers: _Source, resources: _ResourceProbe | _ResourceHours, day: date, hour: int,
                  span: int, visit: VisitType, needs: list[tuple[str, str | None]], now: datetime) -> list[Option]:
    """The options starting in one clinic-local hour, in time order."""
    in_hour = {s.slot_id for slots in providers.hour(day, hour).values() for s in slots}
    if not in_hour:
        return []
    options = []
    for schedule_id, slots in providers.span(day, hour, span).items():
        schedule = providers.wanted[schedule_id]
        for first in _chain_starts(slots, visit.slots_needed(schedule.slot_minutes)).values():
            if first.slot_id in in_hour and first.start >= now and \
                    resources.all_free(needs, first.start, visit, day, hour, span):
                options.append(Option(first.start, first.start + timedelta(minutes=visit.minutes), first.slot_id,
                                      schedule.actor_id, schedule.practitioner_id, schedule.name))
    options.sort(key=lambda o: (o.start, o.provider_name or "", o.provider_role))
    return options
