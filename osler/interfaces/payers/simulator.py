"""Prelude: a payer simulator answering eligibility questions from a JSON configuration.

The configuration (``demo_payers.json`` is the shipped one; ``Settings.payer_config`` names another)
lists payers, their plans (copays per visit kind, coinsurance, deductible, out-of-pocket maximum)
and their members (active or inactive, with a coverage period). A payer with
``response_delay_seconds`` longer than the caller's timeout behaves like a payer that is down: the
simulator waits out the timeout and raises ``PayerUnavailable``. ``set_available`` simulates an
outage and its end at run time (demos, tests of the retry).

Members are found by member id; a birth date that differs from the payer's is "member not found",
as real payers answer (X12 AAA 71/75).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from osler.apps.registration.payer_port import (
    EligibilityAnswer,
    EligibilityQuestion,
    EligibilityStatus,
    PayerUnavailable,
)


class PayerConfigError(ValueError):
    """The simulator's configuration file is missing or malformed (the message says where)."""


@dataclass(frozen=True)
class SimulatedPlan:
    plan_id: str
    name: str
    copays: dict[str, Decimal]
    coinsurance_percent: Decimal | None
    deductible: Decimal | None
    out_of_pocket_max: Decimal | None


@dataclass(frozen=True)
class SimulatedMember:
    member_id: str
    birth_date: date | None
    plan_id: str
    active: bool
    start: date | None
    end: date | None
    deductible_met: Decimal | None

    def covered_on(self, day: date) -> bool:
        return self.active and (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class SimulatedPayer:
    payer_id: str
    name: str
    kind: str
    response_delay_seconds: float
    plans: dict[str, SimulatedPlan]
    members: dict[str, SimulatedMember]  # upper-cased member id → member


def _money(raw: Any, where: str) -> Decimal | None:
    if raw is None:
        return None
    try:
        return Decimal(str(raw)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise PayerConfigError(f"{where}: {raw!r} is not an amount of money") from None


def _day(raw: Any, where: str) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise PayerConfigError(f"{where}: {raw!r} is not a date (YYYY-MM-DD)") from None


def _plan(raw: dict[str, Any], where: str) -> SimulatedPlan:
    copays = {str(kind): _money(value, f"{where}.copays.{kind}") for kind, value in (raw.get("copays") or {}).items()}
    percent = raw.get("coinsurance_percent")
    return SimulatedPlan(str(raw["id"]), str(raw.get("name") or raw["id"]),
                         {kind: amount for kind, amount in copays.items() if amount is not None},
                         Decimal(str(percent)) if percent is not None else None,
                         _money(raw.get("deductible"), f"{where}.deductible"),
                         _money(raw.get("out_of_pocket_max"), f"{where}.out_of_pocket_max"))


def _member(raw: dict[str, Any], plans: dict[str, SimulatedPlan], where: str) -> SimulatedMember:
    plan_id = str(raw.get("plan", ""))
    if plan_id not in plans:
        raise PayerConfigError(f"{where}: plan {plan_id!r} is not one of the payer's plans")
    status = raw.get("status", "active")
    if status not in ("active", "inactive"):
        raise PayerConfigError(f"{where}: status must be active or inactive, not {status!r}")
    return SimulatedMember(str(raw["member_id"]), _day(raw.get("birth_date"), f"{where}.birth_date"), plan_id,
                           status == "active", _day(raw.get("start"), f"{where}.start"),
                           _day(raw.get("end"), f"{where}.end"), _money(raw.get("deductible_met"),
                                                                         f"{where}.deductible_met"))


def parse_config(config: dict[str, Any]) -> dict[str, SimulatedPayer]:
    """The payers of a parsed configuration, keyed by payer id; ``PayerConfigError`` names what is wrong."""
    if not isinstance(config, dict) or not isinstance(config.get("payers"), list):
        raise PayerConfigError("a payer configuration is a JSON object with a list of payers under 'payers'")
    payers: dict[str, SimulatedPayer] = {}
    for index, raw in enumerate(config["payers"]):
        where = f"payers[{index}]"
        try:
            plans = {str(p["id"]): _plan(p, f"{where}.plans[{n}]") for n, p in enumerate(raw.get("plans") or [])}
            members = [_member(m, plans, f"{where}.members[{n}]") for n, m in enumerate(raw.get("members") or [])]
            payer = SimulatedPayer(str(raw["id"]), str(raw.get("name") or raw["id"]),
                                   str(raw.get("kind", "commercial")), float(raw.get("response_delay_seconds", 0)),
                                   plans, {m.member_id.upper(): m for m in members})
        except PayerConfigError:
            raise
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise PayerConfigError(f"{where}: missing or malformed field ({type(error).__name__}: {error})") from None
        payers[payer.payer_id] = payer
    return payers


def load_config(path: str | Path | None) -> dict[str, SimulatedPayer]:
    """Payers from ``path``, or from the shipped demo configuration when ``path`` is empty."""
    if not path:
        text = resources.files("osler.interfaces.payers").joinpath("demo_payers.json").read_text("utf-8")
        source = "demo_payers.json"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as error:
            raise PayerConfigError(f"cannot read the payer configuration {path}: {error.strerror}") from None
        source = str(path)
    try:
        return parse_config(json.loads(text))
    except json.JSONDecodeError as error:
        raise PayerConfigError(f"{source} is not valid JSON: {error}") from None


class PayerSimulator:
    """A ``PayerGateway`` over simulated payers. Thread-safe: the API calls it from its thread pool."""

    def __init__(self, payers: dict[str, SimulatedPayer]) -> None:
        self.payers = payers
        self._outages: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str | Path | None = None) -> PayerSimulator:
        return cls(load_config(path))

    def payer_name(self, payer_id: str) -> str | None:
        payer = self.payers.get(payer_id)
        return payer.name if payer else None

    def set_available(self, payer_id: str, available: bool) -> None:
        """Start (False) or end (True) a simulated outage of one payer."""
        with self._lock:
            (self._outages.discard if available else self._outages.add)(payer_id)

    def check(self, question: EligibilityQuestion, *, timeout_seconds: float) -> EligibilityAnswer:
        payer = self.payers.get(question.payer_id)
        if payer is None:
            return EligibilityAnswer(EligibilityStatus.MEMBER_NOT_FOUND, question.payer_id, question.member_id,
                                     message=f"payer {question.payer_id!r} is not reachable through this gateway",
                                     trace_id=question.trace_id)
        with self._lock:
            down = payer.payer_id in self._outages
        if down:
            raise PayerUnavailable(f"payer {payer.payer_id} is not answering (simulated outage)")
        if payer.response_delay_seconds > timeout_seconds:
            time.sleep(timeout_seconds)  # the caller's patience, not the payer's delay
            raise PayerUnavailable(f"payer {payer.payer_id} did not answer within {timeout_seconds:g} s")
        if payer.response_delay_seconds:
            time.sleep(payer.response_delay_seconds)
        return self._answer(payer, question)

    def _answer(self, payer: SimulatedPayer, question: EligibilityQuestion) -> EligibilityAnswer:
        member = payer.members.get(question.member_id.strip().upper())
        if member is None or (question.birth_date and member.birth_date and question.birth_date != member.birth_date):
            return EligibilityAnswer(EligibilityStatus.MEMBER_NOT_FOUND, payer.payer_id, question.member_id,
                                     message=f"{payer.name}: no member matches the member id and birth date given",
                                     trace_id=question.trace_id)
        plan = payer.plans[member.plan_id]
        covered = member.covered_on(question.as_of)
        status = EligibilityStatus.ACTIVE if covered else EligibilityStatus.INACTIVE
        message = (f"{payer.name}: coverage is active under {plan.name}" if covered else
                   f"{payer.name}: coverage is not active on {question.as_of.isoformat()}")
        return EligibilityAnswer(
            status, payer.payer_id, question.member_id, message=message, plan_id=plan.plan_id, plan_name=plan.name,
            coverage_start=member.start, coverage_end=member.end, copays=dict(plan.copays) if covered else {},
            coinsurance_percent=plan.coinsurance_percent if covered else None,
            deductible=plan.deductible if covered else None,
            deductible_met=member.deductible_met if covered else None,
            out_of_pocket_max=plan.out_of_pocket_max if covered else None, trace_id=question.trace_id)
