"""Prelude: the URLs, identifier systems and codes registration writes, in one place so they never drift.

Osler's own systems live under ``http://osler.health/fhir/``; the rest are the HL7 terminology
systems R4 binds these elements to.
"""

from __future__ import annotations

from decimal import Decimal

OSLER = "http://osler.health/fhir"

# Extensions
ACCOUNT_BALANCE_URL = f"{OSLER}/StructureDefinition/account-balance"  # Account: outstanding balance (Money)
ELIGIBILITY_ATTEMPTS_URL = f"{OSLER}/StructureDefinition/eligibility-attempts"  # request: payer calls so far
MATCH_GRADE_URL = "http://hl7.org/fhir/StructureDefinition/match-grade"  # $match entries (FHIR core)

# Identifier systems
PAYER_ID_SYSTEM = f"{OSLER}/sid/payer-id"  # Organization: the payer's id at the gateway
MEMBER_ID_SYSTEM = f"{OSLER}/sid/member-id"  # Coverage: the member id, one system per payer (…/member-id/<payer>)
SSN_LAST4_SYSTEM = f"{OSLER}/sid/ssn-last4"  # Patient: last four SSN digits, kept for matching only
US_SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"  # full SSNs written by others (Synthea): matched on last four
ELIGIBILITY_RESPONSE_SYSTEM = f"{OSLER}/sid/eligibility-response"  # response keyed by its request id

# Code systems
WORK_ITEM_SYSTEM = f"{OSLER}/CodeSystem/work-item"
POSSIBLE_DUPLICATE = "possible-duplicate-patient"  # Task.code of a possible-duplicate work item
DUPLICATE_REVIEW_SYSTEM = f"{OSLER}/CodeSystem/duplicate-review"  # Task input/output types and resolutions
ELIGIBILITY_STATE_SYSTEM = f"{OSLER}/CodeSystem/eligibility-state"  # request meta.tag: pending|answered|failed
ELIGIBILITY_ERROR_SYSTEM = f"{OSLER}/CodeSystem/eligibility-error"  # response error: member-not-found…

V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
V2_CONTACT_ROLE = "http://terminology.hl7.org/CodeSystem/v2-0131"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SUBSCRIBER_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
COVERAGE_CLASS = "http://terminology.hl7.org/CodeSystem/coverage-class"
COPAY_TYPE = "http://terminology.hl7.org/CodeSystem/coverage-copay-type"
BENEFIT_TYPE = "http://terminology.hl7.org/CodeSystem/benefit-type"
BENEFIT_CATEGORY = "http://terminology.hl7.org/CodeSystem/ex-benefitcategory"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"

PATIENT_BILLING_ACCOUNT = "PBILLACCT"  # Account.type (v3-ActCode)
HEALTH_PLAN_COVERAGE = "30"  # ex-benefitcategory: Health Benefit Plan Coverage
VISIT_KINDS = ("gpvisit", "spvisit", "urgentcare", "emergency", "televisit")  # coverage-copay-type codes
CURRENCY = "USD"


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    item = {"system": system, "code": code}
    if display:
        item["display"] = display
    return item


def concept(system: str, code: str, display: str | None = None) -> dict[str, list[dict[str, str]]]:
    return {"coding": [coding(system, code, display)]}


def code_in(value: dict | None, system: str) -> str | None:
    """The code of ``system`` in a CodeableConcept, or None."""
    for item in (value or {}).get("coding") or []:
        if item.get("system") == system:
            return item.get("code")
    return None


CENT = Decimal("0.01")


def money(amount: Decimal) -> dict[str, float | str]:
    """A FHIR Money. JSON numbers carry the value: cents survive the float because amounts are quantized."""
    return {"value": float(amount.quantize(CENT)), "currency": CURRENCY}


def amount_of(value: dict | None) -> Decimal | None:
    """The amount of a FHIR Money, in cents precision; None when absent."""
    if not value or value.get("value") is None:
        return None
    return Decimal(str(value["value"])).quantize(CENT)
