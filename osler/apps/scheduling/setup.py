"""Cadence: setting up departments, providers, rooms, equipment and visit types as FHIR resources.

One department set-up is one transaction Bundle of conditional updates keyed on Cadence identifiers,
so it is all-or-nothing and declarative: calling it again updates what it names and duplicates
nothing. What is written:

* the department: an ``Organization`` and its ``Location`` (opening hours in ``hoursOfOperation``,
  holidays as ``cadence-closure`` extensions);
* providers: a ``Practitioner`` and, per department, a ``PractitionerRole`` whose ``availableTime``
  is the weekly template and ``notAvailable`` the blocked time;
* exam rooms: ``Location``s (physicalType ``ro``, ``partOf`` the department); equipment: ``Device``s;
* one ``Schedule`` per provider role, room and device, tagged with its department and kind, carrying
  the slot length (``cadence-slot-minutes``) and, for providers, the visit types offered
  (``serviceType``);
* visit types: ``ActivityDefinition``s of kind ``Appointment`` with ``timingDuration``, device
  ``participant``s for the equipment, a ``cadence-room-type`` extension for the room, and the
  self-scheduling ``useContext`` when patients may book them in the portal.
"""

from __future__ import annotations

import uuid
from datetime import time
from typing import Any

from osler.apps.scheduling import vocabulary as v
from osler.apps.scheduling.context import Clinic, instant
from osler.apps.scheduling.directory import (
    DepartmentView,
    VisitType,
    describe_department,
    forget_layouts,
    search_all,
)
from osler.apps.scheduling.requests import (
    DepartmentSetup,
    DeviceSetup,
    ProviderSetup,
    RoomSetup,
    TimeOff,
    VisitTypeSetup,
    WeeklyHours,
)
from osler.chronicle.records import SYSTEM, Actor
from osler.chronicle.transactions import EntryResult

ROOM_TYPE = f"{v.CADENCE}:room-type"
DEVICE_TYPE = f"{v.CADENCE}:device-type"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
UCUM = "http://unitsofmeasure.org"


def set_up_department(clinic: Clinic, setup: DepartmentSetup, *, actor: Actor = SYSTEM) -> DepartmentView:
    """Create or update a whole department in one transaction; the department as stored."""
    dept = setup.code
    # A Schedule's planningHorizon records which days have slots; set-up rewrites Schedules whole, so it carries
    # them over.
    builder = _Bundle({v.identifier_value(s.resource, v.SCHEDULE_ID): s.resource["planningHorizon"]
                       for s in search_all(clinic, "Schedule", [("_tag", f"{v.DEPARTMENT_TAG}|{dept}")], actor=actor)
                       if s.resource.get("planningHorizon")})
    org = builder.upsert("Organization", v.DEPARTMENT_ID, dept, {
        "active": True, "name": setup.name,
        "type": [v.concept(ORGANIZATION_TYPE, "dept", "Hospital Department")]})
    location = builder.upsert("Location", v.DEPARTMENT_LOCATION_ID, dept, {
        "status": "active", "mode": "instance", "name": setup.name,
        "managingOrganization": {"reference": org},
        "hoursOfOperation": [_opening_hours(block) for block in setup.hours],
        **({"extension": [_closure(c) for c in setup.closures]} if setup.closures else {})})
    common = {"department": dept, "org": org, "location": location, "slot_minutes": setup.slot_minutes}
    for provider in setup.providers:
        _provider(builder, provider, **common)
    for room in setup.rooms:
        _room(builder, room, **common)
    for device in setup.devices:
        _device(builder, device, **common)
    for visit in setup.visit_types:
        builder.upsert("ActivityDefinition", v.VISIT_TYPE, visit.code, visit_type_resource(visit))
    results = builder.commit(clinic, actor)
    forget_layouts()
    organization_id = results[0].stored.res_id  # type: ignore[union-attr]
    return describe_department(clinic, organization_id, actor=actor)


def define_visit_types(clinic: Clinic, visit_types: list[VisitTypeSetup], *,
                       actor: Actor = SYSTEM) -> list[VisitType]:
    """Create or update visit types (they are shared by every department) in one transaction."""
    builder = _Bundle()
    for visit in visit_types:
        builder.upsert("ActivityDefinition", v.VISIT_TYPE, visit.code, visit_type_resource(visit))
    return [VisitType.of(result.stored) for result in builder.commit(clinic, actor) if result.stored]


def visit_type_resource(visit: VisitTypeSetup) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "url": f"{v.VISIT_TYPE}:{visit.code}", "name": visit.code, "title": visit.name, "status": "active",
        "kind": "Appointment", "code": v.concept(v.VISIT_TYPE, visit.code, visit.name),
        "timingDuration": {"value": visit.minutes, "unit": "min", "system": UCUM, "code": "min"},
        "participant": [{"type": "patient"}, {"type": "practitioner"}] +
                       [{"type": "device", "role": v.concept(DEVICE_TYPE, kind)} for kind in visit.equipment],
    }
    if visit.room_type:
        room = v.concept(ROOM_TYPE, visit.room_type)
        resource["extension"] = [{"url": v.ROOM_TYPE_EXT, "valueCodeableConcept": room}]
    if visit.patient_bookable:
        resource["useContext"] = [{"code": {"system": v.USAGE_CONTEXT_TYPE, "code": "workflow"},
                                   "valueCodeableConcept": {"coding": [dict(v.SELF_SCHEDULING)]}}]
    return resource


