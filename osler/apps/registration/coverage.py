"""Prelude: insurance — a patient's Coverage, its payer Organization and, when the patient is not the
policy holder, the subscriber as a RelatedPerson.

Written in one transaction with the account change: the payer Organization is created once per payer
id (conditional create on ``PAYER_ID_SYSTEM``); the Coverage carries the member id (``subscriberId``
and an identifier per payer), the plan and group as ``class``, the subscriber and relationship, the
period and the copays/deductible as ``costToBeneficiary``; the patient's guarantor account lists it
(and takes the subscriber as guarantor when asked). Adding the same member id again returns the
coverage on file. A period that ends before it starts is refused (400) before anything is written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from osler.apps.registration.accounts import ensure_account, with_coverage, with_guarantor
from osler.apps.registration.codes import (
    COPAY_TYPE,
    COVERAGE_CLASS,
    MEMBER_ID_SYSTEM,
    ORGANIZATION_TYPE,
    PAYER_ID_SYSTEM,
    SUBSCRIBER_RELATIONSHIP,
    amount_of,
    code_in,
    concept,
    money,
)
from osler.apps.registration.forms import CoverageForm
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.chronicle.store import Chronicle
from osler.fhir.outcome import BadRequest, Conflict, Issue, VersionConflict

ATTEMPTS = 3


@dataclass(frozen=True)
class CoverageAdded:
    coverage: Stored
    payer: Stored | None  # None when the coverage was already on file
    subscriber: Stored | None  # the RelatedPerson written, when the patient is not the subscriber
    created: bool


def member_id_system(payer_id: str) -> str:
    return f"{MEMBER_ID_SYSTEM}/{payer_id}"


def payer_organization(payer_id: str, name: str) -> dict[str, Any]:
    return {"resourceType": "Organization", "active": True, "name": name,
            "identifier": [{"system": PAYER_ID_SYSTEM, "value": payer_id}],
            "type": [concept(ORGANIZATION_TYPE, "pay", "Payer")]}


def coverage_resource(form: CoverageForm, patient_ref: str, payer_ref: str, subscriber_ref: str) -> dict[str, Any]:
    classes = [{"type": concept(COVERAGE_CLASS, "plan"), "value": form.plan,
                **({"name": form.plan_name} if form.plan_name else {})}]
    if form.group_number:
        classes.append({"type": concept(COVERAGE_CLASS, "group"), "value": form.group_number})
    costs = [{"type": concept(COPAY_TYPE, kind), "valueMoney": money(amount)} for kind, amount in form.copays.items()]
    if form.deductible is not None:
        costs.append({"type": concept(COPAY_TYPE, "deductible"), "valueMoney": money(form.deductible)})
    coverage: dict[str, Any] = {
        "resourceType": "Coverage", "status": "active",
        "identifier": [{"system": member_id_system(form.payer_id), "value": form.member_id}],
        "subscriber": {"reference": subscriber_ref}, "subscriberId": form.member_id,
        "beneficiary": {"reference": patient_ref},
        "relationship": concept(SUBSCRIBER_RELATIONSHIP, form.relationship),
        "payor": [{"reference": payer_ref, "display": form.payer_name or form.payer_id}],
        "class": classes, "order": form.priority}
    if form.start or form.end:
        coverage["period"] = {k: v.isoformat() for k, v in (("start", form.start), ("end", form.end)) if v}
    if costs:
        coverage["costToBeneficiary"] = costs
    return coverage


def _subscriber_resource(form: CoverageForm, patient_ref: str) -> dict[str, Any]:
    subscriber = form.subscriber
    assert subscriber is not None
    person: dict[str, Any] = {
        "resourceType": "RelatedPerson", "active": True, "patient": {"reference": patient_ref},
        "relationship": [concept("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "POLHOLD", "policy holder")],
        "name": [{"family": subscriber.family, "given": [subscriber.given]}], "gender": subscriber.sex,
        "birthDate": subscriber.birth_date.isoformat()}
    if subscriber.phone:
        person["telecom"] = [{"system": "phone", "value": subscriber.phone}]
    return person


def check_period(form: CoverageForm) -> None:
    if form.start and form.end and form.end < form.start:
        raise BadRequest("the coverage period ends before it starts: end must be on or after start",
                         issues=[Issue("value", "Coverage.period: the coverage ends before it starts "
                                       "(end must be on or after start)", expression=["Coverage.period"])])


def coverage_on_file(chronicle: Chronicle, patient_id: str, payer_id: str, member_id: str, *,
                     actor: Actor = SYSTEM) -> Stored | None:
    page = chronicle.search("Coverage", [("beneficiary", f"Patient/{patient_id}"),
                                         ("identifier", f"{member_id_system(payer_id)}|{member_id}")], actor=actor)
    return page.matches[0] if page.matches else None


def add_coverage(chronicle: Chronicle, patient_id: str, form: CoverageForm, *, actor: Actor = SYSTEM) -> CoverageAdded:
    """Put an insurance card on file for a patient (NotFound for an unknown patient)."""
    check_period(form)
    patient_ref = f"Patient/{patient_id}"
    for _ in range(ATTEMPTS):
        account = ensure_account(chronicle, patient_id, actor=actor)  # also proves the patient exists
        existing = coverage_on_file(chronicle, patient_id, form.payer_id, form.member_id, actor=actor)
        if existing is not None:
            return CoverageAdded(existing, None, None, created=False)
        payer_urn, coverage_urn, subscriber_urn = (f"urn:uuid:{uuid.uuid4()}" for _ in range(3))
        subscriber_ref = patient_ref if form.relationship == "self" else subscriber_urn
        payer = payer_organization(form.payer_id, form.payer_name or form.payer_id)
        coverage = coverage_resource(form, patient_ref, payer_urn, subscriber_ref)
        entries = [{"fullUrl": payer_urn, "resource": payer,
                    "request": {"method": "POST", "url": "Organization",
                                "ifNoneExist": urlencode({"identifier": f"{PAYER_ID_SYSTEM}|{form.payer_id}"})}},
                   {"fullUrl": coverage_urn, "resource": coverage, "request": {"method": "POST", "url": "Coverage"}}]
        if form.relationship != "self":
            entries.append({"fullUrl": subscriber_urn, "resource": _subscriber_resource(form, patient_ref),
                            "request": {"method": "POST", "url": "RelatedPerson"}})
        updated = with_coverage(account.resource, coverage_urn, form.priority)
        if form.subscriber_is_guarantor:
            updated = with_guarantor(updated, subscriber_ref)
        entries.append({"resource": updated, "request": {"method": "PUT", "url": f"Account/{account.res_id}",
                                                         "ifMatch": account.etag}})
        try:
            results = chronicle.transact(entries, actor=actor)
        except VersionConflict:
            continue  # the account changed meanwhile (a posting): redo on the new version
        stored_coverage = results[1].stored
        assert stored_coverage is not None
        return CoverageAdded(stored_coverage, results[0].stored,
                             results[2].stored if form.relationship != "self" else None, True)
    raise Conflict("the patient's account kept changing while adding the coverage; try again")


def active_coverages(chronicle: Chronicle, patient_id: str, *, actor: Actor = SYSTEM) -> list[Stored]:
    """The patient's active coverages, primary first."""
    page = chronicle.search("Coverage", [("beneficiary", f"Patient/{patient_id}"), ("status", "active"),
                                         ("_count", "50")], actor=actor)
    return sorted(page.matches, key=lambda s: (s.resource.get("order", 99), s.res_id))


def coverage_copays(coverage: dict[str, Any]) -> dict[str, Decimal]:
    """Copays (and the deductible, under ``deductible``) written on a Coverage, by copay type."""
    copays = {}
    for cost in coverage.get("costToBeneficiary") or []:
        kind, amount = code_in(cost.get("type"), COPAY_TYPE), amount_of(cost.get("valueMoney"))
        if kind and amount is not None:
            copays[kind] = amount
    return copays


def payer_id_of(organization: dict[str, Any]) -> str | None:
    return next((i.get("value") for i in organization.get("identifier") or [] if i.get("system") == PAYER_ID_SYSTEM),
                None)
