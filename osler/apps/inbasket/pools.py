"""In Basket: pools — shared inboxes (a front desk, a nurse triage team, a clinician's care team).

A pool is a FHIR ``Group`` of type practitioner whose members are Practitioners (or their roles),
identified by ``POOL|<code>``; ``lead``, stored as ``managingEntity``, makes it that clinician's care
team pool, where the routing rules send patients' messages. Defining a pool again with the same code
updates it (a conditional update on the identifier).
"""

from __future__ import annotations

from osler.apps.clinic import Clinic
from osler.apps.inbasket.requests import PoolSetup
from osler.apps.inbasket.vocabulary import (
    POOL,
    ROUTING_ACTOR,
    STAFF_TYPES,
    UnknownReference,
    reference,
    split_reference,
)
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import NotFound


def define_pool(clinic: Clinic, setup: PoolSetup, *, actor: Actor = SYSTEM) -> Stored:
    """Create or update the pool ``setup.code``; members and lead must be existing staff."""
    for index, member in enumerate([*setup.members, *([setup.lead] if setup.lead else [])]):
        res_type, res_id = split_reference(member, allowed=STAFF_TYPES, what=f"members[{index}]")
        try:
            clinic.chronicle.read(res_type, res_id, actor=actor)
        except NotFound:
            raise UnknownReference(f"{member} is not known: a pool's members must exist") from None
    group = {"resourceType": "Group", "identifier": [{"system": POOL, "value": setup.code}], "active": setup.active,
             "type": "practitioner", "actual": True, "name": setup.name, "quantity": len(setup.members),
             "member": [{"entity": reference(m)} for m in setup.members]}
    if setup.lead:
        group["managingEntity"] = reference(setup.lead)
    return clinic.chronicle.conditional_update("Group", f"identifier={POOL}|{setup.code}", group, actor=actor).stored


def find_pool(clinic: Clinic, code: str, *, actor: Actor = ROUTING_ACTOR) -> Stored:
    """The pool with this code; ``NotFound`` (404) when there is none."""
    found = clinic.chronicle.search("Group", [("identifier", f"{POOL}|{code}")], actor=actor).matches
    if not found:
        raise NotFound(f"there is no in-basket pool {code!r}")
    return found[0]


def list_pools(clinic: Clinic, *, actor: Actor = SYSTEM) -> list[Stored]:
    found = clinic.chronicle.search("Group", [("identifier", f"{POOL}|"), ("_count", "1000")], actor=actor).matches
    return sorted(found, key=pool_code)


def pool_code(pool: Stored) -> str:
    return next(i["value"] for i in pool.resource.get("identifier") or [] if i.get("system") == POOL)


def pools_of(clinic: Clinic, member: str, *, actor: Actor = SYSTEM) -> list[str]:
    """The active pools ``member`` belongs to, as ``Group/<id>``."""
    found = clinic.chronicle.search("Group", [("member", member), ("identifier", f"{POOL}|")], actor=actor).matches
    return [f"Group/{g.res_id}" for g in found if g.resource.get("active", True)]


def is_member(clinic: Clinic, pool: str, member: str, *, actor: Actor = SYSTEM) -> bool:
    res_type, _, res_id = pool.partition("/")
    if res_type != "Group":
        return False
    group = clinic.chronicle.read("Group", res_id, actor=actor).resource
    return any((m.get("entity") or {}).get("reference") == member for m in group.get("member") or [])


def pool_managed_by(clinic: Clinic, clinician: str) -> str | None:
    """The active pool ``clinician`` leads (their care team's pool), as ``Group/<id>``."""
    found = clinic.chronicle.search("Group", [("managing-entity", clinician), ("identifier", f"{POOL}|")],
                                    actor=ROUTING_ACTOR).matches
    return next((f"Group/{g.res_id}" for g in found if g.resource.get("active", True)), None)
