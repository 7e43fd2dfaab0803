"""Check-in: the visit's clock — roomed, seen by the provider, checked out — kept on the Encounter.

Each milestone is a timestamp on the Encounter in plain FHIR, so wait-time dashboards read them
without knowing Osler: arrival is ``statusHistory[arrived].period.start`` (written at check-in),
roomed is the exam room's ``location[].period.start``, seen is the provider's
``participant[].period.start`` (status in-progress), checked out is ``period.end`` (finished).
Every change is a versioned update with If-Match, so two desks never overwrite each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from osler.apps.scheduling import Clinic
from osler.apps.scheduling.context import instant
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.chronicle.store import Chronicle
from osler.fhir.outcome import Conflict, VersionConflict

PRIMARY_PERFORMER = {"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PPRF"}


def _close_status(encounter: dict[str, Any], moment: str) -> None:
    for entry in encounter.get("statusHistory", []):
        entry["period"].setdefault("end", moment)


def _set_status(encounter: dict[str, Any], status: str, moment: str) -> None:
    _close_status(encounter, moment)
    encounter["status"] = status
    encounter.setdefault("statusHistory", []).append({"status": status, "period": {"start": moment}})


def update_encounter(chronicle: Chronicle, encounter_id: str, change: Callable[[dict[str, Any]], None],
                     actor: Actor) -> Stored:
    """Apply ``change`` to the current Encounter and store it if nobody wrote in between (else retry)."""
    for _ in range(3):
        current = chronicle.read("Encounter", encounter_id, actor=actor)
        encounter = current.resource
        change(encounter)
        try:
            return chronicle.update("Encounter", encounter_id, encounter, actor=actor, if_match=current.etag).stored
        except VersionConflict:
            continue
    raise Conflict(f"Encounter/{encounter_id} kept changing; try again")


def room_patient(clinic: Clinic, encounter_id: str, room_id: str, *, actor: Actor = SYSTEM) -> Stored:
    """The patient is taken to an exam room: the roomed timestamp."""
    clinic.chronicle.read("Location", room_id, actor=actor)  # NotFound for an unknown room
    now = clinic.now()

    def roomed(encounter: dict[str, Any]) -> None:
        if encounter["status"] not in ("arrived", "triaged"):
            raise Conflict(f"the patient cannot be roomed: the encounter is {encounter['status']}")
        moment = instant(now)
        for place in encounter.get("location", []):
            if place.get("status") == "active":
                place["status"] = "completed"
                place.setdefault("period", {})["end"] = moment
        encounter.setdefault("location", []).append(
            {"location": {"reference": f"Location/{room_id}"}, "status": "active", "period": {"start": moment}})
        _set_status(encounter, "triaged", moment)

    return update_encounter(clinic.chronicle, encounter_id, roomed, actor)


def mark_seen(clinic: Clinic, encounter_id: str, practitioner_id: str, *, actor: Actor = SYSTEM) -> Stored:
    """The provider walks in: the seen-by-provider timestamp."""
    clinic.chronicle.read("Practitioner", practitioner_id, actor=actor)
    now = clinic.now()

    def seen(encounter: dict[str, Any]) -> None:
        if encounter["status"] not in ("arrived", "triaged"):
            raise Conflict(f"the provider cannot see the patient: the encounter is {encounter['status']}")
        moment = instant(now)
        reference = f"Practitioner/{practitioner_id}"
        participants = encounter.setdefault("participant", [])
        mine = next((p for p in participants if p.get("individual", {}).get("reference") == reference), None)
        if mine is None:
            mine = {"type": [{"coding": [PRIMARY_PERFORMER]}], "individual": {"reference": reference}}
            participants.append(mine)
        mine["period"] = {"start": moment}
        _set_status(encounter, "in-progress", moment)

    return update_encounter(clinic.chronicle, encounter_id, seen, actor)


def check_out(clinic: Clinic, encounter_id: str, *, actor: Actor = SYSTEM) -> Stored:
    """The patient leaves: the encounter is finished and its period closed."""
    now = clinic.now()

    def checked_out(encounter: dict[str, Any]) -> None:
        if encounter["status"] == "finished":
            raise Conflict("the patient has already checked out")
        if encounter["status"] == "cancelled":
            raise Conflict("the encounter was cancelled")
        moment = instant(now)
        encounter.setdefault("period", {})["end"] = moment
        for place in encounter.get("location", []):
            if place.get("status") == "active":
                place["status"] = "completed"
                place.setdefault("period", {})["end"] = moment
        for participant in encounter.get("participant", []):
            if "period" in participant:
                participant["period"].setdefault("end", moment)
        _set_status(encounter, "finished", moment)
        _close_status(encounter, moment)

    return update_encounter(clinic.chronicle, encounter_id, checked_out, actor)


def milestones(encounter: dict[str, Any]) -> dict[str, str | None]:
    """The visit's timestamps as the dashboards read them."""
    arrived = next((h["period"]["start"] for h in encounter.get("statusHistory", []) if h["status"] == "arrived"),
                   None)
    rooms = [p["period"]["start"] for p in encounter.get("location", []) if p.get("period", {}).get("start")]
    seen = [p["period"]["start"] for p in encounter.get("participant", []) if p.get("period", {}).get("start")]
    return {"arrived": arrived, "roomed": rooms[0] if rooms else None, "seen": seen[0] if seen else None,
            "checked_out": encounter.get("period", {}).get("end") if encounter.get("status") == "finished" else None}

