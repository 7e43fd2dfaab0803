"""Prelude: eligibility — the payer simulator on its own, then checks, pending requests and their retry
written to SQLite and to a real PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from osler.apps import registration as prelude
from osler.apps.registration.codes import ELIGIBILITY_RESPONSE_SYSTEM, ELIGIBILITY_STATE_SYSTEM
from osler.chronicle.records import Actor
from osler.chronicle.store import Chronicle
from osler.config import Settings, load_settings
from osler.fhir.outcome import NotFound
from osler.interfaces.payers import EligibilityAnswer, EligibilityQuestion, EligibilityStatus, PayerUnavailable
from osler.interfaces.payers.simulator import PayerConfigError, PayerSimulator, load_config

CLERK = Actor("clerk.adams", "registration")
TODAY = date(2025, 3, 3)


def question(payer_id: str, member_id: str, birth_date: date | None = None, as_of: date = TODAY) -> EligibilityQuestion:
    return EligibilityQuestion(payer_id=payer_id, member_id=member_id, family="X", given="Y", birth_date=birth_date,
                               as_of=as_of, trace_id="t-1")


# ------------------------------------------------------------------------------- the simulator
def test_simulator_answers_active_inactive_and_not_found() -> None:
    simulator = PayerSimulator.from_file()
    active = simulator.check(question("acme-health", "acm100200301", date(1985, 7, 14)), timeout_seconds=1)
    assert active.status == EligibilityStatus.ACTIVE and active.plan_name == "Acme PPO Gold"
    assert active.copays["gpvisit"] == Decimal("25.00") and active.deductible == Decimal("1500.00")
    assert active.deductible_met == Decimal("320.00") and active.trace_id == "t-1"
    medicare = simulator.check(question("medicare", "1EG4TE5MK73"), timeout_seconds=1)
    assert medicare.status == EligibilityStatus.ACTIVE and medicare.coinsurance_percent == Decimal("20")
    ended = simulator.check(question("acme-health", "ACM100200417"), timeout_seconds=1)
    assert ended.status == EligibilityStatus.INACTIVE and ended.copays == {} and "not active" in ended.message
    before_start = simulator.check(question("acme-health", "ACM100200301", as_of=date(2023, 12, 31)),
                                   timeout_seconds=1)
    assert before_start.status == EligibilityStatus.INACTIVE
    for unknown in (question("acme-health", "NOPE"), question("acme-health", "ACM100200301", date(1985, 7, 15)),
                    question("no-such-payer", "ACM100200301")):
        assert simulator.check(unknown, timeout_seconds=1).status == EligibilityStatus.MEMBER_NOT_FOUND


def test_simulator_times_out_within_the_callers_patience_and_has_outages() -> None:
    simulator = PayerSimulator.from_file()
    started = time.monotonic()
    with pytest.raises(PayerUnavailable, match="slowpay"):
        simulator.check(question("slowpay", "SLW0001"), timeout_seconds=0.05)
    assert time.monotonic() - started < 1
    simulator.set_available("bluepeak", False)
    with pytest.raises(PayerUnavailable, match="outage"):
        simulator.check(question("bluepeak", "BPM778812"), timeout_seconds=1)
    simulator.set_available("bluepeak", True)
    assert simulator.check(question("bluepeak", "BPM778812"), timeout_seconds=1).status == EligibilityStatus.ACTIVE


def test_simulator_configuration_errors_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(PayerConfigError, match="cannot read"):
        load_config(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(PayerConfigError, match="not valid JSON"):
        load_config(tmp_path / "bad.json")
    (tmp_path / "plan.json").write_text(json.dumps({"payers": [{"id": "p", "plans": [],
                                                                "members": [{"member_id": "1", "plan": "gold"}]}]}))
    with pytest.raises(PayerConfigError, match=r"payers\[0\]\.members\[0\]: plan 'gold'"):
        load_config(tmp_path / "plan.json")
    assert set(load_config(None)) == {"medicare", "acme-health", "bluepeak", "slowpay"}


# ------------------------------------------------------------------------------- checks, stored


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path, payer_timeout_seconds=0.05)


def insured(chronicle: Chronicle, settings: Settings, payer_id: str, member_id: str, plan: str, *,
            given: str = "Maria", family: str = "Rivera", born: str = "1985-07-14") -> tuple[str, str]:
    patient = prelude.register_patient(chronicle, prelude.PatientForm(family=family, given=given, birth_date=born,
                                                                      sex="female"), settings=settings)
    coverage = prelude.add_coverage(chronicle, patient.patient.res_id, prelude.CoverageForm(
        payer_id=payer_id, member_id=member_id, plan=plan, copays={"gpvisit": Decimal("30.00")}))
    return patient.patient.res_id, coverage.coverage.res_id


def test_an_active_member_is_recorded_with_request_and_response_linked(chronicle: Chronicle,
                                                                       settings: Settings) -> None:
    patient_id, coverage_id = insured(chronicle, settings, "acme-health", "ACM100200301", "acme-ppo-gold")
    check = prelude.check_eligibility(chronicle, patient_id, gateway=PayerSimulator.from_file(), settings=settings,
                                      actor=CLERK)
    assert check.status == "active" and check.coverage_id == coverage_id and check.plan_name == "Acme PPO Gold"
    assert check.copays["spvisit"] == Decimal("50.00") and check.deductible_remaining == Decimal("1180.00")
    assert check.response_id is not None
    request = chronicle.read("CoverageEligibilityRequest", check.request_id).resource
    response = chronicle.read("CoverageEligibilityResponse", check.response_id).resource
    assert request["meta"]["tag"] == [{"system": ELIGIBILITY_STATE_SYSTEM, "code": "answered"}]
    assert request["insurance"] == [{"focal": True, "coverage": {"reference": f"Coverage/{coverage_id}"}}]
    assert response["request"] == {"reference": f"CoverageEligibilityRequest/{check.request_id}"}
    assert response["identifier"] == [{"system": ELIGIBILITY_RESPONSE_SYSTEM, "value": check.request_id}]
    assert response["outcome"] == "complete" and response["insurance"][0]["inforce"] is True
    assert prelude.last_eligibility(chronicle, patient_id) == check
    assert prelude.copay_for_visit(chronicle, patient_id, "spvisit") == Decimal("50.00")  # the payer's, not the card's
    assert not check.needs_reverification(settings.eligibility_max_age_days)
    assert check.needs_reverification(30, now=datetime.now(UTC) + timedelta(days=31))


def test_inactive_and_unknown_members(chronicle: Chronicle, settings: Settings) -> None:
    gateway = PayerSimulator.from_file()
    ended_id, _ = insured(chronicle, settings, "acme-health", "ACM100200417", "acme-hdhp", given="Wei", family="Chen",
                          born="1979-09-30")
    inactive = prelude.check_eligibility(chronicle, ended_id, gateway=gateway, settings=settings)
    assert inactive.status == "inactive" and inactive.copays == {}
    assert prelude.copay_for_visit(chronicle, ended_id) is None  # the payer said no: nothing to collect as copay
    stranger_id, _ = insured(chronicle, settings, "bluepeak", "BPM000000", "bp-hmo", given="Ana")
    missing = prelude.check_eligibility(chronicle, stranger_id, gateway=gateway, settings=settings)
    assert missing.status == "member-not-found" and "no member" in missing.message
    assert chronicle.read("CoverageEligibilityResponse", missing.response_id or "").resource["outcome"] == "error"
    with pytest.raises(NotFound, match="no active coverage"):
        prelude.check_eligibility(chronicle, prelude.register_patient(
            chronicle, prelude.PatientForm(family="Uninsured", given="Una", birth_date="1990-01-01", sex="female"),
            settings=settings).patient.res_id, gateway=gateway, settings=settings)


def test_an_unreachable_payer_leaves_the_check_pending_until_a_retry(chronicle: Chronicle,
                                                                     settings: Settings) -> None:
    patient_id, _ = insured(chronicle, settings, "bluepeak", "BPM778812", "bp-hmo", given="Samir", family="Haddad",
                            born="1968-05-21")
    gateway = PayerSimulator.from_file()
    gateway.set_available("bluepeak", False)
    pending = prelude.check_eligibility(chronicle, patient_id, gateway=gateway, settings=settings)
    assert pending.status == "pending" and pending.response_id is None
    stored = chronicle.read("CoverageEligibilityRequest", pending.request_id).resource
    assert stored["meta"]["tag"][0]["code"] == "pending"
    assert prelude.copay_for_visit(chronicle, patient_id) == Decimal("30.00")  # from the card meanwhile
    assert pending.needs_reverification(30)

    still = prelude.retry_pending_eligibility(chronicle, gateway=gateway, settings=settings)
    assert still.still_pending == [pending.request_id] and not still.answered
    gateway.set_available("bluepeak", True)
    done = prelude.retry_pending_eligibility(chronicle, gateway=gateway, settings=settings, actor=CLERK)
    assert done.answered == [pending.request_id]
    answered = prelude.last_eligibility(chronicle, patient_id)
    assert answered is not None and answered.status == "active" and answered.request_id == pending.request_id
    request = chronicle.read("CoverageEligibilityRequest", pending.request_id).resource
    assert request["meta"]["tag"][0]["code"] == "answered" and request["extension"][0]["valueInteger"] == 3
    assert prelude.retry_pending_eligibility(chronicle, gateway=gateway, settings=settings).answered == []
    responses = chronicle.search("CoverageEligibilityResponse", [("request", f"CoverageEligibilityRequest/"
                                                                             f"{pending.request_id}")])
    assert len(responses.matches) == 1


def test_osler_gives_up_after_the_last_attempt(chronicle: Chronicle, settings: Settings) -> None:
    patient_id, _ = insured(chronicle, settings, "slowpay", "SLW0001", "sp-basic", given="Ivana", family="Novak",
                            born="1990-12-03")
    gateway = PayerSimulator.from_file()
    first = prelude.check_eligibility(chronicle, patient_id, gateway=gateway, settings=settings)
    assert first.status == "pending"
    summary = prelude.retry_pending_eligibility(chronicle, gateway=gateway, settings=settings, max_attempts=2)
    assert summary.gave_up == [first.request_id]
    final = prelude.last_eligibility(chronicle, patient_id)
    assert final is not None and final.status == "payer-unavailable" and "after 2 tries" in final.message
    assert prelude.retry_pending_eligibility(chronicle, gateway=gateway, settings=settings).gave_up == []


class StubbornGateway:
    """A gateway that ignores its timeout: Osler must stop waiting for it all the same."""

    def check(self, question: EligibilityQuestion, *, timeout_seconds: float) -> EligibilityAnswer:
        time.sleep(1.5)
        return EligibilityAnswer(EligibilityStatus.ACTIVE, question.payer_id, question.member_id)


def test_a_gateway_ignoring_its_timeout_does_not_hold_the_caller(chronicle: Chronicle, settings: Settings) -> None:
    patient_id, _ = insured(chronicle, settings, "acme-health", "ACM100200301", "acme-ppo-gold")
    started = time.monotonic()
    check = prelude.check_eligibility(chronicle, patient_id, gateway=StubbornGateway(), settings=settings)
    assert check.status == "pending" and time.monotonic() - started < 1.2
