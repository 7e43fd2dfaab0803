"""HTTP API of check-in (kiosk and front desk) under ``/api/checkin``.

``POST /api/checkin/appointments/{id}/arrive`` checks a patient in (identity, eligibility, balance,
copay; Appointment arrived; Encounter opened); ``POST /api/checkin/kiosk`` does the same for a
patient who only types her name and birth date, finding her appointment of today. The visit's clock:
``…/encounters/{id}/room``, ``/seen``, ``/check-out``, and ``GET …/encounters/{id}`` for its
timestamps. Errors are OperationOutcomes: 400 malformed input, 403 identity not confirmed, 404
unknown appointment/encounter/room, 409 already checked in, not today, or out of order.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from osler.apps import checkin
from osler.apps.registration import search_patients
from osler.apps.scheduling.requests import FhirId
from osler.apps.scheduling.visits import todays_appointment
from osler.fhir.outcome import NotFound
from osler.interfaces.app_api.registration import payer_gateway
from osler.interfaces.app_api.scheduling import JsonResponse, clinic_of
from osler.interfaces.fhir_api.http import actor_of

router = APIRouter(prefix="/api/checkin", tags=["checkin"])


class IdentityForm(BaseModel):
    """What the patient types at the kiosk (or tells the desk)."""

    model_config = ConfigDict(extra="forbid")
    family: str = Field(min_length=1, max_length=100, examples=["Lopez"])
    given: str = Field(min_length=1, max_length=100, examples=["Sarah"])
    birth_date: date = Field(examples=["1984-03-12"])

    def identity(self) -> checkin.Identity:
        return checkin.Identity(self.family, self.given, self.birth_date)


class RoomForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    room: FhirId = Field(description="the exam room's Location id")


class SeenForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    practitioner: FhirId


def _money(amount: Decimal | None) -> str | None:
    return f"{amount:.2f}" if amount is not None else None


def _result(result: checkin.CheckInResult) -> dict[str, Any]:
    eligibility = result.eligibility
    return {
        "appointment": result.appointment.res_id,
        "encounter": result.encounter.res_id,
        "arrived": checkin.milestones(result.encounter.resource)["arrived"],
        "balance": _money(result.balance),
        "copay_due": _money(result.copay_due),
        "eligibility": None if eligibility is None else {"status": eligibility.status,
                                                          "reverified": result.eligibility_reverified},
        "flags": [flag.res_id for flag in result.flags],
        "messages": result.messages,
    }


@router.post("/appointments/{appointment_id}/arrive", summary="Check a patient in for an appointment")
async def arrive(request: Request, appointment_id: FhirId, form: IdentityForm) -> JsonResponse:
    result = await run_in_threadpool(
        checkin.check_in, clinic_of(request), appointment_id, form.identity(), gateway=payer_gateway(request),
        settings=request.app.state.settings, actor=actor_of(request))
    return JsonResponse(_result(result), status_code=201)


@router.post("/kiosk", summary="Kiosk check-in by name and birth date")
async def kiosk(request: Request, form: IdentityForm) -> JsonResponse:
    """Finds the patient by name and birth date and checks in her appointment of today."""
    clinic, actor = clinic_of(request), actor_of(request)

    def find_and_check_in() -> checkin.CheckInResult:
        # Only certain matches: a kiosk must never check in a look-alike.
        matches = search_patients(clinic.chronicle, family=form.family, given=form.given,
                                  birth_date=form.birth_date, actor=actor, minimum_grade="certain")
        for match in matches:
            appointment = todays_appointment(clinic, match.patient_id, actor=actor)
            if appointment is not None and appointment.status == "booked":
                return checkin.check_in(clinic, appointment.id, form.identity(), gateway=payer_gateway(request),
                                        settings=request.app.state.settings, actor=actor)
        raise NotFound("no appointment to check in today for that name and birth date; please see the front desk")

    return JsonResponse(_result(await run_in_threadpool(find_and_check_in)), status_code=201)


def _milestones(stored: Any) -> dict[str, Any]:
    return {"encounter": stored.res_id, "status": stored.resource["status"],
            **checkin.milestones(stored.resource)}


@router.post("/encounters/{encounter_id}/room", summary="Room the patient")
async def room(request: Request, encounter_id: FhirId, form: RoomForm) -> JsonResponse:
    stored = await run_in_threadpool(checkin.room_patient, clinic_of(request), encounter_id, form.room,
                                     actor=actor_of(request))
    return JsonResponse(_milestones(stored))


@router.post("/encounters/{encounter_id}/seen", summary="The provider sees the patient")
async def seen(request: Request, encounter_id: FhirId, form: SeenForm) -> JsonResponse:
    stored = await run_in_threadpool(checkin.mark_seen, clinic_of(request), encounter_id, form.practitioner,
                                     actor=actor_of(request))
    return JsonResponse(_milestones(stored))


@router.post("/encounters/{encounter_id}/check-out", summary="Check the patient out")
async def check_out(request: Request, encounter_id: FhirId) -> JsonResponse:
    stored = await run_in_threadpool(checkin.check_out, clinic_of(request), encounter_id, actor=actor_of(request))
    return JsonResponse(_milestones(stored))


@router.get("/encounters/{encounter_id}", summary="The visit's timestamps")
async def visit_clock(request: Request, encounter_id: FhirId) -> JsonResponse:
    stored = request.app.state.chronicle.read("Encounter", encounter_id, actor=actor_of(request))
    return JsonResponse(_milestones(stored))
