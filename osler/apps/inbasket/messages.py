"""In Basket: composing messages (Communication) and work items (Task) for staff and patients.

Applications put what they compose into their own ``Chronicle.transact`` call, so a lab result and
the message announcing it are stored together or not at all. Nothing here writes; the routing rules
(``routing``) may read — the patient's care team for a patient's message, the out-of-office
delegations (cached) for staff — to decide who actually receives the item.

Every in-basket item carries its category (``CATEGORY`` code system) and its state for the
recipient as a tag (``STATE_TAG``: unread → read → done), so an inbox is one token search:
``Communication?recipient=Practitioner/1&_tag=urn:osler:inbasket:state|unread``.
"""

from __future__ import annotations

from typing import Any

from osler.apps.clinic import Clinic, instant
from osler.apps.inbasket.routing import Routed, route
from osler.apps.inbasket.vocabulary import (
    CATEGORIES,
    CATEGORY,
    DELEGATED_FROM_EXT,
    PRIORITIES,
    STATE_TAG,
    STATES,
    category_concept,
    reference,
    state_tag,
)

__all__ = ["CATEGORIES", "CATEGORY", "PRIORITIES", "STATES", "STATE_TAG", "compose_message", "compose_task",
           "post_entry"]


def compose_message(clinic: Clinic, *, category: str, recipient: str, subject: str, text: str,
                    patient: str | None = None, sender: str | None = None, about: list[str] | None = None,
                    priority: str = "routine") -> dict[str, Any]:
    """A Communication to ``recipient`` (``Practitioner/…``, ``Patient/…``, ``Organization/…``, a pool
    ``Group/…``, or ``care-team`` for a patient's message), unread, about the given resources
    (``Type/id``), delivered where the routing rules say; not stored."""
    routed = _routed(clinic, category, recipient, priority, patient=patient, sender=sender)
    message: dict[str, Any] = {
        "resourceType": "Communication", "meta": {"tag": [state_tag("unread")]}, "status": "completed",
        "category": [category_concept(category)], "priority": priority, "sent": instant(clinic.now()),
        "recipient": [reference(routed.target)], "topic": {"text": subject},
        "payload": [{"contentString": text}]}
    _mark_delegation(message, routed)
    if patient:
        message["subject"] = reference(patient)
    if sender:
        message["sender"] = reference(sender)
    if about:
        message["about"] = [reference(target) for target in about]
    return message


def compose_task(clinic: Clinic, *, category: str, owner: str, description: str, patient: str | None = None,
                 focus: str | None = None, requester: str | None = None, priority: str = "routine",
                 based_on: list[str] | None = None) -> dict[str, Any]:
    """A Task asking ``owner`` (or whoever the routing rules send it to) to act — review a result,
    answer a refill request…; unread; not stored."""
    routed = _routed(clinic, category, owner, priority, patient=patient, sender=requester)
    task: dict[str, Any] = {
        "resourceType": "Task", "meta": {"tag": [state_tag("unread")]}, "status": "requested",
        "intent": "order", "priority": priority, "code": category_concept(category), "description": description,
        "authoredOn": instant(clinic.now()), "owner": reference(routed.target)}
    _mark_delegation(task, routed)
    if patient:
        task["for"] = reference(patient)
    if focus:
        task["focus"] = reference(focus)
    if requester:
        task["requester"] = reference(requester)
    if based_on:
        task["basedOn"] = [reference(target) for target in based_on]
    return task


def _routed(clinic: Clinic, category: str, addressee: str, priority: str, *, patient: str | None,
            sender: str | None) -> Routed:
    if priority not in PRIORITIES:
        raise ValueError(f"unknown priority {priority!r}")
    return route(clinic, category, addressee, patient=patient, sender=sender)


def _mark_delegation(item: dict[str, Any], routed: Routed) -> None:
    if routed.delegated_from:
        item["extension"] = [{"url": DELEGATED_FROM_EXT, "valueReference": reference(routed.delegated_from)}]


def post_entry(resource: dict[str, Any]) -> dict[str, Any]:
    """A transaction entry that creates ``resource``."""
    return {"request": {"method": "POST", "url": resource["resourceType"]}, "resource": resource}
