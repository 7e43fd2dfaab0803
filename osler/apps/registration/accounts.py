"""Prelude: the guarantor account — who answers for the patient's bills, and what they owe.

One Account per patient (type ``PBILLACCT``, subject = the patient), opened at registration with the
patient as guarantor; a coverage's subscriber may take over (a parent for a child). R4's Account has
no balance element, so the outstanding balance is the extension ``ACCOUNT_BALANCE_URL`` (Money,
positive = owed, negative = credit). Postings change it with ``If-Match`` and retry on a concurrent
posting, so none is ever lost; each posting is a new version, so the Account's history is the demo's
ledger (billing owns real charges).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode

from osler.apps.registration.codes import (
    ACCOUNT_BALANCE_URL,
    CURRENCY,
    PATIENT_BILLING_ACCOUNT,
    V3_ACT_CODE,
    amount_of,
    concept,
    money,
)
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.chronicle.store import Chronicle
from osler.fhir.outcome import BadRequest, Conflict, VersionConflict

MAX_POSTING_ATTEMPTS = 5
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class AccountSummary:
    account_id: str
    balance: Decimal
    currency: str
    guarantor: str | None  # reference, e.g. Patient/123 or RelatedPerson/456
    coverages: list[str] = field(default_factory=list)  # Coverage references, by priority
    version: int = 1


def account_resource(patient_ref: str, guarantor_ref: str | None = None) -> dict[str, Any]:
    """A new, empty guarantor account (references may be ``urn:uuid:`` inside a transaction)."""
    return {"resourceType": "Account", "status": "active",
            "type": concept(V3_ACT_CODE, PATIENT_BILLING_ACCOUNT, "patient billing account"),
            "name": "Patient billing account", "subject": [{"reference": patient_ref}],
            "guarantor": [{"party": {"reference": guarantor_ref or patient_ref}, "onHold": False}],
            "extension": [{"url": ACCOUNT_BALANCE_URL, "valueMoney": money(ZERO)}]}


def _search_criteria(patient_id: str) -> list[tuple[str, str]]:
    return [("subject", f"Patient/{patient_id}"), ("type", f"{V3_ACT_CODE}|{PATIENT_BILLING_ACCOUNT}")]


def balance_of(account: dict[str, Any]) -> Decimal:
    for extension in account.get("extension") or []:
        if extension.get("url") == ACCOUNT_BALANCE_URL:
            return amount_of(extension.get("valueMoney")) or ZERO
    return ZERO


def with_balance(account: dict[str, Any], balance: Decimal) -> dict[str, Any]:
    others = [e for e in account.get("extension") or [] if e.get("url") != ACCOUNT_BALANCE_URL]
    return {**account, "extension": [*others, {"url": ACCOUNT_BALANCE_URL, "valueMoney": money(balance)}]}


def with_guarantor(account: dict[str, Any], party_ref: str) -> dict[str, Any]:
    return {**account, "guarantor": [{"party": {"reference": party_ref}, "onHold": False}]}


def with_coverage(account: dict[str, Any], coverage_ref: str, priority: int) -> dict[str, Any]:
    kept = [c for c in account.get("coverage") or [] if c.get("coverage", {}).get("reference") != coverage_ref]
    entries = sorted([*kept, {"coverage": {"reference": coverage_ref}, "priority": priority}],
                     key=lambda c: c.get("priority", 99))
    return {**account, "coverage": entries}


def summarize(stored: Stored) -> AccountSummary:
    account = stored.resource
    guarantors = account.get("guarantor") or []
    currency = next((e.get("valueMoney", {}).get("currency") for e in account.get("extension") or []
                     if e.get("url") == ACCOUNT_BALANCE_URL), None) or CURRENCY
    return AccountSummary(stored.res_id, balance_of(account), currency,
                          guarantors[0].get("party", {}).get("reference") if guarantors else None,
                          [c["coverage"]["reference"] for c in account.get("coverage") or []
                           if c.get("coverage", {}).get("reference")], stored.version)


def find_account(chronicle: Chronicle, patient_id: str, *, actor: Actor = SYSTEM) -> Stored | None:
    page = chronicle.search("Account", [*_search_criteria(patient_id), ("_sort", "_lastUpdated"), ("_count", "1")],
                            actor=actor)
    return page.matches[0] if page.matches else None


def ensure_account(chronicle: Chronicle, patient_id: str, *, actor: Actor = SYSTEM) -> Stored:
    """The patient's account, opened (patient as guarantor) if there is none; NotFound for an unknown patient."""
    chronicle.read("Patient", patient_id, actor=actor)
    existing = find_account(chronicle, patient_id, actor=actor)
    if existing is not None:
        return existing
    result = chronicle.create(account_resource(f"Patient/{patient_id}"), actor=actor,
                              if_none_exist=urlencode(_search_criteria(patient_id)))
    return result.stored


def outstanding_balance(chronicle: Chronicle, patient_id: str, *, actor: Actor = SYSTEM) -> Decimal:
    """What the patient's guarantor owes now (0.00 without an account); NotFound for an unknown patient."""
    chronicle.read("Patient", patient_id, actor=actor)
    account = find_account(chronicle, patient_id, actor=actor)
    return balance_of(account.resource) if account else ZERO


def account_summary(chronicle: Chronicle, patient_id: str, *, actor: Actor = SYSTEM) -> AccountSummary:
    return summarize(ensure_account(chronicle, patient_id, actor=actor))


def post_to_account(chronicle: Chronicle, patient_id: str, amount: Decimal, *,
                    kind: Literal["charge", "payment"], actor: Actor = SYSTEM) -> AccountSummary:
    """Add a charge to, or take a payment off, the balance (demo postings; billing owns real charges)."""
    if amount <= 0:
        raise BadRequest("a posting's amount must be positive")
    delta = amount if kind == "charge" else -amount
    for _ in range(MAX_POSTING_ATTEMPTS):
        current = ensure_account(chronicle, patient_id, actor=actor)
        updated = with_balance(current.resource, balance_of(current.resource) + delta)
        try:
            result = chronicle.update("Account", current.res_id, updated, actor=actor, if_match=current.etag)
        except VersionConflict:
            continue  # someone posted meanwhile: re-read and apply ours on top
        return summarize(result.stored)
    raise Conflict("the account kept changing while posting; try again")
