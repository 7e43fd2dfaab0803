"""EpicCare Ambulatory (charting): the encounter's diagnoses — what the visit was for, ranked for the claim.

Each diagnosis is an ICD-10-CM Condition with category ``encounter-diagnosis``, and the Encounter's
``diagnosis`` list references it with its rank (1 is primary) and use ``billing``. The Conditions and
the Encounter are written in one transaction with ``ifMatch`` on the Encounter, so two clinicians
adding diagnoses at once never lose one: the later transaction is re-planned on the new Encounter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from osler.apps import terminology
from osler.apps.charting import vocabulary as v
from osler.apps.charting.encounters import EncounterContext, editable, open_encounter, post, put
from osler.apps.charting.errors import Duplicate
from osler.apps.charting.problems import condition
from osler.apps.charting.requests import DiagnosesRequest
from osler.apps.clinic import Clinic
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import Conflict, VersionConflict

ATTEMPTS = 3


@dataclass(frozen=True)
class Diagnosed:
    conditions: list[Stored]  # the new encounter-diagnosis Conditions, in request order
    encounter: Stored  # the Encounter with its re-ranked diagnosis list


def add_diagnoses(clinic: Clinic, encounter_id: str, request: DiagnosesRequest, *,
                  actor: Actor = SYSTEM) -> Diagnosed:
    """Add ICD-10-CM diagnoses to the open encounter, each at its rank (default: after the others)."""
    codes = {item.code: v.coded(terminology.ICD10CM, item.code, what="ICD-10-CM code") for item in request.diagnoses}
    for _attempt in range(ATTEMPTS):
        context = open_encounter(clinic, encounter_id, practitioner=request.practitioner, actor=actor)
        entries = _plan(clinic, context, request, codes, actor)
        try:
            stored = [r.stored for r in clinic.chronicle.transact(entries, actor=actor) if r.stored is not None]
        except VersionConflict:
            continue  # the Encounter changed meanwhile: plan again on the new version
        return Diagnosed(conditions=stored[:-1], encounter=stored[-1])
    raise Conflict(f"Encounter/{encounter_id} kept changing while diagnoses were added; try again")


def _plan(clinic: Clinic, context: EncounterContext, request: DiagnosesRequest, codes: dict[str, dict[str, Any]],
          actor: Actor) -> list[dict[str, Any]]:
    encounter = editable(context.stored)
    ranked = sorted(encounter.get("diagnosis") or [], key=lambda d: d.get("rank", 99))
    known = _coded_diagnoses(clinic, context, actor)
    for entry in ranked:
        code = known.get(entry["condition"].get("reference", ""))
        if code in codes:
            raise Duplicate(f"{code} is already a diagnosis of this encounter; nothing was written")
    entries = []
    for index, item in enumerate(request.diagnoses):
        full_url = f"urn:uuid:diagnosis-{index}"
        entries.append(post(condition(clinic, context, v.ENCOUNTER_DIAGNOSIS, codes[item.code]), full_url))
        position = len(ranked) if item.rank is None else min(item.rank - 1, len(ranked))
        ranked.insert(position, {"condition": v.reference(full_url), "use": {"coding": [v.BILLING_DIAGNOSIS]}})
    encounter["diagnosis"] = [{**entry, "rank": rank} for rank, entry in enumerate(ranked, start=1)]
    entries.append(put(context.stored, encounter))
    return entries


def _coded_diagnoses(clinic: Clinic, context: EncounterContext, actor: Actor) -> dict[str, str | None]:
    """``Condition/<id>`` → ICD-10-CM code of the encounter's diagnoses already recorded."""
    found = clinic.chronicle.search("Condition", [("encounter", f"Encounter/{context.id}"),
                                                  ("category", "encounter-diagnosis"), ("_count", "100")],
                                    actor=actor).matches
    return {f"Condition/{c.res_id}": v.first_code(c.resource.get("code"), terminology.ICD10CM) for c in found}
