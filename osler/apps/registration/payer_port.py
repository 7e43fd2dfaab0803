"""Prelude: the eligibility contract between Osler and a payer, independent of any transport.

A ``PayerGateway`` answers one ``EligibilityQuestion`` (who, which payer and member id, as of which
day) with an ``EligibilityAnswer`` (active, inactive or member not found, plus the plan's copays and
deductible), or raises ``PayerUnavailable`` when the payer cannot be reached within the time allowed.
The types are plain values with no FHIR and no X12 in them: the registration application maps them
to CoverageEligibilityRequest/Response, and an X12 270/271 adapter maps them to segments (its AAA
reject reasons 42/80 "unable to respond" become ``PayerUnavailable``, 72/75 "member not found"
become ``MEMBER_NOT_FOUND``).

The application owns this contract (a port); the adapters in ``osler.interfaces.payers`` implement
it, so the layers keep their direction: interfaces depend on apps, never the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable


class EligibilityStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    MEMBER_NOT_FOUND = "member-not-found"


class PayerUnavailable(Exception):
    """The payer (or the clearinghouse in front of it) did not answer in time or refused to answer now.

    The message names the payer and the reason only: never the member or the patient.
    """


@dataclass(frozen=True)
class EligibilityQuestion:
    """What a 270 asks: is this member covered by this payer on this day, and for what."""

    payer_id: str
    member_id: str
    family: str
    given: str
    birth_date: date | None
    as_of: date
    plan_id: str | None = None
    group_number: str | None = None
    relationship: str = "self"  # subscriber relationship of the patient (self, spouse, child…)
    trace_id: str = ""  # correlates question and answer (X12 TRN); Osler uses the request's id


@dataclass(frozen=True)
class EligibilityAnswer:
    """What a 271 says. Money is in ``currency``; amounts absent from the payer's answer are None."""

    status: EligibilityStatus
    payer_id: str
    member_id: str
    message: str = ""
    plan_id: str | None = None
    plan_name: str | None = None
    coverage_start: date | None = None
    coverage_end: date | None = None
    copays: dict[str, Decimal] = field(default_factory=dict)  # visit kind (gpvisit, spvisit…) → copay
    coinsurance_percent: Decimal | None = None
    deductible: Decimal | None = None
    deductible_met: Decimal | None = None
    out_of_pocket_max: Decimal | None = None
    currency: str = "USD"
    trace_id: str = ""


@runtime_checkable
class PayerGateway(Protocol):
    """Anything that can ask a payer about a member's eligibility.

    ``check`` must return or raise ``PayerUnavailable`` within about ``timeout_seconds``: callers
    (registration, check-in) never wait longer than that for a payer.
    """

    def check(self, question: EligibilityQuestion, *, timeout_seconds: float) -> EligibilityAnswer: ...
