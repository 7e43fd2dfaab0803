"""HTTP API of Prelude (registration) under ``/api/registration``, and the FHIR ``Patient/$match`` operation.

JSON in and out, documented in the OpenAPI at ``/docs`` by the request models of
``osler.apps.registration.forms``. Money is a string with two decimals ("25.00"). Bad input is an
OperationOutcome with the right 4xx: ``OutcomeRoute`` turns FastAPI's validation errors into
``BadRequest`` naming each field (never echoing what was typed). Coverage, Account, Task and the
eligibility resources are plain FHIR resources, readable at ``/fhir`` too.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from osler.apps import registration as prelude
from osler.apps.registration.codes import MATCH_GRADE_URL
from osler.apps.registration.forms import Amount, CoverageForm, PatientForm, validation_issues
from osler.apps.registration.payer_port import PayerGateway
from osler.chronicle.store import Chronicle
from osler.fhir.instants import format_instant, now_us
from osler.fhir.outcome import BadRequest
from osler.fhir.validation import validate_resource
from osler.interfaces.fhir_api.http import FhirResponse, actor_of, json_body
from osler.interfaces.fhir_api.routes import base_of
from osler.interfaces.payers.simulator import PayerSimulator


class OutcomeRoute(APIRoute):
    """A route whose request-validation errors become a 400 OperationOutcome naming the fields."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                issues = validation_issues(list(error.errors()))
                raise BadRequest("; ".join(issue.diagnostics for issue in issues[:5]), issues=issues) from None

        return handle


router = APIRouter(prefix="/api/registration", tags=["registration"], route_class=OutcomeRoute)
fhir_router = APIRouter(prefix="/fhir", tags=["FHIR operations"], route_class=OutcomeRoute)

ResourceId = Annotated[str, Path(pattern=r"^[A-Za-z0-9\-.]{1,64}$", description="a FHIR resource id")]


class PostingForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["charge", "payment"]
    amount: Amount = Field(gt=0)


class EligibilityForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    coverage_id: str | None = Field(None, pattern=r"^[A-Za-z0-9\-.]{1,64}$",
                                    description="which coverage; the primary active one when left out")


class ResolutionForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: Literal["duplicate", "not-duplicate"]
    note: str | None = Field(None, max_length=1000)


# ------------------------------------------------------------------------------------------ helpers
def _chronicle(request: Request) -> Chronicle:
    return request.app.state.chronicle


def gateway_of(app: FastAPI) -> PayerGateway:
    """The app's payer gateway: ``app.state.payer_gateway`` if set (tests, a clearinghouse adapter), else
    the simulator configured by ``Settings.payer_config``, built on first use."""
    gateway = getattr(app.state, "payer_gateway", None)
    if gateway is None:
        gateway = PayerSimulator.from_file(app.state.settings.payer_config or None)
        app.state.payer_gateway = gateway
    return gateway


def payer_gateway(request: Request) -> PayerGateway:
    return gateway_of(request.app)


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def _match(match: prelude.PatientMatch) -> dict[str, Any]:
    return {"patient_id": match.patient_id, "score": match.score, "grade": match.grade,
            "fields": match.comparison.similarities}


def _account(summary: prelude.AccountSummary) -> dict[str, Any]:
    return {"account_id": summary.account_id, "balance": _money(summary.balance), "currency": summary.currency,
            "guarantor": summary.guarantor, "coverages": summary.coverages}


def _check(check: prelude.EligibilityCheck, max_age_days: int) -> dict[str, Any]:
    return {"status": check.status, "message": check.message, "request_id": check.request_id,
            "response_id": check.response_id, "coverage_id": check.coverage_id,
            "checked_at": check.checked_at.isoformat(),
            "answered_at": check.answered_at.isoformat() if check.answered_at else None,
            "plan_name": check.plan_name, "copays": {kind: _money(v) for kind, v in check.copays.items()},
            "coinsurance_percent": check.coinsurance_percent, "deductible": _money(check.deductible),
            "deductible_remaining": _money(check.deductible_remaining),
            "out_of_pocket_max": _money(check.out_of_pocket_max),
            "needs_reverification": check.needs_reverification(max_age_days)}


def _review(review: prelude.DuplicateReview) -> dict[str, Any]:
    return {"task_id": review.task_id, "status": review.status, "patient_id": review.patient_id,
            "candidate_id": review.candidate_id, "score": review.score, "grade": review.grade,
            "authored_on": review.authored_on, "resolution": review.resolution}


# ---------------------------------------------------------------------------------------- patients
@router.post("/patients", status_code=201, summary="Register a patient (or find the existing record)")
def register(form: PatientForm, request: Request) -> JSONResponse:
    """Assigns an MRN unless the person is already registered: a *certain* match returns the existing
    patient (200, outcome ``existing``); *probable* matches create the patient and a possible-duplicate
    work item each (201, outcome ``possible-duplicate``); otherwise 201, outcome ``created``."""
    result = prelude.register_patient(_chronicle(request), form, settings=request.app.state.settings,
                                      actor=actor_of(request))
    body = {"outcome": result.outcome, "mrn": result.mrn, "patient_id": result.patient.res_id,
            "patient": result.patient.resource, "account_id": result.account.res_id if result.account else None,
            "matches": [_match(m) for m in result.matches], "work_items": [t.res_id for t in result.work_items]}
    return JSONResponse(body, status_code=200 if result.outcome == "existing" else 201)


