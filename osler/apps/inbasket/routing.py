"""In Basket: routing rules (``routing.json``) — who actually receives an item.

Applied inside ``compose_message`` and ``compose_task``: the first rule matching the item's category
(and sender type) picks the destination — the addressee, the care team's pool, or a named pool —
and then, unless the rule says otherwise, an out-of-office practitioner's items go to whoever covers
for them (``delegation``). Reads are few and only where needed: the patient and her care team's pool
for a patient's message; the delegations from a per-process cache otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from osler.apps.clinic import Clinic
from osler.apps.inbasket.delegation import delegate_of
from osler.apps.inbasket.pools import find_pool, pool_managed_by
from osler.apps.inbasket.vocabulary import CARE_TEAM, CATEGORIES, ROUTING_ACTOR, STAFF_TYPES, Unroutable, ref_type
from osler.fhir.outcome import NotFound


@dataclass(frozen=True)
class Rule:
    category: str
    to: str  # addressee | care-team-pool | pool:<code>
    sender: str | None = None  # the sender's resource type, when the rule is only for such senders
    delegate: bool = True

    def matches(self, category: str, sender: str | None) -> bool:
        return self.category == category and (self.sender is None or (sender or "").startswith(f"{self.sender}/"))


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...]
    care_team_fallback_pool: str | None

    def rule_for(self, category: str, sender: str | None) -> Rule:
        return next((r for r in self.rules if r.matches(category, sender)), Rule(category, "addressee"))


@dataclass(frozen=True)
class Routed:
    target: str
    delegated_from: str | None = None


@cache
def rules() -> Rules:
    document = json.loads((resources.files(__package__) / "routing.json").read_text(encoding="utf-8"))
    loaded = []
    for item in document["rules"]:
        if item["category"] not in CATEGORIES:
            raise ValueError(f"routing.json: unknown category {item['category']!r}")
        loaded.append(Rule(item["category"], item["to"], item.get("sender"), item.get("delegate", True)))
    return Rules(tuple(loaded), document.get("care_team_fallback_pool"))


def route(clinic: Clinic, category: str, addressee: str, *, patient: str | None = None,
          sender: str | None = None) -> Routed:
    """Where an item addressed to ``addressee`` goes under the rules."""
    table = rules()
    rule = table.rule_for(category, sender)
    if rule.to == "care-team-pool":
        target = _care_team(clinic, addressee, patient or sender, table.care_team_fallback_pool)
    elif rule.to.startswith("pool:"):
        target = _pool(clinic, rule.to.removeprefix("pool:")) or addressee
    else:
        target = addressee
    if target == CARE_TEAM:
        raise Unroutable(f"only a patient's message can be sent to {CARE_TEAM!r}")
    if rule.delegate and ref_type(target) in STAFF_TYPES:
        covering = delegate_of(clinic, target)
        if covering != target:
            return Routed(covering, delegated_from=target)
    return Routed(target)


def _care_team(clinic: Clinic, addressee: str, patient: str | None, fallback: str | None) -> str:
    """The pool of the named practitioner — or, for ``care-team``, of the patient's primary care
    provider — else that practitioner, else the fallback pool."""
    if addressee == CARE_TEAM:
        clinician = _primary_care_provider(clinic, patient) if patient else None
    elif ref_type(addressee) in STAFF_TYPES:
        clinician = addressee
    else:
        return addressee  # a pool, or anyone else, as addressed
    if clinician is not None:
        return pool_managed_by(clinic, clinician) or clinician
    found = _pool(clinic, fallback) if fallback else None
    if found is None:
        raise Unroutable("the patient has no primary care provider and there is no patient-message pool to send "
                         "the message to; address it to a clinician")
    return found


def _primary_care_provider(clinic: Clinic, patient: str) -> str | None:
    res_type, _, res_id = patient.partition("/")
    resource = clinic.chronicle.read(res_type, res_id, actor=ROUTING_ACTOR).resource
    return next((ref["reference"] for ref in resource.get("generalPractitioner") or []
                 if ref_type(ref.get("reference", "")) in STAFF_TYPES), None)


def _pool(clinic: Clinic, code: str) -> str | None:
    try:
        return f"Group/{find_pool(clinic, code).res_id}"
    except NotFound:
        return None
