"""EpicCare Ambulatory (charting): the open-encounter guard and the one way charting writes.

Every charting write names an Encounter. It must exist (else 404) and be open — ``arrived``,
``triaged`` or ``in-progress`` — or the write is refused with ``EncounterClosed`` (409) before
anything is written. The practitioner acting (author, requester, performer) is the one the request
names, else the encounter's primary performer; an unknown one is refused (422).

Signing a note, writing an addendum and printing the after-visit summary also work on a finished
encounter (charts are completed after the patient leaves); they use ``documented_encounter``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from osler.apps.charting import vocabulary as v
from osler.apps.charting.errors import EncounterClosed, UnknownReference
from osler.apps.clinic import Clinic
from osler.chronicle.records import Actor, Stored
from osler.fhir.outcome import Conflict, NotFound, VersionConflict

OPEN = frozenset({"arrived", "triaged", "in-progress"})
VOID = frozenset({"cancelled", "entered-in-error"})


@dataclass(frozen=True)
class EncounterContext:
    """The encounter being charted, its patient and the practitioner acting in it."""

    stored: Stored
    patient_id: str
    practitioner_id: str

    @property
    def id(self) -> str:
        return self.stored.res_id

    @property
    def encounter(self) -> dict[str, str]:
        return v.reference(f"Encounter/{self.id}")

    @property
    def patient(self) -> dict[str, str]:
        return v.reference(f"Patient/{self.patient_id}")

    @property
    def practitioner(self) -> dict[str, str]:
        return v.reference(f"Practitioner/{self.practitioner_id}")


def open_encounter(clinic: Clinic, encounter_id: str, *, practitioner: str | None, actor: Actor) -> EncounterContext:
    """The encounter, if charting may write into it now; ``EncounterClosed`` (409) otherwise."""
    stored = clinic.chronicle.read("Encounter", encounter_id, actor=actor)
    status = stored.resource.get("status")
    if status not in OPEN:
        reason = "is finished" if status == "finished" else f"is {status}"
        raise EncounterClosed(f"the encounter {reason}; Encounter/{encounter_id} takes no more charting "
                              f"(open encounters are {', '.join(sorted(OPEN))}); nothing was written")
    return _context(clinic, stored, practitioner, actor)


def documented_encounter(clinic: Clinic, encounter_id: str, *, practitioner: str | None,
                         actor: Actor) -> EncounterContext:
    """The encounter, open or finished (not cancelled or entered in error)."""
    stored = clinic.chronicle.read("Encounter", encounter_id, actor=actor)
    if stored.resource.get("status") in VOID:
        raise EncounterClosed(f"the encounter is {stored.resource['status']}: Encounter/{encounter_id} "
                              "cannot be documented; nothing was written")
    return _context(clinic, stored, practitioner, actor)


def _context(clinic: Clinic, stored: Stored, practitioner: str | None, actor: Actor) -> EncounterContext:
    encounter = stored.resource
    patient_id = v.reference_id(encounter.get("subject"), "Patient")
    if patient_id is None:
        raise Conflict(f"Encounter/{stored.res_id} has no patient: it cannot be charted")
    practitioner_id = practitioner or primary_performer(encounter)
    if practitioner_id is None:
        raise UnknownReference(f"Encounter/{stored.res_id} has no primary performer: name the practitioner")
    read_known(clinic, "Practitioner", practitioner_id, actor=actor)
    return EncounterContext(stored, patient_id, practitioner_id)


def primary_performer(encounter: dict[str, Any]) -> str | None:
    """The encounter's primary performer (PPRF), else its first Practitioner participant."""
    practitioners = []
    for participant in encounter.get("participant") or []:
        practitioner_id = v.reference_id(participant.get("individual"), "Practitioner")
        if practitioner_id is None:
            continue
        roles = {c.get("code") for kind in participant.get("type") or [] for c in kind.get("coding") or []}
        if v.PRIMARY_PERFORMER in roles:
            return practitioner_id
        practitioners.append(practitioner_id)
    return practitioners[0] if practitioners else None

def read_known(clinic: Clinic, res_type: str, res_id: str, *, actor: Actor) -> Stored:
    """A resource a request names in its body: ``UnknownReference`` (422) when it does not exist."""
    try:
        return clinic.chronicle.read(res_type, res_id, actor=actor)
    except NotFound:
        raise UnknownReference(f"{res_type}/{res_id} is not known; nothing was written") from None


def same_patient(stored: Stored, context: EncounterContext, *, path: str = "patient") -> None:
    """Refuse (422) a resource of another patient than the encounter's."""
    if v.reference_id(stored.resource.get(path), "Patient") != context.patient_id:
        raise UnknownReference(f"{stored.res_type}/{stored.res_id} belongs to another patient; nothing was written")


# ------------------------------------------------------------------------------------- writes


def post(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    """A transaction entry creating ``resource`` (``full_url`` a ``urn:uuid:`` others may reference)."""
    entry: dict[str, Any] = {"request": {"method": "POST", "url": resource["resourceType"]}, "resource": resource}
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def put(current: Stored, resource: dict[str, Any]) -> dict[str, Any]:
    """A transaction entry updating ``current`` only if nobody wrote it since it was read."""
    return {"request": {"method": "PUT", "url": f"{current.res_type}/{current.res_id}", "ifMatch": current.etag},
            "resource": {**resource, "id": current.res_id}}


def editable(stored: Stored) -> dict[str, Any]:
    """A private copy of a stored resource to change (``Stored.resource`` is shared and cached)."""
    return orjson.loads(stored.content or "{}")


def transact(clinic: Clinic, entries: list[dict[str, Any]], *, actor: Actor) -> list[Stored]:
    """Write ``entries`` all-or-nothing; the stored resources in entry order. A concurrent change to a
    resource updated here (``ifMatch``) is a 409 telling the caller to reload."""
    try:
        results = clinic.chronicle.transact(entries, actor=actor)
    except VersionConflict:
        raise Conflict("the chart changed while this was being saved (someone else wrote to it); reload and "
                       "try again; nothing was written") from None
    return [result.stored for result in results if result.stored is not None]
