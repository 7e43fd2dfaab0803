"""EpicCare Ambulatory (charting): the level of service — the E/M code the visit is billed at.

The clinician picks the office-visit E/M code (CPT 99202-99205 new, 99211-99215 established); it is
stored as a billable ``ChargeItem`` for the encounter (code CPT, the number only — Osler never stores
CPT descriptions), which billing (Resolute) turns into a claim line. An encounter has one level of
service: setting it again updates the same ChargeItem (a new version; the earlier code stays in its
history). The ChargeItem carries the business identifier ``LEVEL_OF_SERVICE_ID|<encounter id>``.
"""

from __future__ import annotations

from typing import Any

from osler.apps import terminology
from osler.apps.charting import vocabulary as v
from osler.apps.charting.encounters import open_encounter, post, put, transact
from osler.apps.charting.requests import LevelOfService
from osler.apps.clinic import Clinic, instant
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import Conflict

ATTEMPTS = 2


def set_level_of_service(clinic: Clinic, encounter_id: str, request: LevelOfService, *,
                         actor: Actor = SYSTEM) -> Stored:
    """Set (or change) the encounter's E/M code; the ChargeItem."""
    code = v.coded(terminology.CPT, request.code, what="E/M code", use="office-visit-em")
    context = open_encounter(clinic, encounter_id, practitioner=request.practitioner, actor=actor)
    now = instant(clinic.now())
    charge: dict[str, Any] = {
        "resourceType": "ChargeItem", "identifier": [{"system": v.LEVEL_OF_SERVICE_ID, "value": context.id}],
        "status": "billable", "code": code, "subject": context.patient, "context": context.encounter,
        "occurrenceDateTime": (context.stored.resource.get("period") or {}).get("start", now),
        "performer": [{"actor": context.practitioner}], "quantity": {"value": 1}, "enteredDate": now,
        "enterer": context.practitioner}
    for _attempt in range(ATTEMPTS):
        current = level_of_service(clinic, encounter_id, actor=actor)
        if current is None:  # created only if a concurrent call did not create it first
            entry = post(charge)
            entry["request"]["ifNoneExist"] = f"identifier={v.LEVEL_OF_SERVICE_ID}|{context.id}"
        else:
            entry = put(current, charge)
        stored = transact(clinic, [entry], actor=actor)[0]
        if v.first_code(stored.resource.get("code"), terminology.CPT) == request.code:
            return stored
    raise Conflict(f"the level of service of Encounter/{encounter_id} kept changing; try again")


def level_of_service(clinic: Clinic, encounter_id: str, *, actor: Actor = SYSTEM) -> Stored | None:
    """The encounter's level-of-service ChargeItem, if one was set."""
    found = clinic.chronicle.search("ChargeItem", [("identifier", f"{v.LEVEL_OF_SERVICE_ID}|{encounter_id}"),
                                                   ("_count", "1")], actor=actor).matches
    return found[0] if found else None
