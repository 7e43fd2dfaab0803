"""Cadence: reading the scheduling set-up back — departments, their Schedules, visit types.

Read-only views over the FHIR resources ``setup`` writes: ``DepartmentView`` (an Organization, its
Location and its Schedules), ``ScheduleInfo`` (what a Schedule is for, read from the Schedule alone so
that availability needs no extra reads per provider or room), ``Layout`` (a department's Schedules
and the hours its templates cover, kept a few seconds per process because every search and booking
needs it) and ``VisitType`` (an ActivityDefinition of kind Appointment).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from osler.apps.scheduling import vocabulary as v
from osler.apps.scheduling.context import Clinic, UnknownReference
from osler.apps.scheduling.templates import WEEKDAYS, blocks_from_available_time
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import Gone, NotFound

PAGE = 1000


def search_all(clinic: Clinic, res_type: str, params: list[tuple[str, str]], *, actor: Actor) -> Iterator[Stored]:
    """Every match of a search, following the keyset ``_cursor`` links page by page."""
    params = [*params, ("_count", str(PAGE))]
    cursor: str | None = None
    while True:
        page = clinic.chronicle.search(res_type, params + ([("_cursor", cursor)] if cursor else []), actor=actor)
        yield from page.matches
        cursor = page.cursors.get("next")
        if not cursor:
            return


def read_known(clinic: Clinic, res_type: str, res_id: str, *, actor: Actor, what: str | None = None) -> Stored:
    """Read a resource the request names; unknown or deleted is the caller's mistake (422), not a 404."""
    try:
        return clinic.chronicle.read(res_type, res_id, actor=actor)
    except (NotFound, Gone):
        named = f"{what} {res_type}/{res_id}" if what else f"{res_type}/{res_id}"
        raise UnknownReference(f"{named} is not known") from None


@dataclass(frozen=True)
class ScheduleInfo:
    id: str
    version: int
    department: str  # the department code
    kind: str  # provider | room | device
    resource_type: str | None  # room or device type
    actor_type: str  # PractitionerRole | Location | Device
    actor_id: str
    name: str | None
    practitioner_id: str | None
    visit_types: frozenset[str]  # provider schedules: the visit types offered; empty = all
    slot_minutes: int
    code: str | None  # the provider, room or device code

    @classmethod
    def of(cls, stored: Stored) -> ScheduleInfo:
        resource = stored.resource
        actors = resource.get("actor") or []
        first = actors[0] if actors else {}
        actor_type, _, actor_id = (first.get("reference") or "/").partition("/")
        practitioner = next((v.reference_id(a, "Practitioner") for a in actors if v.reference_id(a, "Practitioner")),
                            None)
        offered = frozenset(c.get("code") for concept in resource.get("serviceType") or []
                            for c in concept.get("coding") or [] if c.get("system") == v.VISIT_TYPE)
        key = v.identifier_value(resource, v.SCHEDULE_ID) or ""
        return cls(id=stored.res_id, version=stored.version, department=v.tag_code(resource, v.DEPARTMENT_TAG) or "",
                   kind=v.tag_code(resource, v.SCHEDULE_KIND_TAG) or "",
                   resource_type=v.tag_code(resource, v.RESOURCE_TYPE_TAG), actor_type=actor_type,
                   actor_id=actor_id, name=first.get("display"), practitioner_id=practitioner, visit_types=offered,
                   slot_minutes=int(v.extension_value(resource, v.SLOT_MINUTES_EXT, "valuePositiveInt") or 15),
                   code=key.rsplit("/", 1)[-1] or None)

    def offers(self, visit_type: str) -> bool:
        return not self.visit_types or visit_type in self.visit_types


