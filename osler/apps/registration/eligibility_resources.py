"""Prelude: eligibility in FHIR — the CoverageEligibilityRequest/Response Osler writes, and reading them back.

The request's state is a ``meta.tag`` of ``ELIGIBILITY_STATE_SYSTEM`` (R4's request status has no
"pending"): ``pending`` while the payer has not answered, ``answered`` once a response exists,
``failed`` when Osler gave up asking. The number of calls made so far is the extension
``ELIGIBILITY_ATTEMPTS_URL``. The response points at its request (``request``) and carries the
request's id as identifier (``ELIGIBILITY_RESPONSE_SYSTEM``), so a retry can never answer twice.

Benefits in the response: one ``item`` per copay kind (category = coverage-copay-type code, benefit
``copay``), and one plan-level item (category ex-benefitcategory 30) with the deductible (allowed and
used), the coinsurance (``copay-percent``) and the out-of-pocket maximum (``copay-maximum``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from osler.apps.registration.codes import (
    BENEFIT_CATEGORY,
    BENEFIT_TYPE,
    COPAY_TYPE,
    ELIGIBILITY_ATTEMPTS_URL,
    ELIGIBILITY_ERROR_SYSTEM,
    ELIGIBILITY_RESPONSE_SYSTEM,
    ELIGIBILITY_STATE_SYSTEM,
    HEALTH_PLAN_COVERAGE,
    amount_of,
    code_in,
    coding,
    concept,
    money,
)
from osler.apps.registration.payer_port import EligibilityAnswer, EligibilityStatus

PENDING, ANSWERED, FAILED = "pending", "answered", "failed"
PAYER_UNAVAILABLE = "payer-unavailable"


@dataclass(frozen=True)
class EligibilityCheck:
    """One eligibility check as check-in sees it.

    ``status``: active · inactive · member-not-found · pending (payer unreachable, will be retried)
    · payer-unavailable (Osler gave up retrying).
    """

    status: str
    request_id: str
    response_id: str | None
    patient_id: str
    coverage_id: str
    checked_at: datetime
    answered_at: datetime | None = None
    message: str = ""
    plan_name: str | None = None
    copays: dict[str, Decimal] = field(default_factory=dict)  # visit kind (gpvisit…) → copay
    coinsurance_percent: int | None = None
    deductible: Decimal | None = None
    deductible_met: Decimal | None = None
    out_of_pocket_max: Decimal | None = None

    @property
    def deductible_remaining(self) -> Decimal | None:
        if self.deductible is None:
            return None
        return max(self.deductible - (self.deductible_met or Decimal("0")), Decimal("0.00"))

    def needs_reverification(self, max_age_days: int, now: datetime | None = None) -> bool:
        """True when this answer is too old to trust (``Settings.eligibility_max_age_days``) or never came."""
        if self.status in (PENDING, PAYER_UNAVAILABLE):
            return True
        return (now or datetime.now(UTC)) - (self.answered_at or self.checked_at) > timedelta(days=max_age_days)


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def request_resource(*, patient_ref: str, coverage_ref: str, insurer_ref: str, created: datetime, as_of: date,
                     state: str, attempts: int) -> dict[str, Any]:
    return {"resourceType": "CoverageEligibilityRequest",
            "meta": {"tag": [coding(ELIGIBILITY_STATE_SYSTEM, state)]},
            "extension": [{"url": ELIGIBILITY_ATTEMPTS_URL, "valueInteger": attempts}],
            "status": "active", "purpose": ["validation", "benefits"], "patient": {"reference": patient_ref},
            "servicedDate": as_of.isoformat(), "created": instant(created), "insurer": {"reference": insurer_ref},
            "insurance": [{"focal": True, "coverage": {"reference": coverage_ref}}]}


def with_state(request: dict[str, Any], state: str, attempts: int) -> dict[str, Any]:
    meta = {k: v for k, v in (request.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")}
    tags = [t for t in meta.get("tag") or [] if t.get("system") != ELIGIBILITY_STATE_SYSTEM]
    extensions = [e for e in request.get("extension") or [] if e.get("url") != ELIGIBILITY_ATTEMPTS_URL]
    return {**request, "meta": {**meta, "tag": [*tags, coding(ELIGIBILITY_STATE_SYSTEM, state)]},
            "extension": [*extensions, {"url": ELIGIBILITY_ATTEMPTS_URL, "valueInteger": attempts}]}


def attempts_of(request: dict[str, Any]) -> int:
    return next((int(e.get("valueInteger", 0)) for e in request.get("extension") or []
                 if e.get("url") == ELIGIBILITY_ATTEMPTS_URL), 0)


def _benefit(kind: str, **value: Any) -> dict[str, Any]:
    return {"type": concept(BENEFIT_TYPE, kind), **value}


def _items(answer: EligibilityAnswer) -> list[dict[str, Any]]:
    items = [{"category": concept(COPAY_TYPE, kind), "benefit": [_benefit("copay", allowedMoney=money(amount))]}
             for kind, amount in sorted(answer.copays.items())]
    plan: list[dict[str, Any]] = []
    if answer.deductible is not None:
        used = {"usedMoney": money(answer.deductible_met)} if answer.deductible_met is not None else {}
        plan.append(_benefit("deductible", allowedMoney=money(answer.deductible), **used))
    if answer.coinsurance_percent is not None:
        plan.append(_benefit("copay-percent", allowedUnsignedInt=int(answer.coinsurance_percent)))
    if answer.out_of_pocket_max is not None:
        plan.append(_benefit("copay-maximum", allowedMoney=money(answer.out_of_pocket_max)))
    if plan or answer.plan_name:
        item: dict[str, Any] = {"category": concept(BENEFIT_CATEGORY, HEALTH_PLAN_COVERAGE,
                                                    "Health Benefit Plan Coverage")}
        if answer.plan_name:
            item["name"] = answer.plan_name
        if plan:
            item["benefit"] = plan
        items.append(item)
    return items


def response_resource(answer: EligibilityAnswer | None, *, request: dict[str, Any], request_id: str,
                      created: datetime, message: str = "") -> dict[str, Any]:
    """The response to ``request``; ``answer`` None records that Osler gave up reaching the payer."""
    response: dict[str, Any] = {
        "resourceType": "CoverageEligibilityResponse", "status": "active", "purpose": request["purpose"],
        "identifier": [{"system": ELIGIBILITY_RESPONSE_SYSTEM, "value": request_id}],
        "patient": request["patient"], "servicedDate": request["servicedDate"], "created": instant(created),
        "request": {"reference": f"CoverageEligibilityRequest/{request_id}"}, "insurer": request["insurer"]}
    coverage = request["insurance"][0]["coverage"]
    if answer is None or answer.status == EligibilityStatus.MEMBER_NOT_FOUND:
        code = PAYER_UNAVAILABLE if answer is None else EligibilityStatus.MEMBER_NOT_FOUND.value
        response.update(outcome="error", disposition=(answer.message if answer else message) or code,
                        error=[{"code": concept(ELIGIBILITY_ERROR_SYSTEM, code)}])
        return response
    insurance: dict[str, Any] = {"coverage": coverage, "inforce": answer.status == EligibilityStatus.ACTIVE}
    if answer.coverage_start or answer.coverage_end:
        insurance["benefitPeriod"] = {k: v.isoformat() for k, v in (("start", answer.coverage_start),
                                                                     ("end", answer.coverage_end)) if v}
    if items := _items(answer):
        insurance["item"] = items
    response.update(outcome="complete", disposition=answer.message or answer.status.value, insurance=[insurance])
    return response


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def check_from(request_id: str, request: dict[str, Any], response_id: str | None,
               response: dict[str, Any] | None) -> EligibilityCheck:
    """Read a stored request (and its response, if any) back as an ``EligibilityCheck``."""
    coverage_ref = request["insurance"][0]["coverage"]["reference"]
    base = {"request_id": request_id, "response_id": response_id,
            "patient_id": request["patient"]["reference"].removeprefix("Patient/"),
            "coverage_id": coverage_ref.removeprefix("Coverage/"), "checked_at": _moment(request["created"])}
    if response is None:
        return EligibilityCheck(status=PENDING, message="the payer has not answered yet: Osler will ask again",
                                **base)
    answered = {"answered_at": _moment(response.get("created")), "message": response.get("disposition", "")}
    if response.get("outcome") == "error":
        codes = [code_in(error.get("code"), ELIGIBILITY_ERROR_SYSTEM) for error in response.get("error") or []]
        return EligibilityCheck(status=next((c for c in codes if c), PAYER_UNAVAILABLE), **base, **answered)
    insurance = (response.get("insurance") or [{}])[0]
    check: dict[str, Any] = {"copays": {}}
    for item in insurance.get("item") or []:
        kind = code_in(item.get("category"), COPAY_TYPE)
        for benefit in item.get("benefit") or []:
            benefit_type = code_in(benefit.get("type"), BENEFIT_TYPE)
            if kind and benefit_type == "copay":
                check["copays"][kind] = amount_of(benefit.get("allowedMoney"))
            elif benefit_type == "deductible":
                check["deductible"] = amount_of(benefit.get("allowedMoney"))
                check["deductible_met"] = amount_of(benefit.get("usedMoney"))
            elif benefit_type == "copay-percent":
                check["coinsurance_percent"] = benefit.get("allowedUnsignedInt")
            elif benefit_type == "copay-maximum":
                check["out_of_pocket_max"] = amount_of(benefit.get("allowedMoney"))
        if code_in(item.get("category"), BENEFIT_CATEGORY) == HEALTH_PLAN_COVERAGE:
            check["plan_name"] = item.get("name")
    status = EligibilityStatus.ACTIVE if insurance.get("inforce") else EligibilityStatus.INACTIVE
    return EligibilityCheck(status=status.value, **base, **answered, **check)
