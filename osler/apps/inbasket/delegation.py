"""In Basket: out-of-office delegation — while a practitioner is away, the items routed to them go to
a covering colleague or pool.

One ``Basic`` resource per away practitioner (see ``vocabulary``), set and ended here. Routing looks
delegations up on every staff item, so they are cached per process for ``CACHE_SECONDS`` (one search
refreshes all of them); a change made in this process clears the cache at once, one made by another
process is seen within ``CACHE_SECONDS``. Chains (A covered by B, who is away too) are followed up to
``MAX_HOPS``; a cycle stops where it would repeat.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from osler.apps.clinic import Clinic, instant, parse_instant
from osler.apps.inbasket.requests import DelegationSetup
from osler.apps.inbasket.vocabulary import (
    AWAY_EXT,
    COVERING_EXT,
    DELEGATION,
    INBASKET,
    ROUTING_ACTOR,
    STAFF_TYPES,
    UnknownReference,
    reference,
    split_reference,
)
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.chronicle.store import Chronicle
from osler.fhir.outcome import BadRequest, NotFound

CACHE_SECONDS = 10.0
MAX_HOPS = 3
CODE = {"coding": [{"system": INBASKET, "code": "delegation", "display": "In Basket delegation"}]}


@dataclass(frozen=True)
class Delegation:
    away: str
    covering: str
    start: datetime | None
    end: datetime | None

    @classmethod
    def of(cls, resource: dict[str, Any]) -> Delegation:
        values = {e["url"]: e for e in resource.get("extension") or []}
        period = values[AWAY_EXT]["valuePeriod"]
        return cls(resource["subject"]["reference"], values[COVERING_EXT]["valueReference"]["reference"],
                   parse_instant(period["start"]) if "start" in period else None,
                   parse_instant(period["end"]) if "end" in period else None)

    def covers(self, moment: datetime) -> bool:
        return (self.start is None or self.start <= moment) and (self.end is None or moment < self.end)


_cache: WeakKeyDictionary[Chronicle, tuple[float, dict[str, Delegation]]] = WeakKeyDictionary()
_lock = threading.Lock()


def _delegations(chronicle: Chronicle) -> dict[str, Delegation]:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(chronicle)
    if cached is not None and cached[0] > now:
        return cached[1]
    found = chronicle.search("Basic", [("code", f"{INBASKET}|delegation"), ("_count", "1000")],
                             actor=ROUTING_ACTOR).matches
    table = {d.away: d for d in (Delegation.of(s.resource) for s in found)}
    with _lock:
        _cache[chronicle] = (now + CACHE_SECONDS, table)
    return table


def forget_delegations(chronicle: Chronicle) -> None:
    with _lock:
        _cache.pop(chronicle, None)


def delegate_of(clinic: Clinic, addressee: str) -> str:
    """Who receives what is addressed to ``addressee`` now: a covering colleague or pool, or themself."""
    table = _delegations(clinic.chronicle)
    if not table:
        return addressee
    moment, seen, target = clinic.now(), {addressee}, addressee
    for _hop in range(MAX_HOPS):
        found = table.get(target)
        if found is None or not found.covers(moment) or found.covering in seen:
            break
        target = found.covering
        seen.add(target)
    return target


def set_delegation(clinic: Clinic, setup: DelegationSetup, *, actor: Actor = SYSTEM) -> Stored:
    """Route ``setup.practitioner``'s items to ``setup.covering`` from ``start`` (default now) until
    ``end`` (default: until ended); replaces an earlier delegation of the same practitioner."""
    start = setup.start or clinic.now()
    if setup.end is not None and setup.end <= start:
        raise BadRequest(f"the delegation ends ({instant(setup.end)}) before it starts ({instant(start)})")
    if setup.covering == setup.practitioner:
        raise BadRequest("a practitioner cannot cover for themself")
    away_type, away_id = split_reference(setup.practitioner, allowed=STAFF_TYPES, what="practitioner")
    covering_type, covering_id = split_reference(setup.covering, allowed=(*STAFF_TYPES, "Group"), what="covering")
    for res_type, res_id in ((away_type, away_id), (covering_type, covering_id)):
        try:
            clinic.chronicle.read(res_type, res_id, actor=actor)
        except NotFound:
            raise UnknownReference(f"{res_type}/{res_id} is not known") from None
    period = {"start": instant(start), **({"end": instant(setup.end)} if setup.end else {})}
    basic = {"resourceType": "Basic", "identifier": [{"system": DELEGATION, "value": setup.practitioner}],
             "code": CODE, "subject": reference(setup.practitioner), "created": clinic.today().isoformat(),
             "extension": [{"url": COVERING_EXT, "valueReference": reference(setup.covering)},
                           {"url": AWAY_EXT, "valuePeriod": period}]}
    stored = clinic.chronicle.conditional_update("Basic", f"identifier={DELEGATION}|{setup.practitioner}", basic,
                                                 actor=actor).stored
    forget_delegations(clinic.chronicle)
    return stored


def end_delegation(clinic: Clinic, practitioner: str, *, actor: Actor = SYSTEM) -> None:
    """The practitioner is back: their items come to them again. ``NotFound`` when none was set."""
    found = clinic.chronicle.search("Basic", [("identifier", f"{DELEGATION}|{practitioner}")], actor=actor).matches
    if not found:
        raise NotFound(f"{practitioner} has no delegation to end")
    clinic.chronicle.delete("Basic", found[0].res_id, actor=actor)
    forget_delegations(clinic.chronicle)
