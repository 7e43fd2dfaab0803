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
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from osler.apps.scheduling import vocabulary as v
from osler.apps.scheduling.context import Clinic, NotBookable, SlotTaken, UnknownReference, instant, parse_instant
from osler.apps.scheduling.directory import ScheduleInfo, VisitType, department_schedules, read_known
from osler.apps.scheduling.slots import slot_identifier
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
    if count > 1:
        following = _slots_at(clinic, [schedule.id], starts[1:], actor)
        for moment in starts[1:]:
            found = following.get((schedule.id, instant(moment)))
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
    candidates = department_schedules(clinic, department, actor=actor, kind=kind, resource_type=resource_type)
    what = f"{'room' if kind == v.ROOM else 'equipment'} of type {resource_type!r}"
    if wanted is not None:
        candidates = [c for c in candidates if c.actor_id == wanted]
        if not candidates:
            raise UnknownReference(f"Location/{wanted} is not a {what} of department {department}")
    if not candidates:
        raise NotBookable(f"department {department} has no {what}")
    slots = _slots_at(clinic, [c.id for c in candidates], starts, actor)
    free = []
    for candidate in candidates:
        held = [slots.get((candidate.id, instant(moment))) for moment in starts]
        if all(s is not None and available(s, own) for s in held):
            free.append((candidate, [s for s in held if s is not None]))
    if not free:
        raise SlotTaken(f"no {what} is free from {instant(starts[0])} for this visit: the time is already taken")
    # A room the appointment already holds is kept when it is still free for the new time.
    kept = [item for item in free if any(s.res_id in own for s in item[1])]
    return kept[0] if kept else random.choice(free)


def _slots_at(clinic: Clinic, schedule_ids: list[str], starts: list[datetime],
              actor: Actor) -> dict[tuple[str, str], Stored]:
    """The Slots of these schedules at these start times, by (schedule id, start instant)."""
    values = [f"{v.SLOT_ID}|{slot_identifier(sid, moment)}" for sid in schedule_ids for moment in starts]
    found: dict[tuple[str, str], Stored] = {}
    for chunk in range(0, len(values), 200):
        page = clinic.chronicle.search("Slot", [("identifier", ",".join(values[chunk:chunk + 200])),
                                                ("_count", "1000")], actor=actor)
        for stored in page.matches:
            schedule_id = v.reference_id(stored.resource.get("schedule"), "Schedule") or ""
            found[(schedule_id, instant(parse_instant(stored.resource["start"])))] = stored
    return found


def group_by_schedule(slots: list[Stored]) -> dict[str, list[Stored]]:
    grouped: dict[str, list[Stored]] = defaultdict(list)
    for slot in slots:
        grouped[v.reference_id(slot.resource.get("schedule"), "Schedule") or ""].append(slot)
    return grouped
