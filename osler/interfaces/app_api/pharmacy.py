"""HTTP API of Willow, the pharmacy, under ``/api/pharmacy``.

``GET /api/pharmacy/{pharmacy_id}/queue`` lists what waits at a pharmacy; a prescription
(``MedicationRequest``) then moves through ``POST /api/pharmacy/prescriptions/{id}/verify``,
``/dispense``, ``/ready`` and ``/picked-up``; ``…/{id}/refill-requests`` asks for a refill, which the
prescriber answers at ``POST /api/pharmacy/refill-requests/{task_id}/approve`` or ``/deny``.

MedicationDispense, MedicationRequest and Task answers are FHIR resources (readable at ``/fhir`` too);
the queue and verification are plain JSON. Errors are OperationOutcomes: 400 a malformed body, 403 a
refill request answered by someone it is not addressed to, 404 an unknown prescription, pharmacy or
task, 409 a prescription or fill in the wrong state (cancelled, not verified yet…) or a verification
refused by hard stops (one issue per problem), 422 a dispense larger than prescribed or otherwise not
allowed, or an unknown pharmacist, prescriber or requester.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from osler.apps import pharmacy as willow
from osler.apps.scheduling.requests import FhirId
from osler.interfaces.app_api.registration import OutcomeRoute
from osler.interfaces.app_api.scheduling import JsonResponse, clinic_of, fhir
from osler.interfaces.fhir_api.http import FhirResponse, actor_of
from osler.interfaces.fhir_api.routes import run_chronicle

router = APIRouter(prefix="/api/pharmacy", tags=["pharmacy"], route_class=OutcomeRoute)

Reference = Annotated[str, Field(pattern=r"^[A-Za-z]{1,64}/[A-Za-z0-9\-.]{1,64}$", examples=["Patient/123"])]


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PharmacistForm(Form):
    pharmacist: FhirId = Field(description="the pharmacist's Practitioner id")


class VerifyForm(PharmacistForm):
    override_reason: str | None = Field(None, max_length=1000,
                                        description="why the pharmacist overrides the hard stops, if any")


class DispenseForm(PharmacistForm):
    quantity: Decimal = Field(description="how much, in the prescription's quantity unit", examples=["9"])
    days_supply: int = Field(examples=[30])
    lot: str = Field(max_length=64, examples=["SUM2291A"])
    expiry: date = Field(examples=["2028-06-30"])


class RefillRequestForm(Form):
    requested_by: Reference = Field(description="who asks: Patient/…, Organization/… (the pharmacy), "
                                                "Practitioner/…, RelatedPerson/…")


class ApproveForm(Form):
    prescriber: FhirId = Field(description="the answering prescriber's Practitioner id")
    refills: int = Field(examples=[3], description="refills on the renewed prescription (0-11)")


class DenyForm(Form):
    prescriber: FhirId
    reason: str = Field(min_length=1, max_length=1000, examples=["Please book a follow-up visit first."])


@router.get("/{pharmacy_id}/queue", summary="The pharmacy's queue of prescriptions")
async def queue(request: Request, pharmacy_id: FhirId,
                include_completed: Annotated[bool, Query(description="also list fills picked up")] = False,
                ) -> JsonResponse:
    """Every active prescription sent to the pharmacy that is not filled yet, and every fill under way,
    with its state: ``to-verify``, ``verified``, ``dispensed``, ``ready`` (and ``picked-up``)."""
    items = await run_chronicle(request, willow.queue, clinic_of(request), pharmacy_id,
                                include_completed=include_completed, actor=actor_of(request))
    return JsonResponse({"pharmacy": pharmacy_id, "items": [item.as_json() for item in items]})


@router.post("/prescriptions/{medication_request_id}/verify", summary="Verify a prescription")
async def verify(request: Request, medication_request_id: FhirId, form: VerifyForm) -> JsonResponse:
    """Allergy, duplicate-therapy and dose-range checks. Clean, warnings only, or hard stops overridden
    with a reason: the fill is verified and each finding recorded as a DetectedIssue (in ``issues``).
    Hard stops without an override: 409, one OperationOutcome issue per finding, nothing written."""
    result = await run_chronicle(request, willow.verify_prescription, clinic_of(request), medication_request_id,
                                 form.pharmacist, form.override_reason, actor=actor_of(request))
    return JsonResponse({"medication_request": medication_request_id, "state": "verified",
                         "task": result.task.res_id, "overridden": result.overridden,
                         "issues": [issue.resource for issue in result.issues]})


@router.post("/prescriptions/{medication_request_id}/dispense", summary="Dispense a verified fill")
async def dispense(request: Request, medication_request_id: FhirId, form: DispenseForm) -> FhirResponse:
    """The MedicationDispense (in-progress until pickup; lot and expiry on its contained Medication).
    422 when larger than one fill or than what remains of the prescription, nothing written."""
    stored = await run_chronicle(request, willow.dispense, clinic_of(request), medication_request_id, form.quantity,
                                 form.days_supply, form.lot, form.expiry, form.pharmacist,
                                     actor=actor_of(request))
    return fhir(request, stored, 201)


@router.post("/prescriptions/{medication_request_id}/ready", summary="Ready for pickup (the patient is told)")
async def ready(request: Request, medication_request_id: FhirId, form: PharmacistForm) -> JsonResponse:
    task, message = await run_chronicle(request, willow.mark_ready, clinic_of(request), medication_request_id,
                                        form.pharmacist, actor=actor_of(request))
    return JsonResponse({"medication_request": medication_request_id, "state": "ready", "task": task.res_id,
                         "message": message.res_id})


@router.post("/prescriptions/{medication_request_id}/picked-up", summary="The patient picked the fill up")
async def picked_up(request: Request, medication_request_id: FhirId, form: PharmacistForm) -> FhirResponse:
    stored = await run_chronicle(request, willow.mark_picked_up, clinic_of(request), medication_request_id,
                                 form.pharmacist, actor=actor_of(request))
    return fhir(request, stored)


@router.post("/prescriptions/{medication_request_id}/refill-requests", summary="Request a refill")
async def request_refill(request: Request, medication_request_id: FhirId, form: RefillRequestForm) -> JsonResponse:
    """``routed_to`` ``pharmacy``: a new fill in the queue (refills remain); ``prescriber``: an in-basket
    Task to the prescriber (none remain or the prescription expired). 409 for a stopped prescription."""
    routing = await run_chronicle(request, willow.request_refill, clinic_of(request), medication_request_id,
                                  form.requested_by, actor=actor_of(request))
    return JsonResponse({"routed_to": routing.routed_to, "task": routing.task.resource}, status_code=201)


@router.post("/refill-requests/{task_id}/approve", summary="The prescriber approves a refill request")
async def approve_refill(request: Request, task_id: FhirId, form: ApproveForm) -> FhirResponse:
    """The renewed MedicationRequest (``priorPrescription`` = the old one, which is completed)."""
    stored = await run_chronicle(request, willow.approve_refill, clinic_of(request), task_id, form.prescriber,
                                 form.refills, actor=actor_of(request))
    return fhir(request, stored, 201)


@router.post("/refill-requests/{task_id}/deny", summary="The prescriber denies a refill request")
async def deny_refill(request: Request, task_id: FhirId, form: DenyForm) -> FhirResponse:
    """The answered Task; the patient is told the reason in their in-basket."""
    stored = await run_chronicle(request, willow.deny_refill, clinic_of(request), task_id, form.prescriber,
                                 form.reason, actor=actor_of(request))
    return fhir(request, stored)
