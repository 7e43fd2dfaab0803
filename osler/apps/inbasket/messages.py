"""In Basket: composing messages (Communication) and work items (Task) for staff and patients.

Applications put what they compose into their own ``Chronicle.transact`` call, so a lab result and
the message announcing it are stored together or not at all. Nothing here writes.

Every in-basket item carries its category (``CATEGORY`` code system) and its state for the
recipient as a tag (``STATE_TAG``: unread → read → done), so an inbox is one token search:
``Communication?recipient=Practitioner/1&_tag=urn:osler:inbasket:state|unread``.
"""

from __future__ import annotations

from typing import Any

from osler.apps.clinic import Clinic, instant

INBASKET = "urn:osler:inbasket"
CATEGORY = f"{INBASKET}:category"
STATE_TAG = f"{INBASKET}:state"
STATES = ("unread", "read", "done")
PRIORITIES = ("routine", "urgent", "asap", "stat")

# What in-basket items are about. Messages (Communication) inform; tasks (Task) ask for work.
CATEGORIES = {
    "result": "Result to review",
    "critical-result": "Critical result",
    "result-released": "Test result available",
    "refill-request": "Refill request",
    "patient-message": "Patient message",
    "cc-order": "Order copied to you",
    "visit-summary": "After-visit summary",
    "rx-ready": "Prescription ready for pickup",
    "rx-verification": "Prescription to verify",
    "staff-message": "Staff message",
}


def category_concept(category: str) -> dict[str, Any]:
    if category not in CATEGORIES:
        raise ValueError(f"unknown in-basket category {category!r}")
    return {"coding": [{"system": CATEGORY, "code": category, "display": CATEGORIES[category]}]}


def state_tag(state: str) -> dict[str, str]:
    return {"system": STATE_TAG, "code": state}


def reference(target: str, display: str | None = None) -> dict[str, str]:
    return {"reference": target, **({"display": display} if display else {})}


def compose_message(clinic: Clinic, *, category: str, recipient: str, subject: str, text: str,
                    patient: str | None = None, sender: str | None = None, about: list[str] | None = None,
                    priority: str = "routine") -> dict[str, Any]:
    """A Communication to ``recipient`` (``Practitioner/…``, ``Patient/…``, ``Organization/…`` or a pool
    ``Group/…``), unread, about the given resources (``Type/id``); not stored."""
    if priority not in PRIORITIES:
        raise ValueError(f"unknown priority {priority!r}")
    message: dict[str, Any] = {
        "resourceType": "Communication", "meta": {"tag": [state_tag("unread")]}, "status": "completed",
        "category": [category_concept(category)], "priority": priority, "sent": instant(clinic.now()),
        "recipient": [reference(recipient)], "topic": {"text": subject},
        "payload": [{"contentString": text}]}
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
    """A Task asking ``owner`` to act (review a result, answer a refill request…), unread; not stored."""
    if priority not in PRIORITIES:
        raise ValueError(f"unknown priority {priority!r}")
    task: dict[str, Any] = {
        "resourceType": "Task", "meta": {"tag": [state_tag("unread")]}, "status": "requested",
        "intent": "order", "priority": priority, "code": category_concept(category), "description": description,
        "authoredOn": instant(clinic.now()), "owner": reference(owner)}
    if patient:
        task["for"] = reference(patient)
    if focus:
        task["focus"] = reference(focus)
    if requester:
        task["requester"] = reference(requester)
    if based_on:
        task["basedOn"] = [reference(target) for target in based_on]
    return task


def post_entry(resource: dict[str, Any]) -> dict[str, Any]:
    """A transaction entry that creates ``resource``."""
    return {"request": {"method": "POST", "url": resource["resourceType"]}, "resource": resource}
