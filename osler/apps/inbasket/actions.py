"""In Basket: acting on items — marking them read or done, sending messages and replying.

State changes are updates with ``ifMatch`` (retried on a concurrent change). A pool's item has one
state for the whole pool: done by one member is done for all. Done completes a Task. ``by`` names who
acts: it must be a recipient of the item, a member of the recipient pool, or the one the item was
delegated from — anyone else is refused (403).
"""

from __future__ import annotations

from typing import Any

from osler.apps.clinic import Clinic, instant
from osler.apps.inbasket.messages import compose_message, post_entry
from osler.apps.inbasket.pools import is_member
from osler.apps.inbasket.requests import MessageRequest
from osler.apps.inbasket.vocabulary import (
    CARE_TEAM,
    CATEGORIES,
    DELEGATED_FROM_EXT,
    DONE_BY_EXT,
    STATE_TAG,
    STATES,
    Forbidden,
    UnknownReference,
    item_state,
    ref_type,
    reference,
    split_reference,
    state_tag,
)
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import BadRequest, Conflict, NotFound, VersionConflict

ITEM_TYPES = ("Communication", "Task")
OPEN_TASK = {"draft", "requested", "received", "accepted", "ready", "in-progress", "on-hold"}
ATTEMPTS = 3


def addressed_to(item: dict[str, Any]) -> list[str]:
    """Who an item is for: a Communication's recipients, a Task's owner, and whom it was delegated from."""
    found = [r["reference"] for r in item.get("recipient") or []] if item["resourceType"] == "Communication" \
        else [item["owner"]["reference"]] if item.get("owner") else []
    found += [e["valueReference"]["reference"] for e in item.get("extension") or []
              if e.get("url") == DELEGATED_FROM_EXT]
    return found


def check_addressee(clinic: Clinic, item: dict[str, Any], by: str | None, *, actor: Actor = SYSTEM) -> None:
    """``Forbidden`` (403) unless ``by`` (when given) may act on the item."""
    if by is None:
        return
    addressees = addressed_to(item)
    if by in addressees or any(is_member(clinic, a, by, actor=actor) for a in addressees):
        return
    raise Forbidden(f"{by} is not a recipient of {item['resourceType']}/{item['id']}")


def read_item(clinic: Clinic, item_type: str, item_id: str, *, actor: Actor = SYSTEM) -> Stored:
    if item_type not in ITEM_TYPES:
        raise NotFound(f"{item_type} is not an in-basket item type: use {' or '.join(ITEM_TYPES)}")
    stored = clinic.chronicle.read(item_type, item_id, actor=actor)
    if not any(t.get("system") == STATE_TAG for t in (stored.resource.get("meta") or {}).get("tag") or []):
        raise NotFound(f"{item_type}/{item_id} is not an in-basket item")
    return stored


def mark_read(clinic: Clinic, item_type: str, item_id: str, *, by: str | None = None,
              actor: Actor = SYSTEM) -> Stored:
    """Unread → read; an item already read or done stays as it is."""
    return _set_state(clinic, item_type, item_id, "read", by, actor)


def mark_done(clinic: Clinic, item_type: str, item_id: str, *, by: str | None = None,
              actor: Actor = SYSTEM) -> Stored:
    """Done for every recipient (the whole pool); a Task is completed."""
    return _set_state(clinic, item_type, item_id, "done", by, actor)


def _set_state(clinic: Clinic, item_type: str, item_id: str, state: str, by: str | None, actor: Actor) -> Stored:
    for _attempt in range(ATTEMPTS):
        stored = read_item(clinic, item_type, item_id, actor=actor)
        check_addressee(clinic, stored.resource, by, actor=actor)
        if STATES.index(item_state(stored.resource)) >= STATES.index(state):
            return stored
        try:
            return clinic.chronicle.update(item_type, item_id, changed_state(clinic, stored.resource, state, by),
                                           actor=actor, if_match=stored.etag).stored
        except VersionConflict:
            continue
    raise Conflict(f"{item_type}/{item_id} kept changing; try again")


