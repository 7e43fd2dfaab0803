"""HTTP API of Cadence, the scheduling application, under ``/api/scheduling``.

Thin: each route parses the request (the pydantic models of ``osler.apps.scheduling.requests``, so
they are documented in the OpenAPI at ``/docs``), calls ``osler.apps.scheduling`` and shapes the
answer. Appointments, waitlist entries and offers come back as FHIR resources (also readable at
``/fhir``); set-up, availability and reports as plain JSON. Errors are OperationOutcomes: 400 malformed
input, 403 a patient acting for someone else, 404 an unknown appointment or offer in the path, 409 a
slot already taken or a status that does not allow the action, 422 an unknown patient, provider,
department, visit type or slot in the request, or a slot in the past.

Calls made by the patient portal send ``X-Osler-Acting-Patient: <Patient id>``: they may only see
visit types open to self-scheduling and only act on that patient's record; staff-only calls (set-up,
slot generation, blocked time, no-shows) refuse them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from osler.apps import scheduling as cadence
from osler.apps.scheduling.requests import Code, FhirId
from osler.chronicle.records import Stored
from osler.interfaces.fhir_api.http import FhirResponse, actor_of, resource_headers
from osler.interfaces.fhir_api.routes import base_of, run_chronicle

router = APIRouter(prefix="/api/scheduling", tags=["scheduling"])

ActingPatient = Annotated[str | None, Header(
    alias="X-Osler-Acting-Patient", pattern=r"^[A-Za-z0-9\-.]{1,64}$",
    description="Set by the patient portal: the Patient the caller is. Limits the call to that patient's "
                "record and to visit types open to self-scheduling.")]


def clinic_of(request: Request) -> cadence.Clinic:
    return cadence.Clinic.from_settings(request.app.state.chronicle, request.app.state.settings)


def staff_only(acting_patient: str | None) -> None:
    if acting_patient is not None:
        raise cadence.Forbidden("this is a staff function; patients cannot use it")


class JsonResponse(Response):
    """Plain JSON (set-up, availability, reports), serialized with orjson like the FHIR answers."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def fhir(request: Request, stored: Stored, status: int = 200) -> FhirResponse:
    return FhirResponse(stored.content, status, resource_headers(base_of(request), stored, location=status == 201))


# --------------------------------------------------------------------------------- set-up


@router.post("/departments", summary="Set up (or update) a department")
async def set_up_department(request: Request, setup: cadence.DepartmentSetup,
                            acting_patient: ActingPatient = None) -> JsonResponse:
    """Create or update a department with its providers (weekly templates, blocked time), rooms, equipment
    and visit types, in one transaction. Declarative: calling it again updates what it names and adds
    nothing twice. Answers the department with the ids of everything in it."""
    staff_only(acting_patient)
    view = await run_in_threadpool(cadence.set_up_department, clinic_of(request), setup, actor=actor_of(request))
    return JsonResponse(view.as_json())


@router.get("/departments/{department_id}", summary="A department, its providers, rooms and equipment")
async def describe_department(request: Request, department_id: FhirId) -> JsonResponse:
    view = await run_chronicle(request, cadence.describe_department, clinic_of(request), department_id,
                               actor=actor_of(request))
    return JsonResponse(view.as_json())


@router.post("/departments/{department_id}/slots", summary="Generate slots over a horizon")
async def generate_slots(request: Request, department_id: FhirId, horizon: cadence.SlotGeneration,
                         acting_patient: ActingPatient = None) -> JsonResponse:
    """Bring the department's Slots for these days in line with the templates. Idempotent: slots that
    exist are not created again; free slots no longer in the template are blocked; booked ones are
    reported, never touched."""
    staff_only(acting_patient)
    report = await run_in_threadpool(cadence.generate_slots, clinic_of(request), department_id, horizon,
                                     actor=actor_of(request))
    return JsonResponse(report.as_json())


@router.post("/providers/{role_id}/time-off", summary="Block a provider's time")
async def add_time_off(request: Request, role_id: FhirId, time_off: cadence.TimeOff,
                       acting_patient: ActingPatient = None) -> JsonResponse:
    """Add blocked time (vacation, a meeting) to a provider's template and block the free slots it covers;
    booked slots in it are reported for staff to move."""
    staff_only(acting_patient)
    report = await run_in_threadpool(cadence.add_time_off, clinic_of(request), role_id, time_off,
                                     actor=actor_of(request))
    return JsonResponse(report.as_json())


@router.post("/visit-types", summary="Define (or update) visit types")
async def define_visit_types(request: Request, visit_types: Annotated[list[cadence.VisitTypeSetup], Body()],
                             acting_patient: ActingPatient = None) -> JsonResponse:
    staff_only(acting_patient)
    found = await run_in_threadpool(cadence.define_visit_types, clinic_of(request), visit_types,
                                    actor=actor_of(request))
    return JsonResponse([item.as_json() for item in found])


@router.get("/visit-types", summary="Visit types")
async def list_visit_types(request: Request, acting_patient: ActingPatient = None) -> JsonResponse:
    """Every active visit type; for a patient (``X-Osler-Acting-Patient``), those open to self-scheduling."""
    found = await run_chronicle(request, cadence.list_visit_types, clinic_of(request),
                                patient_bookable=acting_patient is not None, actor=actor_of(request))
    return JsonResponse([item.as_json() for item in found])


# ---------------------------------------------------------------------------- availability


