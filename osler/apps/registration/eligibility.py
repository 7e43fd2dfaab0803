"""Prelude: eligibility — asking the payer whether a coverage is active, keeping question and answer, and
asking again later when the payer could not be reached.

``check_eligibility`` asks through any ``PayerGateway`` (the simulator today, an X12 270/271
clearinghouse later) and writes the CoverageEligibilityRequest and its Response in one transaction.
It never waits for a payer longer than ``Settings.payer_timeout_seconds`` (plus a short grace, even
when a gateway ignores its timeout): an unreachable payer leaves the request stored and *pending*,
and the caller goes on. ``retry_pending_eligibility`` — for the server's background loop or the
journey — asks again for every pending request and gives up after ``MAX_ATTEMPTS`` calls, writing a
``payer-unavailable`` response. Check-in reads ``last_eligibility`` and ``copay_for_visit``.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from osler.apps.registration.codes import (
    COVERAGE_CLASS,
    ELIGIBILITY_RESPONSE_SYSTEM,
    ELIGIBILITY_STATE_SYSTEM,
    SUBSCRIBER_RELATIONSHIP,
    code_in,
)
from osler.apps.registration.coverage import active_coverages, coverage_copays, payer_id_of
from osler.apps.registration.eligibility_resources import (
    ANSWERED,
    FAILED,
    PENDING,
    EligibilityCheck,
    attempts_of,
    check_from,
    request_resource,
    response_resource,
    with_state,
)
from osler.apps.registration.payer_port import EligibilityAnswer, EligibilityQuestion, PayerGateway, PayerUnavailable
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.chronicle.store import Chronicle
from osler.config import Settings
from osler.fhir.outcome import BadRequest, FhirError, NotFound, VersionConflict

log = logging.getLogger("osler.registration")

MAX_ATTEMPTS = 12  # payer calls per request before Osler gives up (one per retry round that reaches it)
GRACE_SECONDS = 0.5  # how much longer than its timeout a gateway may take before Osler stops waiting
# Payer calls run here so that a gateway that ignores its timeout cannot hold the caller.
_PAYER_CALLS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="osler-payer")


@dataclass
class RetrySummary:
    """Request ids by what one retry round did with them."""

    answered: list[str] = field(default_factory=list)
    still_pending: list[str] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)


def ask_payer(gateway: PayerGateway, question: EligibilityQuestion, timeout_seconds: float) -> EligibilityAnswer:
    """The gateway's answer, or ``PayerUnavailable`` after at most ``timeout_seconds`` + grace."""
    call = _PAYER_CALLS.submit(gateway.check, question, timeout_seconds=timeout_seconds)
    try:
        return call.result(timeout=timeout_seconds + GRACE_SECONDS)
    except FutureTimeout:
        call.cancel()
        raise PayerUnavailable(f"payer {question.payer_id} did not answer within {timeout_seconds:g} s") from None
    except OSError as error:  # a transport error an adapter let through
        raise PayerUnavailable(f"payer {question.payer_id} is unreachable ({type(error).__name__})") from None


def _clinic_today(settings: Settings) -> date:
    return datetime.now(ZoneInfo(settings.clinic_timezone)).date()


@dataclass(frozen=True)
class _Subject:
    """Everything a question needs, read from the Chronicle."""

    patient: Stored
    coverage: Stored
    payer: Stored
    payer_id: str


def _subject(chronicle: Chronicle, patient_id: str, coverage_id: str | None, actor: Actor) -> _Subject:
    patient = chronicle.read("Patient", patient_id, actor=actor)
    if coverage_id is None:
        coverages = active_coverages(chronicle, patient_id, actor=actor)
        if not coverages:
            raise NotFound(f"Patient/{patient_id} has no active coverage on file")
        coverage = coverages[0]
    else:
        coverage = chronicle.read("Coverage", coverage_id, actor=actor)
        if coverage.resource.get("beneficiary", {}).get("reference") != f"Patient/{patient_id}":
            raise BadRequest(f"Coverage/{coverage_id} does not cover Patient/{patient_id}")
    payor = (coverage.resource.get("payor") or [{}])[0].get("reference", "")
    if not payor.startswith("Organization/"):
        raise BadRequest(f"Coverage/{coverage.res_id} names no payer organization to ask")
    payer = chronicle.read("Organization", payor.removeprefix("Organization/"), actor=actor)
    payer_id = payer_id_of(payer.resource)
    if payer_id is None:
        raise BadRequest(f"{payor} has no payer id: Osler cannot route an eligibility question to it")
    return _Subject(patient, coverage, payer, payer_id)


