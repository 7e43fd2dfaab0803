"""In Basket: the code systems, tags, identifiers and extensions it writes, and its errors.

* Category of an item (``CATEGORY``): ``Communication.category`` / ``Task.code``.
* State of an item for its recipient (``meta.tag`` ``STATE_TAG|unread|read|done``), so an inbox is a
  token search. A pool item has one state: read or done by one member is read or done for the pool.
* A pool is a ``Group`` (type practitioner) with identifier ``POOL|<code>``; the practitioner whose
  team it is may be its ``managingEntity`` (the "care team pool" patient messages are routed to).
* An out-of-office delegation is a ``Basic`` (code ``INBASKET|delegation``, identifier
  ``DELEGATION|<Practitioner id>``, subject the away practitioner) with ``COVERING_EXT`` (who covers)
  and ``AWAY_EXT`` (a Period).
* ``DELEGATED_FROM_EXT`` on an item: whom it was addressed to before delegation; ``DONE_BY_EXT``: who
  marked it done.
"""

from __future__ import annotations

from typing import Any

from osler.apps.errors import Forbidden, UnknownReference  # noqa: F401 — re-exported as this application's errors
from osler.chronicle.records import Actor
from osler.fhir.outcome import BadRequest, FhirError

INBASKET = "urn:osler:inbasket"
CATEGORY = f"{INBASKET}:category"
STATE_TAG = f"{INBASKET}:state"
POOL = f"{INBASKET}:pool"
DELEGATION = f"{INBASKET}:delegation"
STATES = ("unread", "read", "done")
PRIORITIES = ("routine", "urgent", "asap", "stat")
CARE_TEAM = "care-team"  # a patient's message "to my care team": routed by the rules
ROUTING_ACTOR = Actor("inbasket-routing", "TREAT")  # the reads routing makes to deliver an item

EXTENSION_BASE = "http://osler.dev/fhir/StructureDefinition"
DELEGATED_FROM_EXT = f"{EXTENSION_BASE}/inbasket-delegated-from"
DONE_BY_EXT = f"{EXTENSION_BASE}/inbasket-done-by"
COVERING_EXT = f"{EXTENSION_BASE}/inbasket-covering"
AWAY_EXT = f"{EXTENSION_BASE}/inbasket-away"

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
ADDRESSEE_TYPES = ("Practitioner", "PractitionerRole", "Patient", "Group", "Organization", "RelatedPerson")
STAFF_TYPES = ("Practitioner", "PractitionerRole")


def category_concept(category: str) -> dict[str, Any]:
    if category not in CATEGORIES:
        raise ValueError(f"unknown in-basket category {category!r}")
    return {"coding": [{"system": CATEGORY, "code": category, "display": CATEGORIES[category]}]}


def state_tag(state: str) -> dict[str, str]:
    return {"system": STATE_TAG, "code": state}


def reference(target: str, display: str | None = None) -> dict[str, str]:
    return {"reference": target, **({"display": display} if display else {})}


def ref_type(target: str) -> str:
    return target.partition("/")[0]


def split_reference(target: str, *, allowed: tuple[str, ...] = ADDRESSEE_TYPES, what: str = "reference") \
        -> tuple[str, str]:
    """``Practitioner/12`` → (``Practitioner``, ``12``); ``BadRequest`` (400) for anything else."""
    res_type, _, res_id = target.partition("/")
    if res_type not in allowed or not res_id or "/" in res_id:
        raise BadRequest(f"{what} {target!r} is not a reference to one of {', '.join(allowed)} (Type/id)")
    return res_type, res_id


def item_state(item: dict[str, Any]) -> str:
    return next((t["code"] for t in (item.get("meta") or {}).get("tag") or [] if t.get("system") == STATE_TAG),
                "unread")


# ------------------------------------------------------------------------------------- errors


class Unroutable(FhirError):
    """The routing rules find no one to deliver the item to (422)."""

    status = 422
    code = "business-rule"
