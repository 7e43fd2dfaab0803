"""In Basket: an inbox — the Communications and Tasks addressed to someone, newest first, with counts.

For a practitioner it includes the items of the pools they belong to and of their PractitionerRoles;
for a patient it is the portal inbox (results, visit summaries, prescriptions ready, messages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from osler.apps.clinic import Clinic
from osler.apps.inbasket.pools import pools_of
from osler.apps.inbasket.vocabulary import (
    ADDRESSEE_TYPES,
    CATEGORIES,
    CATEGORY,
    DELEGATED_FROM_EXT,
    STATE_TAG,
    STATES,
    item_state,
    split_reference,
)
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import BadRequest

# Per item type: the search parameters for its addressee and category, and its newest-first sort.
SEARCH = {"Communication": ("recipient", "category", "-sent"), "Task": ("owner", "code", "-authored-on")}


@dataclass(frozen=True)
class InboxItem:
    type: str
    id: str
    category: str | None
    state: str
    priority: str
    subject: str
    text: str
    time: str
    to: str
    patient: str | None
    sender: str | None
    about: list[str]
    status: str
    delegated_from: str | None

    @classmethod
    def of(cls, stored: Stored) -> InboxItem:
        item = stored.resource
        if stored.res_type == "Communication":
            coding, addressee = (item.get("category") or [{}])[0], item["recipient"][0]["reference"]
            subject = (item.get("topic") or {}).get("text", "")
            text = next((p.get("contentString", "") for p in item.get("payload") or []), "")
            patient, sender, time = item.get("subject"), item.get("sender"), item.get("sent", "")
            about = [a["reference"] for a in item.get("about") or []]
        else:
            coding, addressee = item.get("code") or {}, item["owner"]["reference"]
            category_display = (coding.get("coding") or [{}])[0].get("display", "Task")
            subject, text = category_display, item.get("description", "")
            patient, sender, time = item.get("for"), item.get("requester"), item.get("authoredOn", "")
            about = [r["reference"] for r in [item.get("focus") or {}, *(item.get("basedOn") or [])] if r]
        category = next((c["code"] for c in coding.get("coding") or [] if c.get("system") == CATEGORY), None)
        delegated = next((e["valueReference"]["reference"] for e in item.get("extension") or []
                          if e.get("url") == DELEGATED_FROM_EXT), None)
        return cls(type=stored.res_type, id=stored.res_id, category=category, state=item_state(item),
                   priority=item.get("priority", "routine"), subject=subject, text=text, time=time, to=addressee,
                   patient=(patient or {}).get("reference"), sender=(sender or {}).get("reference"), about=about,
                   status=item.get("status", ""), delegated_from=delegated)

    @property
    def pool(self) -> bool:
        return self.to.startswith("Group/")

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "pool": self.pool}


@dataclass(frozen=True)
class Inbox:
    owner: str
    addressees: list[str]
    counts: dict[str, int]
    items: list[InboxItem]

    def as_json(self) -> dict[str, Any]:
        return {"owner": self.owner, "addressees": self.addressees, "counts": self.counts,
                "items": [item.as_json() for item in self.items]}


def addressees_of(clinic: Clinic, owner: str, *, actor: Actor = SYSTEM) -> list[str]:
    """``owner`` and whom its items may be addressed to instead: its pools and (for a Practitioner) roles."""
    res_type, _ = split_reference(owner, what="owner")
    found = [owner]
    if res_type == "Practitioner":
        roles = clinic.chronicle.search("PractitionerRole", [("practitioner", owner)], actor=actor).matches
        found += [f"PractitionerRole/{r.res_id}" for r in roles]
    if res_type in ("Practitioner", "PractitionerRole"):
        found += [pool for who in list(found) for pool in pools_of(clinic, who, actor=actor)]
    return list(dict.fromkeys(found))


def inbox(clinic: Clinic, owner: str, state: str | None = None, category: str | None = None, *,
          limit: int = 50, actor: Actor = SYSTEM) -> Inbox:
    """The items addressed to ``owner`` (and its pools), newest first, optionally only of one state or
    category; ``counts`` by state (of that category). ``NotFound`` (404) for an unknown owner."""
    owner_type, owner_id = split_reference(owner, allowed=ADDRESSEE_TYPES, what="owner")
    clinic.chronicle.read(owner_type, owner_id, actor=actor)  # an unknown owner is a 404, not an empty inbox
    if state is not None and state not in STATES:
        raise BadRequest(f"state {state!r} is not one of {', '.join(STATES)}")
    if category is not None and category not in CATEGORIES:
        raise BadRequest(f"category {category!r} is not one of {', '.join(CATEGORIES)}")
    addressees = addressees_of(clinic, owner, actor=actor)
    found: list[Stored] = []
    counts = dict.fromkeys(STATES, 0)
    for res_type, (addressed, coded, order) in SEARCH.items():
        base = [(addressed, ",".join(addressees))]
        if category:
            base.append((coded, f"{CATEGORY}|{category}"))
        for name in STATES:
            counts[name] += clinic.chronicle.search(res_type, [*base, ("_tag", f"{STATE_TAG}|{name}"),
                                                               ("_summary", "count")], actor=actor).total or 0
        wanted = [*base, *([("_tag", f"{STATE_TAG}|{state}")] if state else []), ("_sort", order),
                  ("_count", str(limit))]
        found += clinic.chronicle.search(res_type, wanted, actor=actor).matches
    items = sorted((InboxItem.of(s) for s in found), key=lambda i: i.time, reverse=True)[:limit]
    return Inbox(owner, addressees, counts, items)