@router.post("/patients/{patient_id}/coverages", status_code=201, summary="Put an insurance card on file")
def add_coverage(patient_id: ResourceId, form: CoverageForm, request: Request) -> JSONResponse:
    """201 with the new Coverage; 200 with the one on file when this member id is already there."""
    added = prelude.add_coverage(_chronicle(request), patient_id, form, actor=actor_of(request))
    body = {"coverage_id": added.coverage.res_id, "created": added.created, "coverage": added.coverage.resource,
            "payer_organization_id": added.payer.res_id if added.payer else None,
            "subscriber_id": added.subscriber.res_id if added.subscriber else None}
    return JSONResponse(body, status_code=201 if added.created else 200)


@router.post("/patients/{patient_id}/eligibility", summary="Check eligibility with the payer now")
def check_eligibility(patient_id: ResourceId, request: Request, form: EligibilityForm | None = None) -> JSONResponse:
    """200 with the payer's answer (active, inactive, member-not-found); 202 with status ``pending`` when the
    payer did not answer in time — the request is kept and retried (``POST /eligibility/retry``)."""
    settings = request.app.state.settings
    check = prelude.check_eligibility(_chronicle(request), patient_id, gateway=payer_gateway(request),
                                      settings=settings, coverage_id=form.coverage_id if form else None,
                                      actor=actor_of(request))
    return JSONResponse(_check(check, settings.eligibility_max_age_days),
                        status_code=202 if check.status == "pending" else 200)


@router.get("/patients/{patient_id}/eligibility", summary="The last eligibility check")
def last_eligibility(patient_id: ResourceId, request: Request) -> dict[str, Any]:
    check = prelude.last_eligibility(_chronicle(request), patient_id, actor=actor_of(request))
    days = request.app.state.settings.eligibility_max_age_days
    return {"last_check": _check(check, days) if check else None,
            "needs_reverification": check is None or check.needs_reverification(days)}


@router.post("/eligibility/retry", summary="Ask payers again for every pending eligibility check")
def retry_eligibility(request: Request) -> dict[str, Any]:
    summary = prelude.retry_pending_eligibility(_chronicle(request), gateway=payer_gateway(request),
                                                settings=request.app.state.settings, actor=actor_of(request))
    return {"answered": summary.answered, "still_pending": summary.still_pending, "gave_up": summary.gave_up}


@router.get("/patients/{patient_id}/account", summary="The guarantor account and outstanding balance")
def account(patient_id: ResourceId, request: Request) -> dict[str, Any]:
    return _account(prelude.account_summary(_chronicle(request), patient_id, actor=actor_of(request)))


@router.post("/patients/{patient_id}/account/postings", summary="Post a charge or a payment (demo)")
def post_to_account(patient_id: ResourceId, form: PostingForm, request: Request) -> dict[str, Any]:
    summary = prelude.post_to_account(_chronicle(request), patient_id, form.amount, kind=form.kind,
                                      actor=actor_of(request))
    return _account(summary)


# -------------------------------------------------------------------------------------- duplicates
@router.get("/duplicates", summary="Possible-duplicate work items")
def duplicates(request: Request, status: Literal["requested", "completed", "all"] = Query("requested"),
               ) -> dict[str, Any]:
    reviews = prelude.list_duplicate_reviews(_chronicle(request), status=None if status == "all" else status,
                                             actor=actor_of(request))
    return {"work_items": [_review(review) for review in reviews]}


@router.post("/duplicates/{task_id}/resolve", summary="Resolve a possible-duplicate work item")
def resolve(task_id: ResourceId, form: ResolutionForm, request: Request) -> dict[str, Any]:
    """``duplicate`` retires the new record in favour of the existing one; ``not-duplicate`` keeps both.
    409 when the item was already resolved."""
    review = prelude.resolve_duplicate(_chronicle(request), task_id, form.resolution, actor=actor_of(request),
                                       note=form.note)
    return _review(review)


# ----------------------------------------------------------------------------------- Patient/$match
def _match_parameters(body: Any) -> tuple[dict[str, Any], bool, int | None]:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise BadRequest("Patient/$match takes a Parameters resource")
    validate_resource(body, expected_type="Parameters")
    params = {p.get("name"): p for p in body.get("parameter") or []}
    patient = params.get("resource", {}).get("resource")
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise BadRequest("Patient/$match needs a Patient in the parameter 'resource'")
    only_certain = bool(params.get("onlyCertainMatches", {}).get("valueBoolean", False))
    count = params.get("count", {}).get("valueInteger")
    if count is not None and count < 1:
        raise BadRequest("count must be a positive integer")
    return patient, only_certain, count


@fhir_router.post("/Patient/$match", summary="FHIR Patient/$match: scored candidates for a Patient")
async def patient_match(request: Request) -> FhirResponse:
    """A searchset Bundle, best first: ``search.score`` in 0..1 and the match-grade extension
    (certain, probable, possible); ``onlyCertainMatches`` keeps the certain ones; ``count`` caps them."""
    patient, only_certain, count = _match_parameters(await json_body(request))
    matches = await run_in_threadpool(prelude.match_patients, _chronicle(request), patient, actor=actor_of(request),
                                      minimum_grade="certain" if only_certain else "possible", count=count)
    base = base_of(request)
    entries = [{"fullUrl": f"{base}/Patient/{m.patient_id}", "resource": m.stored.resource,
                "search": {"mode": "match", "score": m.score,
                           "extension": [{"url": MATCH_GRADE_URL, "valueCode": m.grade}]}} for m in matches]
    bundle = {"resourceType": "Bundle", "type": "searchset", "meta": {"lastUpdated": format_instant(now_us())},
              "total": len(entries), "link": [{"relation": "self", "url": f"{base}/Patient/$match"}]}
    if entries:  # FHIR JSON has no empty arrays
        bundle["entry"] = entries
    return FhirResponse(bundle)
