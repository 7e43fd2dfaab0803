"""HTTP API of EpicCare Ambulatory (charting) under ``/api/charting``.

Thin: each route parses the request (the pydantic models of ``osler.apps.charting.requests``, so they
are documented in the OpenAPI at ``/docs``), calls ``osler.apps.charting`` and answers the FHIR resource
written (also readable at ``/fhir``), or a small JSON envelope when one call writes several (vitals,
diagnoses). Writes into an encounter are under ``/encounters/{id}/…``; notes and orders, once written,
are addressed by their own id (``/notes/{id}``, ``/orders/{kind}/{id}``, kind ``lab``, ``prescription``,
``dme`` or ``referral``). Errors are OperationOutcomes: 400 malformed input, 403 signing someone else's
note, 404 an unknown encounter, note or order in the path, 409 a closed encounter, a signed note or
order edited, a duplicate, a status that does not allow the action, 422 an unknown code, a unit that
does not fit, an implausible value, an unknown practitioner, organization or document in the body.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from osler.apps import charting
from osler.apps.charting.requests import OrderKind, OrderRequest
from osler.apps.scheduling.requests import FhirId
from osler.chronicle.records import Stored
from osler.fhir.outcome import NotFound
from osler.interfaces.app_api.scheduling import JsonResponse, clinic_of, fhir
from osler.interfaces.fhir_api.http import FhirResponse, actor_of
from osler.interfaces.fhir_api.routes import run_chronicle

router = APIRouter(prefix="/api/charting", tags=["charting"])
Who = Annotated[charting.Acting | None, Body(description="who acts; default the note's author, the order's "
                                                         "requester or the encounter's primary performer")]
ENCOUNTER = "/encounters/{encounter_id}"


async def _write(request: Request, function: Any, *args: Any, status: int = 200) -> FhirResponse:
    """A charting write of a few resources: inline on SQLite, in the thread pool on PostgreSQL."""
    stored = await run_chronicle(request, function, clinic_of(request), *args, actor=actor_of(request))
    return fhir(request, stored, status)


def _resources(items: list[Stored]) -> list[dict[str, Any]]:
    return [item.resource for item in items]


# ------------------------------------------------------------------------ encounter charting


@router.post(f"{ENCOUNTER}/vitals", status_code=201, summary="Record a set of vitals")
async def record_vitals(request: Request, encounter_id: FhirId, vitals: charting.VitalsRequest) -> JsonResponse:
    """One vital-signs Observation per vital (BMI computed from height and weight), all or none. 422 for a
    unit that does not fit the vital or an implausible value."""
    stored = await run_chronicle(request, charting.record_vitals, clinic_of(request), encounter_id, vitals,
                                 actor=actor_of(request))
    return JsonResponse({"observations": _resources(stored)}, status_code=201)


@router.post(f"{ENCOUNTER}/problems", status_code=201, summary="Add a problem to the problem list")
async def add_problem(request: Request, encounter_id: FhirId, problem: charting.ProblemRequest) -> FhirResponse:
    return await _write(request, charting.add_problem, encounter_id, problem, status=201)


@router.post(f"{ENCOUNTER}/problems/{{condition_id}}/resolve", summary="Resolve a problem")
async def resolve_problem(request: Request, encounter_id: FhirId, condition_id: FhirId,
                          resolution: Annotated[charting.ResolveProblem | None, Body()] = None) -> FhirResponse:
    return await _write(request, charting.resolve_problem, encounter_id, condition_id,
                        resolution or charting.ResolveProblem())


@router.post(f"{ENCOUNTER}/diagnoses", status_code=201, summary="Add encounter diagnoses")
async def add_diagnoses(request: Request, encounter_id: FhirId, diagnoses: charting.DiagnosesRequest) -> JsonResponse:
    """The new Conditions and the Encounter with its ranked ``diagnosis`` list, written together."""
    result = await run_chronicle(request, charting.add_diagnoses, clinic_of(request), encounter_id, diagnoses,
                                 actor=actor_of(request))
    return JsonResponse({"conditions": _resources(result.conditions), "encounter": result.encounter.resource},
                        status_code=201)


@router.post(f"{ENCOUNTER}/allergies", status_code=201, summary="Record an allergy")
async def record_allergy(request: Request, encounter_id: FhirId, allergy: charting.AllergyRequest) -> FhirResponse:
    return await _write(request, charting.record_allergy, encounter_id, allergy, status=201)


@router.post(f"{ENCOUNTER}/allergies/no-known-drug-allergies", status_code=201,
             summary="Record no known drug allergies")
async def no_known_drug_allergies(request: Request, encounter_id: FhirId, who: Who = None) -> FhirResponse:
    return await _write(request, charting.record_no_known_drug_allergies, encounter_id, who or charting.Acting(),
                        status=201)


@router.post(f"{ENCOUNTER}/allergies/{{allergy_id}}/entered-in-error", summary="Mark an allergy entered in error")
async def allergy_entered_in_error(request: Request, encounter_id: FhirId, allergy_id: FhirId,
                                   who: Who = None) -> FhirResponse:
    return await _write(request, charting.mark_allergy_entered_in_error, encounter_id, allergy_id,
                        who or charting.Acting())


@router.post(f"{ENCOUNTER}/medications", status_code=201, summary="Add to the medication list")
async def add_medication(request: Request, encounter_id: FhirId, entry: charting.MedicationEntry) -> FhirResponse:
    return await _write(request, charting.add_medication, encounter_id, entry, status=201)


@router.post(f"{ENCOUNTER}/medications/{{statement_id}}/stop", summary="Stop a medication on the list")
async def stop_medication(request: Request, encounter_id: FhirId, statement_id: FhirId,
                          stop: Annotated[charting.StopMedication | None, Body()] = None) -> FhirResponse:
    return await _write(request, charting.stop_medication, encounter_id, statement_id,
                        stop or charting.StopMedication())


@router.post(f"{ENCOUNTER}/notes", status_code=201, summary="Start a clinical note")
async def write_note(request: Request, encounter_id: FhirId, note: charting.NoteRequest) -> FhirResponse:
    """A DocumentReference with ``docStatus`` preliminary, editable until its author signs it."""
    return await _write(request, charting.write_note, encounter_id, note, status=201)


@router.post(f"{ENCOUNTER}/level-of-service", summary="Set the level of service (E/M code)")
async def set_level_of_service(request: Request, encounter_id: FhirId,
                               level: charting.LevelOfService) -> FhirResponse:
    """A billable ChargeItem with the CPT code (number only); setting it again updates the same one."""
    return await _write(request, charting.set_level_of_service, encounter_id, level)


@router.post(f"{ENCOUNTER}/orders", status_code=201, summary="Place an order")
async def place_order(request: Request, encounter_id: FhirId, order: Annotated[OrderRequest, Body()]) -> FhirResponse:
    """A lab order, prescription, DME order or referral (``kind``), as a draft or signed (``sign``)."""
    return await _write(request, charting.place_order, encounter_id, order, status=201)


@router.post(f"{ENCOUNTER}/summary", status_code=201, summary="Print the after-visit summary")
async def after_visit_summary(request: Request, encounter_id: FhirId,
                              summary: Annotated[charting.SummaryRequest | None, Body()] = None) -> FhirResponse:
    """The PDF stored as a DocumentReference and sent to the patient's in-basket; fetch it at ``summary.pdf``.
    Laying out the PDF takes longer than a chart write, so it runs in the thread pool."""
    stored = await run_in_threadpool(charting.after_visit_summary, clinic_of(request), encounter_id, summary,
                                     actor=actor_of(request))
    return fhir(request, stored, 201)


@router.get(f"{ENCOUNTER}/summary.pdf", summary="The after-visit summary PDF",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
async def after_visit_summary_pdf(request: Request, encounter_id: FhirId) -> Response:
    chart = await run_chronicle(request, charting.read_chart, clinic_of(request), encounter_id, actor=actor_of(request))
    if not chart.summaries:
        raise NotFound(f"no after-visit summary has been printed for Encounter/{encounter_id}")
    return Response(charting.summary_pdf(chart.summaries[0].resource), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="after-visit-summary-{encounter_id}.pdf"'})


@router.get(f"{ENCOUNTER}/chart", summary="What the encounter documented")
async def read_chart(request: Request, encounter_id: FhirId) -> JsonResponse:
    """Vitals, diagnoses, notes, orders, level of service and summaries of the encounter, with the patient's
    current problem list, allergies and medication list — FHIR resources grouped by kind."""
    chart = await run_chronicle(request, charting.read_chart, clinic_of(request), encounter_id, actor=actor_of(request))
    return JsonResponse(chart.as_json())


# ------------------------------------------------------------------------------------ notes


@router.put("/notes/{note_id}", summary="Edit an unsigned note")
async def edit_note(request: Request, note_id: FhirId, edit: charting.NoteEdit) -> FhirResponse:
    """409 once the note is signed: add an addendum instead."""
    return await _write(request, charting.edit_note, note_id, edit)


@router.post("/notes/{note_id}/sign", summary="Sign a note (locks it)")
async def sign_note(request: Request, note_id: FhirId, who: Who = None) -> FhirResponse:
    return await _write(request, charting.sign_note, note_id, who or charting.Acting())


@router.post("/notes/{note_id}/addendum", summary="Add an addendum to a signed note")
async def add_addendum(request: Request, note_id: FhirId, addendum: charting.Addendum) -> FhirResponse:
    """A new version of the same DocumentReference (``docStatus`` amended); the signed version stays in history."""
    return await _write(request, charting.add_addendum, note_id, addendum)


# ----------------------------------------------------------------------------------- orders


@router.put("/orders/{kind}/{order_id}", summary="Edit a draft order")
async def edit_order(request: Request, kind: OrderKind, order_id: FhirId,
                     order: Annotated[OrderRequest, Body()]) -> FhirResponse:
    """409 once the order is signed: modify it instead (a new order replaces it)."""
    return await _write(request, charting.edit_order, kind, order_id, order)


@router.post("/orders/{kind}/{order_id}/sign", summary="Sign an order")
async def sign_order(request: Request, kind: OrderKind, order_id: FhirId, who: Who = None) -> FhirResponse:
    return await _write(request, charting.sign_order, kind, order_id, who or charting.Acting())


@router.post("/orders/{kind}/{order_id}/modify", status_code=201, summary="Change a signed order")
async def modify_order(request: Request, kind: OrderKind, order_id: FhirId, order: Annotated[OrderRequest, Body()],
                       encounter: Annotated[FhirId | None, Query(description="the open encounter the change is "
                                                                             "made in; default the order's")] = None,
                       ) -> FhirResponse:
    """A new signed order replacing this one, which is revoked, in one transaction; answers the new order."""
    stored = await run_chronicle(request, charting.modify_order, clinic_of(request), kind, order_id, order,
                                 encounter_id=encounter, actor=actor_of(request))
    return fhir(request, stored, 201)