def _question(subject: _Subject, as_of: date, trace_id: str) -> EligibilityQuestion:
    patient, coverage = subject.patient.resource, subject.coverage.resource
    names = patient.get("name") or [{}]
    name = next((n for n in names if n.get("use") == "official"), names[0])
    classes = {code_in(c.get("type"), COVERAGE_CLASS): c.get("value") for c in coverage.get("class") or []}
    birth = patient.get("birthDate", "")
    return EligibilityQuestion(
        payer_id=subject.payer_id, member_id=coverage.get("subscriberId", ""), family=name.get("family", ""),
        given=(name.get("given") or [""])[0], birth_date=date.fromisoformat(birth) if len(birth) == 10 else None,
        as_of=as_of, plan_id=classes.get("plan"), group_number=classes.get("group"),
        relationship=code_in(coverage.get("relationship"), SUBSCRIBER_RELATIONSHIP) or "self", trace_id=trace_id)


def _record_answer(chronicle: Chronicle, request_id: str, request: dict[str, Any], answer: EligibilityAnswer | None,
                   *, state: str, if_match: str | None, actor: Actor, message: str = "") -> EligibilityCheck:
    """Write the request (in ``state``) and its response together; ``answer`` None = gave up."""
    response = response_resource(answer, request=request, request_id=request_id, created=datetime.now(UTC),
                                 message=message)
    put: dict[str, Any] = {"method": "PUT", "url": f"CoverageEligibilityRequest/{request_id}"}
    if if_match:
        put["ifMatch"] = if_match
    entries = [{"resource": {**with_state(request, state, attempts_of(request)), "id": request_id}, "request": put},
               {"resource": response, "request": {"method": "POST", "url": "CoverageEligibilityResponse",
                                                  "ifNoneExist": f"identifier={ELIGIBILITY_RESPONSE_SYSTEM}|"
                                                                 f"{request_id}"}}]
    results = chronicle.transact(entries, actor=actor)
    stored_request, stored_response = results[0].stored, results[1].stored
    assert stored_request is not None and stored_response is not None
    return check_from(request_id, stored_request.resource, stored_response.res_id, stored_response.resource)


def check_eligibility(chronicle: Chronicle, patient_id: str, *, gateway: PayerGateway, settings: Settings,
                      coverage_id: str | None = None, actor: Actor = SYSTEM) -> EligibilityCheck:
    """Ask the payer about the patient's coverage (the primary active one unless ``coverage_id``).

    NotFound for an unknown patient or no active coverage. A payer that does not answer in time
    gives status ``pending``: the request is stored and ``retry_pending_eligibility`` asks again.
    """
    subject = _subject(chronicle, patient_id, coverage_id, actor)
    request_id, as_of = str(uuid.uuid4()), _clinic_today(settings)
    request = request_resource(patient_ref=f"Patient/{patient_id}", coverage_ref=f"Coverage/{subject.coverage.res_id}",
                               insurer_ref=f"Organization/{subject.payer.res_id}", created=datetime.now(UTC),
                               as_of=as_of, state=PENDING, attempts=1)
    try:
        answer = ask_payer(gateway, _question(subject, as_of, request_id), settings.payer_timeout_seconds)
    except PayerUnavailable:
        log.info("payer %s unavailable: eligibility request %s left pending", subject.payer_id, request_id)
        stored = chronicle.update("CoverageEligibilityRequest", request_id, {**request, "id": request_id},
                                  actor=actor).stored
        return check_from(request_id, stored.resource, None, None)
    return _record_answer(chronicle, request_id, request, answer, state=ANSWERED, if_match=None, actor=actor)