@dataclass(frozen=True)
class DepartmentView:
    id: str  # Organization id
    code: str
    name: str
    location_id: str | None
    schedules: tuple[ScheduleInfo, ...]

    def of_kind(self, kind: str, resource_type: str | None = None) -> list[ScheduleInfo]:
        return [s for s in self.schedules
                if s.kind == kind and (resource_type is None or s.resource_type == resource_type)]

    def as_json(self) -> dict[str, Any]:
        def entry(s: ScheduleInfo) -> dict[str, Any]:
            item = {"code": s.code, "name": s.name, "schedule": s.id, s.actor_type: s.actor_id}
            if s.kind == v.PROVIDER:
                item["Practitioner"] = s.practitioner_id
                item["visit_types"] = sorted(s.visit_types)
            else:
                item["type"] = s.resource_type
            return item

        return {"department": self.id, "code": self.code, "name": self.name, "location": self.location_id,
                "slot_minutes": self.schedules[0].slot_minutes if self.schedules else None,
                "providers": [entry(s) for s in self.of_kind(v.PROVIDER)],
                "rooms": [entry(s) for s in self.of_kind(v.ROOM)],
                "devices": [entry(s) for s in self.of_kind(v.DEVICE)]}


def department_code(clinic: Clinic, department_id: str, *, actor: Actor = SYSTEM) -> tuple[str, dict[str, Any]]:
    """The code and Organization of a department named by its Organization id."""
    organization = read_known(clinic, "Organization", department_id, actor=actor, what="department").resource
    code = v.identifier_value(organization, v.DEPARTMENT_ID)
    if code is None:
        raise UnknownReference(f"Organization/{department_id} is not a department set up for scheduling")
    return code, organization


def department_schedules(clinic: Clinic, code: str, *, actor: Actor, kind: str | None = None,
                         resource_type: str | None = None) -> list[ScheduleInfo]:
    params = [("_tag", f"{v.DEPARTMENT_TAG}|{code}"), ("active", "true")]
    if kind:
        params.append(("_tag", f"{v.SCHEDULE_KIND_TAG}|{kind}"))
    if resource_type:
        params.append(("_tag", f"{v.RESOURCE_TYPE_TAG}|{resource_type}"))
    return [ScheduleInfo.of(s) for s in search_all(clinic, "Schedule", params, actor=actor)]


@dataclass(frozen=True)
class Layout:
    """A department's Schedules and, per weekday (0 = Monday), the clinic-local hours its provider templates
    cover: where availability looks for free slots."""

    schedules: tuple[ScheduleInfo, ...]
    hours: dict[int, tuple[int, ...]]

    def of_kind(self, kind: str, resource_type: str | None = None) -> list[ScheduleInfo]:
        return [s for s in self.schedules
                if s.kind == kind and (resource_type is None or s.resource_type == resource_type)]


# Layouts change only with a department's set-up, yet every availability search and booking needs one: each
# process keeps them for LAYOUT_TTL_SECONDS (set-up in this process forgets them at once). Staleness is
# bounded and harmless — a new room is offered a few seconds late; every booking still checks the slots.
LAYOUT_TTL_SECONDS = 5.0
_layouts: dict[tuple[str, str], tuple[float, Layout]] = {}