@router.get("/availability", summary="Find bookable times")
async def find_availability(
        request: Request,
        department: Annotated[FhirId, Query(description="the department's Organization id")],
        visit_type: Annotated[Code, Query(description="the visit type code")],
        start: Annotated[date, Query(description="first clinic-local day")],
        end: Annotated[date, Query(description="last clinic-local day (inclusive)")],
        provider: Annotated[FhirId | None, Query(description="a PractitionerRole id")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        acting_patient: ActingPatient = None) -> JsonResponse:
    """The earliest times (up to ``limit``) at which the visit type can be booked — the provider free for
    its whole length and a room (and equipment) free with them. Book one by its ``slot``."""
    clinic = clinic_of(request)
    options = await run_chronicle(request, cadence.find_availability, clinic, department, visit_type, start, end,
                                  provider_role=provider, limit=limit, actor=actor_of(request),
                               acting_patient=acting_patient)
    return JsonResponse({"timezone": clinic.zone.key, "options": [o.as_json(clinic) for o in options]})


# ---------------------------------------------------------------------------- appointments


@router.post("/appointments", status_code=201, summary="Book an appointment")
async def book_appointment(request: Request, booking: cadence.BookingRequest,
                           acting_patient: ActingPatient = None) -> FhirResponse:
    """Take the provider's slot(s) and a free room (and equipment) and create the Appointment, all in one
    transaction or not at all. 409 when the slot is already taken."""
    stored = await run_chronicle(request, cadence.book_appointment, clinic_of(request), booking,
                                 actor=actor_of(request), acting_patient=acting_patient)
    return fhir(request, stored, 201)


@router.get("/appointments", summary="A patient's appointments of a day")
async def appointments_on(request: Request, patient: Annotated[FhirId, Query()],
                          day: Annotated[date | None, Query(description="clinic-local day; default today")] = None,
                          acting_patient: ActingPatient = None) -> JsonResponse:
    if acting_patient is not None and acting_patient != patient:
        raise cadence.Forbidden("a patient may see their own appointments only")
    found = await run_chronicle(request, cadence.appointments_on, clinic_of(request), patient, day,
                                actor=actor_of(request))
    return JsonResponse([item.as_json() for item in found])


@router.post("/appointments/{appointment_id}/cancel", summary="Cancel an appointment")
async def cancel_appointment(request: Request, appointment_id: FhirId,
                             cancel: Annotated[cadence.CancelRequest | None, Body()] = None,
                             acting_patient: ActingPatient = None) -> FhirResponse:
    """Cancel and free its slots in one transaction (the waitlist is offered the freed time)."""
    stored = await run_chronicle(request, cadence.cancel_appointment, clinic_of(request), appointment_id, cancel,
                                 actor=actor_of(request), acting_patient=acting_patient)
    return fhir(request, stored)


@router.post("/appointments/{appointment_id}/reschedule", summary="Move an appointment to another slot")
async def reschedule_appointment(request: Request, appointment_id: FhirId, move: cadence.RescheduleRequest,
                                 acting_patient: ActingPatient = None) -> FhirResponse:
    """The new slots are taken and the old ones freed in one transaction, or nothing changes."""
    stored = await run_chronicle(request, cadence.reschedule_appointment, clinic_of(request), appointment_id, move,
                                 actor=actor_of(request), acting_patient=acting_patient)
    return fhir(request, stored)


@router.post("/appointments/{appointment_id}/no-show", summary="Record a no-show")
async def mark_no_show(request: Request, appointment_id: FhirId,
                       acting_patient: ActingPatient = None) -> FhirResponse:
    """On the day of the visit or later; the slots stay busy."""
    staff_only(acting_patient)
    stored = await run_chronicle(request, cadence.mark_no_show, clinic_of(request), appointment_id,
                                 actor=actor_of(request))
    return fhir(request, stored)


# -------------------------------------------------------------------------------- waitlist


@router.post("/waitlist", status_code=201, summary="Put a patient on the waitlist")
async def add_to_waitlist(request: Request, entry: cadence.WaitlistRequest,
                          acting_patient: ActingPatient = None) -> FhirResponse:
    """An Appointment with status ``waitlist``; when a fitting slot frees, the patient is offered it (a Task)."""
    stored = await run_chronicle(request, cadence.add_to_waitlist, clinic_of(request), entry, actor=actor_of(request),
                                 acting_patient=acting_patient)
    return fhir(request, stored, 201)


@router.post("/waitlist/{entry_id}/cancel", summary="Take a patient off the waitlist")
async def remove_from_waitlist(request: Request, entry_id: FhirId,
                               acting_patient: ActingPatient = None) -> FhirResponse:
    stored = await run_chronicle(request, cadence.cancel_appointment, clinic_of(request), entry_id, None,
                                 actor=actor_of(request), acting_patient=acting_patient)
    return fhir(request, stored)


@router.post("/offers/{task_id}/accept", summary="Accept a waitlist offer")
async def accept_offer(request: Request, task_id: FhirId, acting_patient: ActingPatient = None) -> FhirResponse:
    """Book the offered slot for the waitlist entry (which becomes the booked Appointment)."""
    stored = await run_chronicle(request, cadence.accept_offer, clinic_of(request), task_id, actor=actor_of(request),
                                 acting_patient=acting_patient)
    return fhir(request, stored)


@router.post("/offers/{task_id}/decline", summary="Decline a waitlist offer")
async def decline_offer(request: Request, task_id: FhirId, acting_patient: ActingPatient = None) -> FhirResponse:
    """The slot goes to the next waitlisted patient who fits."""
    stored = await run_chronicle(request, cadence.decline_offer, clinic_of(request), task_id, actor=actor_of(request),
                                 acting_patient=acting_patient)
    return fhir(request, stored)