def _retry_one(chronicle: Chronicle, stored: Stored, gateway: PayerGateway, settings: Settings, actor: Actor,
               max_attempts: int, down: set[str], summary: RetrySummary) -> None:
    request = stored.resource
    try:
        subject = _subject(chronicle, request["patient"]["reference"].removeprefix("Patient/"),
                           request["insurance"][0]["coverage"]["reference"].removeprefix("Coverage/"), actor)
    except FhirError as error:  # the coverage or payer vanished meanwhile: nobody can answer any more
        _record_answer(chronicle, stored.res_id, request, None, state=FAILED, if_match=stored.etag, actor=actor,
                       message=f"not asked again: {error.message}")
        summary.gave_up.append(stored.res_id)
        return
    if subject.payer_id in down:  # already unreachable in this round: don't wait on it again
        summary.still_pending.append(stored.res_id)
        return
    attempts = attempts_of(request) + 1
    try:
        answer = ask_payer(gateway, _question(subject, date.fromisoformat(request["servicedDate"]), stored.res_id),
                           settings.payer_timeout_seconds)
    except PayerUnavailable:
        down.add(subject.payer_id)
        if attempts >= max_attempts:
            _record_answer(chronicle, stored.res_id, with_state(request, FAILED, attempts), None, state=FAILED,
                           if_match=stored.etag, actor=actor,
                           message=f"no answer from the payer after {attempts} tries")
            summary.gave_up.append(stored.res_id)
        else:
            chronicle.update("CoverageEligibilityRequest", stored.res_id, with_state(request, PENDING, attempts),
                             actor=actor, if_match=stored.etag)
            summary.still_pending.append(stored.res_id)
        return
    _record_answer(chronicle, stored.res_id, with_state(request, ANSWERED, attempts), answer, state=ANSWERED,
                   if_match=stored.etag, actor=actor)
    summary.answered.append(stored.res_id)


def retry_pending_eligibility(chronicle: Chronicle, *, gateway: PayerGateway, settings: Settings,
                              actor: Actor = SYSTEM, max_attempts: int = MAX_ATTEMPTS,
                              limit: int = 100) -> RetrySummary:
    """Ask again for up to ``limit`` pending requests, oldest first. Safe to run from many processes at once:
    every write is conditional on the version read, and a request another process finished is skipped."""
    summary, down = RetrySummary(), set[str]()
    page = chronicle.search("CoverageEligibilityRequest", [("_tag", f"{ELIGIBILITY_STATE_SYSTEM}|{PENDING}"),
                                                           ("_sort", "created"), ("_count", str(limit))], actor=actor)
    for stored in page.matches:
        try:
            _retry_one(chronicle, stored, gateway, settings, actor, max_attempts, down, summary)
        except VersionConflict:
            continue  # another process handled this request meanwhile
    return summary


def last_eligibility(chronicle: Chronicle, patient_id: str, *, coverage_id: str | None = None,
                     actor: Actor = SYSTEM) -> EligibilityCheck | None:
    """The most recent check of the patient's coverage (of ``coverage_id`` only, when given), or None."""
    chronicle.read("Patient", patient_id, actor=actor)
    page = chronicle.search("CoverageEligibilityRequest", [("patient", f"Patient/{patient_id}"),
                                                           ("_sort", "-created"), ("_count", "20")], actor=actor)
    for stored in page.matches:
        if coverage_id and stored.resource["insurance"][0]["coverage"]["reference"] != f"Coverage/{coverage_id}":
            continue
        responses = chronicle.search("CoverageEligibilityResponse", [
            ("request", f"CoverageEligibilityRequest/{stored.res_id}"), ("_count", "1")], actor=actor).matches
        response = responses[0] if responses else None
        return check_from(stored.res_id, stored.resource, response.res_id if response else None,
                          response.resource if response else None)
    return None


def copay_for_visit(chronicle: Chronicle, patient_id: str, visit_kind: str = "gpvisit", *,
                    actor: Actor = SYSTEM) -> Decimal | None:
    """The copay to collect for a visit of ``visit_kind`` (coverage-copay-type: gpvisit, spvisit…).

    From the last eligibility answer when it says active; from the primary coverage's card when no
    answer came (never checked, pending); None when the payer said the coverage is not active or
    nothing is on file.
    """
    check = last_eligibility(chronicle, patient_id, actor=actor)
    if check is not None and check.status == "active" and visit_kind in check.copays:
        return check.copays[visit_kind]
    if check is not None and check.status in ("inactive", "member-not-found"):
        return None
    coverages = active_coverages(chronicle, patient_id, actor=actor)
    return coverage_copays(coverages[0].resource).get(visit_kind) if coverages else None
