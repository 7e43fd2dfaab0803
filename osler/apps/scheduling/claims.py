"""Cadence: deciding which Slots a visit takes — the provider's, a room's, the equipment's.

A visit of a visit type starting in a provider's slot needs that slot and the following ones up to
its duration (``ceil(minutes / slot_minutes)`` slots on the department's grid), plus, for each
resource the visit type asks for (a room of a type, each piece of equipment), one resource of the
department whose slots at the same times are free. Among several free rooms one is chosen at random,
so that concurrent bookings of different providers rarely reach for the same room.

Nothing is written here: ``booking`` puts the claim into one transaction with ``ifMatch`` on every
slot, which is what makes it atomic and race-free.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from osler.apps.scheduling import vocabulary as v
from osler.apps.scheduling.context import Clinic, NotBookable, SlotTaken, UnknownReference, instant, parse_instant
from osler.apps.scheduling.directory import ScheduleInfo, VisitType, department_layout, read_known
from osler.apps.scheduling.slots import read_slot
from osler.chronicle.records import Actor, Stored


@dataclass
class Claim:
    schedule: ScheduleInfo  # the provider's
    start: datetime
    end: datetime
    provider_slots: list[Stored]
    resources: list[tuple[ScheduleInfo, list[Stored]]] = field(default_factory=list)

    @property
    def slots(self) -> list[Stored]:
        return self.provider_slots + [slot for _, slots in self.resources for slot in slots]


def available(slot: Stored, own: frozenset[str]) -> bool:
    """Free, or already held by the appointment being moved."""
    return slot.resource.get("status") == "free" or slot.res_id in own


def plan_claim(clinic: Clinic, first_slot: Stored, visit: VisitType, *, actor: Actor, room: str | None = None,
               own: frozenset[str] = frozenset()) -> Claim:
    """The slots a visit starting in ``first_slot`` would take; raises when the time is not bookable."""
    slot = first_slot.resource
    if not available(first_slot, own):
        raise SlotTaken(f"Slot/{first_slot.res_id} is already taken")
    start = parse_instant(slot["start"])
    if start < clinic.now():
        raise NotBookable(f"Slot/{first_slot.res_id} starts in the past ({slot['start']})")
    schedule_id = v.reference_id(slot.get("schedule"), "Schedule") or ""
    schedule = ScheduleInfo.of(read_known(clinic, "Schedule", schedule_id, actor=actor))
    if schedule.kind != v.PROVIDER:
        raise NotBookable(f"Slot/{first_slot.res_id} is not a provider's slot; book the provider's slot, "
                          "the room is chosen with it")
    if not schedule.offers(visit.code):
        raise NotBookable(f"{schedule.name or 'the provider'} does not offer visit type {visit.code!r}")
    count = visit.slots_needed(schedule.slot_minutes)
    step = timedelta(minutes=schedule.slot_minutes)
    starts = [start + step * n for n in range(count)]
    end = start + timedelta(minutes=visit.minutes)
    provider_slots = [first_slot]
    for moment in starts[1:]:
        following = _slots_at(clinic, schedule.id, [moment], actor)
        found = following[0] if following else None
        if found is None or not available(found, own):
            raise SlotTaken(f"{schedule.name or 'the provider'} is not free for the whole {visit.minutes} "
                            f"minutes from {slot['start']}: the slot at {instant(moment)} is already taken "
                            "or not in the template")
        provider_slots.append(found)
    claim = Claim(schedule, start, end, provider_slots)
    needs = ([(v.ROOM, visit.room_type)] if visit.room_type else []) + [(v.DEVICE, kind) for kind in visit.equipment]
    for kind, resource_type in needs:
        claim.resources.append(_choose_resource(clinic, schedule.department, kind, resource_type, starts, actor,
                                                room if kind == v.ROOM else None, own))
    return claim


def _choose_resource(clinic: Clinic, department: str, kind: str, resource_type: str, starts: list[datetime],
                     actor: Actor, wanted: str | None, own: frozenset[str]) -> tuple[ScheduleInfo, list[Stored]]:
    candidates = department_layout(clinic, department, actor=actor).of_kind(kind, resource_type)
    what = f"{'room' if kind == v.ROOM else 'equipment'} of type {resource_type!r}"
    if wanted is not None:
        candidates = [c for c in candidates if c.actor_id == wanted]
        if not candidates:
            raise UnknownReference(f"Location/{wanted} is not a {what} of department {department}")
    if not candidates:
        raise NotBookable(f"department {department} has no {what}")
    # Random order spreads concurrent bookings over the rooms; one the appointment already holds comes first.
    random.shuffle(candidates)
    own_schedules = {v.reference_id(s.resource.get("schedule"), "Schedule") for s in _own_slots(clinic, own, actor)}
    candidates.sort(key=lambda c: c.id not in own_schedules)
    for candidate in candidates:
        held = _slots_at(clinic, candidate.id, starts, actor)
        if held is not None and all(available(s, own) for s in held):
            return candidate, held
    raise SlotTaken(f"no {what} is free from {instant(starts[0])} for this visit: the time is already taken")


def _own_slots(clinic: Clinic, own: frozenset[str], actor: Actor) -> list[Stored]:
    return [clinic.chronicle.read("Slot", slot_id, actor=actor) for slot_id in own]


def _slots_at(clinic: Clinic, schedule_id: str, starts: list[datetime], actor: Actor) -> list[Stored] | None:
    """The Slots of a schedule at these start times; None when one does not exist."""
    found = [read_slot(clinic, schedule_id, moment, actor) for moment in starts]
    return None if any(s is None for s in found) else [s for s in found if s is not None]