def department_layout(clinic: Clinic, code: str, *, actor: Actor = SYSTEM) -> Layout:
    key = (str(clinic.chronicle.engine.url), code)
    cached = _layouts.get(key)
    if cached is not None and time.monotonic() - cached[0] < LAYOUT_TTL_SECONDS:
        return cached[1]
    schedules = tuple(department_schedules(clinic, code, actor=actor))
    hours: dict[int, set[int]] = defaultdict(set)
    for schedule in schedules:
        if schedule.kind != v.PROVIDER:
            continue
        try:
            role = clinic.chronicle.read("PractitionerRole", schedule.actor_id, actor=actor).resource
        except (NotFound, Gone):
            continue
        for block in blocks_from_available_time(role.get("availableTime") or []):
            for day in block.days:
                hours[WEEKDAYS.index(day)].update(range(block.start_minute // 60, math.ceil(block.end_minute / 60)))
    layout = Layout(schedules, {day: tuple(sorted(found)) for day, found in hours.items()})
    _layouts[key] = (time.monotonic(), layout)
    return layout


def forget_layouts() -> None:
    _layouts.clear()


def describe_department(clinic: Clinic, department_id: str, *, actor: Actor = SYSTEM) -> DepartmentView:
    code, organization = department_code(clinic, department_id, actor=actor)
    locations = clinic.chronicle.search("Location", [("identifier", f"{v.DEPARTMENT_LOCATION_ID}|{code}")],
                                        actor=actor).matches
    schedules = sorted(department_schedules(clinic, code, actor=actor), key=lambda s: (s.kind, s.code or ""))
    return DepartmentView(department_id, code, organization.get("name") or code,
                          locations[0].res_id if locations else None, tuple(schedules))


# ------------------------------------------------------------------------------- visit types


@dataclass(frozen=True)
class VisitType:
    id: str
    code: str
    name: str
    minutes: int
    room_type: str | None
    equipment: tuple[str, ...]
    patient_bookable: bool

    @classmethod
    def of(cls, stored: Stored) -> VisitType:
        resource = stored.resource
        duration = resource.get("timingDuration") or {}
        room = v.extension_value(resource, v.ROOM_TYPE_EXT, "valueCodeableConcept") or {}
        room_codes = [c.get("code") for c in room.get("coding") or []]
        equipment = tuple(c.get("code") for p in resource.get("participant") or [] if p.get("type") == "device"
                          for c in (p.get("role") or {}).get("coding") or [])
        bookable = any(c == v.SELF_SCHEDULING for u in resource.get("useContext") or []
                       for c in (u.get("valueCodeableConcept") or {}).get("coding") or [])
        return cls(id=stored.res_id, code=v.identifier_value(resource, v.VISIT_TYPE) or "",
                   name=resource.get("title") or resource.get("name") or "", minutes=int(duration.get("value") or 0),
                   room_type=room_codes[0] if room_codes else None, equipment=equipment, patient_bookable=bookable)

    def slots_needed(self, slot_minutes: int) -> int:
        return max(1, math.ceil(self.minutes / slot_minutes))

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "name": self.name, "minutes": self.minutes,
                "room_type": self.room_type, "equipment": list(self.equipment),
                "patient_bookable": self.patient_bookable}


# Visit type code → ActivityDefinition id, per database: codes never move to another resource, so a hit
# saves a search and the read that follows still sees the current version.
_visit_type_ids: dict[tuple[str, str], str] = {}


def visit_type(clinic: Clinic, code: str, *, actor: Actor = SYSTEM) -> VisitType:
    """The active visit type with this code; UnknownReference (422) otherwise."""
    key = (str(clinic.chronicle.engine.url), code)
    cached = _visit_type_ids.get(key)
    if cached is not None:
        try:
            found = VisitType.of(clinic.chronicle.read("ActivityDefinition", cached, actor=actor))
            if found.code == code and found.minutes:
                return found
        except (NotFound, Gone):
            pass
        _visit_type_ids.pop(key, None)
    matches = clinic.chronicle.search("ActivityDefinition", [("identifier", f"{v.VISIT_TYPE}|{code}"),
                                                             ("status", "active")], actor=actor).matches
    if not matches:
        raise UnknownReference(f"visit type {code!r} is not known")
    _visit_type_ids[key] = matches[0].res_id
    return VisitType.of(matches[0])


def list_visit_types(clinic: Clinic, *, patient_bookable: bool = False, actor: Actor = SYSTEM) -> list[VisitType]:
    params = [("status", "active"), ("identifier", f"{v.VISIT_TYPE}|")]
    if patient_bookable:
        params.append(("context", f"{v.SELF_SCHEDULING['system']}|{v.SELF_SCHEDULING['code']}"))
    found = [VisitType.of(s) for s in search_all(clinic, "ActivityDefinition", params, actor=actor)]
    return sorted((t for t in found if t.code), key=lambda t: t.code)