def changed_state(clinic: Clinic, item: dict[str, Any], state: str, by: str | None) -> dict[str, Any]:
    tags = [t for t in (item.get("meta") or {}).get("tag") or [] if t.get("system") != STATE_TAG]
    updated = {**item, "meta": {"tag": [*tags, state_tag(state)]}}
    if state == "done":
        if by:
            kept = [e for e in item.get("extension") or [] if e.get("url") != DONE_BY_EXT]
            updated["extension"] = [*kept, {"url": DONE_BY_EXT, "valueReference": reference(by)}]
        if item["resourceType"] == "Task" and item.get("status") in OPEN_TASK:
            updated.update(status="completed", lastModified=instant(clinic.now()))
    return updated


def send_message(clinic: Clinic, request: MessageRequest, *, actor: Actor = SYSTEM) -> Stored:
    """Send a message (staff ↔ staff, patient ↔ care team); delivered where the routing rules say."""
    message = _compose(clinic, request, actor)
    return clinic.chronicle.create(message, actor=actor).stored


def _compose(clinic: Clinic, request: MessageRequest, actor: Actor) -> dict[str, Any]:
    sender_type = ref_type(request.sender)
    _require_existing(clinic, request.sender, "sender", actor)
    if request.recipient != CARE_TEAM:
        _require_existing(clinic, request.recipient, "recipient", actor)
    patients = [r for r in (request.sender, request.recipient) if ref_type(r) == "Patient"]
    if len(patients) == 2:
        raise Forbidden("patients cannot message each other")
    if request.recipient == CARE_TEAM and sender_type != "Patient":
        raise BadRequest(f"only a patient writes to {CARE_TEAM!r}; staff name the recipient")
    category = request.category or ("patient-message" if patients else "staff-message")
    if category not in CATEGORIES:
        raise BadRequest(f"category {category!r} is not one of {', '.join(CATEGORIES)}")
    if sender_type == "Patient" and category != "patient-message":
        raise Forbidden("patients can send patient messages only")
    patient = request.patient or (patients[0] if patients else None)
    if sender_type == "Patient" and patient != request.sender:
        raise Forbidden("a patient's message can only be about herself")
    try:
        return compose_message(clinic, category=category, recipient=request.recipient, subject=request.subject,
                               text=request.text, patient=patient, sender=request.sender, priority=request.priority)
    except ValueError as error:
        raise BadRequest(str(error)) from None


def reply(clinic: Clinic, message_id: str, sender: str, text: str, *, actor: Actor = SYSTEM) -> Stored:
    """Answer a message: a new Communication to its sender (``inResponseTo`` it), and the original marked
    done — one transaction."""
    original = read_item(clinic, "Communication", message_id, actor=actor)
    item = original.resource
    check_addressee(clinic, item, sender, actor=actor)
    to = (item.get("sender") or {}).get("reference")
    if to is None:
        raise BadRequest(f"Communication/{message_id} has no sender to reply to")
    category = next(c["code"] for c in item["category"][0]["coding"])
    subject = (item.get("topic") or {}).get("text", "")
    request = MessageRequest(sender=sender, recipient=to, subject=subject if subject.startswith("Re: ")
                             else f"Re: {subject}", text=text, patient=(item.get("subject") or {}).get("reference"),
                             category=category if category in ("patient-message", "staff-message") else None)
    answer = {**_compose(clinic, request, actor), "inResponseTo": [reference(f"Communication/{message_id}")]}
    entries = [post_entry(answer), {"request": {"method": "PUT", "url": f"Communication/{message_id}",
                                                "ifMatch": original.etag},
                                    "resource": changed_state(clinic, item, "done", sender)}]
    try:
        stored = clinic.chronicle.transact(entries, actor=actor)[0].stored
    except VersionConflict:
        raise Conflict(f"Communication/{message_id} changed meanwhile; read it again") from None
    assert stored is not None
    return stored


def _require_existing(clinic: Clinic, target: str, what: str, actor: Actor) -> None:
    res_type, res_id = split_reference(target, what=what)
    try:
        clinic.chronicle.read(res_type, res_id, actor=actor)
    except NotFound:
        raise UnknownReference(f"{what} {target} is not known") from None