# ------------------------------------------------------------------------------ the pieces


def _provider(builder: _Bundle, provider: ProviderSetup, *, department: str, org: str, location: str,
              slot_minutes: int) -> None:
    name = " ".join([*provider.given, provider.family])
    practitioner = builder.upsert("Practitioner", v.PROVIDER_ID, provider.code, {
        "active": True, "name": [{"family": provider.family, **({"given": provider.given} if provider.given else {})}]})
    role = builder.upsert("PractitionerRole", v.PROVIDER_ROLE_ID, f"{department}/{provider.code}", {
        "active": True, "practitioner": {"reference": practitioner, "display": name},
        "organization": {"reference": org}, "location": [{"reference": location}],
        "availableTime": [_available_time(block) for block in provider.hours],
        **({"notAvailable": [_not_available(off) for off in provider.time_off]} if provider.time_off else {})})
    builder.upsert("Schedule", v.SCHEDULE_ID, f"{department}/{v.PROVIDER}/{provider.code}", {
        **_schedule_common(department, v.PROVIDER, None, slot_minutes),
        "actor": [{"reference": role, "display": name}, {"reference": practitioner, "display": name}],
        **({"serviceType": [v.concept(v.VISIT_TYPE, code) for code in provider.visit_types]}
           if provider.visit_types else {})})


def _room(builder: _Bundle, room: RoomSetup, *, department: str, org: str, location: str, slot_minutes: int) -> None:
    fields: dict[str, Any] = {
        "status": "active", "mode": "instance", "name": room.name, "type": [v.concept(ROOM_TYPE, room.type)],
        "physicalType": v.concept(v.LOCATION_TYPE, "ro", "Room"), "partOf": {"reference": location},
        "managingOrganization": {"reference": org}}
    if room.hours:
        fields["hoursOfOperation"] = [_opening_hours(block) for block in room.hours]
    ref = builder.upsert("Location", v.ROOM_ID, f"{department}/{room.code}", fields)
    builder.upsert("Schedule", v.SCHEDULE_ID, f"{department}/{v.ROOM}/{room.code}", {
        **_schedule_common(department, v.ROOM, room.type, slot_minutes),
        "actor": [{"reference": ref, "display": room.name}]})


def _device(builder: _Bundle, device: DeviceSetup, *, department: str, org: str, location: str,
            slot_minutes: int) -> None:
    ref = builder.upsert("Device", v.DEVICE_ID, f"{department}/{device.code}", {
        "status": "active", "deviceName": [{"name": device.name, "type": "user-friendly-name"}],
        "type": v.concept(DEVICE_TYPE, device.type), "owner": {"reference": org}, "location": {"reference": location}})
    builder.upsert("Schedule", v.SCHEDULE_ID, f"{department}/{v.DEVICE}/{device.code}", {
        **_schedule_common(department, v.DEVICE, device.type, slot_minutes),
        "actor": [{"reference": ref, "display": device.name}]})


def _schedule_common(department: str, kind: str, resource_type: str | None, slot_minutes: int) -> dict[str, Any]:
    tags = [v.tag(v.DEPARTMENT_TAG, department), v.tag(v.SCHEDULE_KIND_TAG, kind)]
    if resource_type:
        tags.append(v.tag(v.RESOURCE_TYPE_TAG, resource_type))
    return {"meta": {"tag": tags}, "active": True,
            "extension": [{"url": v.SLOT_MINUTES_EXT, "valuePositiveInt": slot_minutes}]}


def _clock(moment: time) -> str:
    return moment.strftime("%H:%M:%S")


def _available_time(block: WeeklyHours) -> dict[str, Any]:
    return {"daysOfWeek": list(block.days), "availableStartTime": _clock(block.start),
            "availableEndTime": _clock(block.end)}


def _opening_hours(block: WeeklyHours) -> dict[str, Any]:
    return {"daysOfWeek": list(block.days), "openingTime": _clock(block.start), "closingTime": _clock(block.end)}


def _not_available(off: TimeOff) -> dict[str, Any]:
    return {"description": off.reason, "during": {"start": instant(off.start), "end": instant(off.end)}}


def _closure(off: TimeOff) -> dict[str, Any]:
    return {"url": v.CLOSURE_EXT, "extension": [
        {"url": "period", "valuePeriod": {"start": instant(off.start), "end": instant(off.end)}},
        {"url": "reason", "valueString": off.reason}]}


class _Bundle:
    """A transaction of conditional updates, entries referring to each other by ``urn:uuid``."""

    def __init__(self, horizons: dict[str | None, dict[str, Any]] | None = None) -> None:
        self.entries: list[dict[str, Any]] = []
        self.horizons = horizons or {}

    def upsert(self, res_type: str, system: str, value: str, fields: dict[str, Any]) -> str:
        full_url = f"urn:uuid:{uuid.uuid4()}"
        resource = {"resourceType": res_type, **fields}
        resource["identifier"] = [v.identifier(system, value)]
        if res_type == "Schedule" and value in self.horizons:
            resource["planningHorizon"] = self.horizons[value]
        self.entries.append({"fullUrl": full_url, "resource": resource,
                             "request": {"method": "PUT", "url": f"{res_type}?identifier={system}|{value}"}})
        return full_url

    def commit(self, clinic: Clinic, actor: Actor) -> list[EntryResult]:
        return clinic.chronicle.transact(self.entries, actor=actor)
