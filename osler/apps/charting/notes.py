"""EpicCare Ambulatory (charting): clinical notes — DocumentReferences the author writes, signs and amends.

A note is a DocumentReference (LOINC document type, e.g. 11506-3 Progress note; category
clinical-note) whose text is a ``text/plain`` attachment, written by its author in the encounter with
``docStatus`` preliminary. While preliminary it may be edited (each edit a new version). Signing makes
it ``final`` with the signer as ``authenticator`` and the signing time (extension ``signed-at``); a
signed note is locked — an edit is refused with ``NoteLocked`` (409) — and the only way to change it
is an addendum: a new version of the same DocumentReference, ``docStatus`` amended, with the addendum
appended as its own content (author and time on it) and the earlier versions kept in its history.

Signing and addenda also work once the patient has left (finished encounter): notes are completed
after the visit.
"""

from __future__ import annotations

import base64
from typing import Any

from osler.apps import terminology
from osler.apps.charting import vocabulary as v
from osler.apps.charting.encounters import (
    EncounterContext,
    documented_encounter,
    editable,
    open_encounter,
    post,
    put,
    transact,
)
from osler.apps.charting.errors import Forbidden, NoteLocked, WrongState
from osler.apps.charting.requests import Acting, Addendum, NoteEdit, NoteRequest
from osler.apps.clinic import Clinic, instant
from osler.chronicle.records import SYSTEM, Actor, Stored

PRELIMINARY = "preliminary"


def write_note(clinic: Clinic, encounter_id: str, request: NoteRequest, *, actor: Actor = SYSTEM) -> Stored:
    """Start a note in the open encounter (``docStatus`` preliminary); the DocumentReference."""
    kind = v.known(terminology.LOINC, request.type, what="LOINC document type", use="note")
    context = open_encounter(clinic, encounter_id, practitioner=request.practitioner, actor=actor)
    now = instant(clinic.now())
    note = {"resourceType": "DocumentReference", "status": "current", "docStatus": PRELIMINARY,
            "type": {"coding": [kind.coding()]}, "category": [{"coding": [v.CLINICAL_NOTE]}],
            "subject": context.patient, "date": now, "author": [context.practitioner],
            "content": [{"attachment": text_attachment(request.text, request.title or kind.display, now)}],
            "context": {"encounter": [context.encounter]}}
    return transact(clinic, [post(note)], actor=actor)[0]


def edit_note(clinic: Clinic, note_id: str, request: NoteEdit, *, actor: Actor = SYSTEM) -> Stored:
    """Replace an unsigned note's text (a new version); ``NoteLocked`` (409) once it is signed."""
    current = _note(clinic, note_id, actor)
    note = editable(current)
    if note.get("docStatus") != PRELIMINARY:
        raise NoteLocked(f"DocumentReference/{note_id} is signed and locked: add an addendum instead; "
                         "nothing was written")
    context = open_encounter(clinic, _encounter_id(current), practitioner=request.practitioner or _author(note),
                             actor=actor)
    if context.practitioner not in note["author"]:
        note["author"].append(context.practitioner)
    title = request.title or note["content"][0]["attachment"].get("title", "Note")
    note["content"] = [{"attachment": text_attachment(request.text, title, instant(clinic.now()))}]
    return transact(clinic, [put(current, note)], actor=actor)[0]


def sign_note(clinic: Clinic, note_id: str, request: Acting, *, actor: Actor = SYSTEM) -> Stored:
    """The author signs: ``docStatus`` final, ``authenticator`` and the signing time; the note is locked."""
    current = _note(clinic, note_id, actor)
    note = editable(current)
    if note.get("docStatus") != PRELIMINARY:
        raise NoteLocked(f"DocumentReference/{note_id} is already signed; nothing was written")
    context = _documenting(clinic, current, request, actor)
    if context.practitioner not in note["author"]:
        raise Forbidden(f"Practitioner/{context.practitioner_id} is not an author of DocumentReference/{note_id}: "
                        "only its author signs a note")
    note["docStatus"] = "final"
    note["authenticator"] = context.practitioner
    note["extension"] = [*note.get("extension", []), v.extension(v.SIGNED_AT_EXT, valueDateTime=instant(clinic.now()))]
    return transact(clinic, [put(current, note)], actor=actor)[0]


def add_addendum(clinic: Clinic, note_id: str, request: Addendum, *, actor: Actor = SYSTEM) -> Stored:
    """Append an addendum to a signed note: a new version, ``docStatus`` amended, earlier versions kept."""
    current = _note(clinic, note_id, actor)
    note = editable(current)
    if note.get("docStatus") == PRELIMINARY:
        raise WrongState(f"DocumentReference/{note_id} is not signed yet: edit it instead of adding an addendum; "
                         "nothing was written")
    context = _documenting(clinic, current, request, actor)
    now = instant(clinic.now())
    note["docStatus"] = "amended"
    note["date"] = now
    if context.practitioner not in note["author"]:
        note["author"].append(context.practitioner)
    note["content"].append({"extension": [v.extension(v.ADDENDUM_AUTHOR_EXT, valueReference=context.practitioner)],
                            "attachment": text_attachment(request.text, f"Addendum {now}", now)})
    return transact(clinic, [put(current, note)], actor=actor)[0]


def note_text(note: dict[str, Any]) -> str:
    """The note's text with its addenda, each after a blank line."""
    parts = []
    for content in note.get("content") or []:
        attachment = content.get("attachment") or {}
        if attachment.get("contentType", "").startswith("text/plain") and attachment.get("data"):
            parts.append(base64.b64decode(attachment["data"]).decode("utf-8"))
    return "\n\n".join(parts)


def text_attachment(text: str, title: str, created: str) -> dict[str, Any]:
    return {"contentType": "text/plain", "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
            "title": title, "creation": created}


def _note(clinic: Clinic, note_id: str, actor: Actor) -> Stored:
    current = clinic.chronicle.read("DocumentReference", note_id, actor=actor)
    if v.CLINICAL_NOTE["code"] not in {c.get("code") for cat in current.resource.get("category") or []
                                        for c in cat.get("coding") or []}:
        raise WrongState(f"DocumentReference/{note_id} is not a clinical note; nothing was written")
    return current


def _encounter_id(note: Stored) -> str:
    encounters = (note.resource.get("context") or {}).get("encounter") or [{}]
    encounter_id = v.reference_id(encounters[0], "Encounter")
    if encounter_id is None:
        raise WrongState(f"DocumentReference/{note.res_id} belongs to no encounter")
    return encounter_id


def _author(note: dict[str, Any]) -> str | None:
    return next((pid for ref in note.get("author") or [] if (pid := v.reference_id(ref, "Practitioner"))), None)


def _documenting(clinic: Clinic, note: Stored, request: Acting, actor: Actor) -> EncounterContext:
    """The note's encounter (open or finished) and who acts: the one named, else the note's first author."""
    acting = request.practitioner or _author(note.resource)
    return documented_encounter(clinic, _encounter_id(note), practitioner=acting, actor=actor)
