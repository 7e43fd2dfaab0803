"""HTTP API of Beaker, the lab, under ``/api/lab``.

``POST /orders/{id}/collect`` collects a specimen for a lab order (the Specimen, with its accession
number); ``POST /specimens/{accession}/receive`` logs it in the lab; ``POST /specimens/{accession}/results``
files its results (answers the ids written: Observations, DiagnosticReport, review Task, patient
message, and the interpretation of each component); ``POST /reports/{id}/comment`` adds the
clinician's comment; ``POST /reports/{id}/correct`` corrects values (new versions, history kept);
``GET /worklist`` lists specimens awaiting receipt or results; ``GET /catalog`` the orderable tests.
Staff only: a patient (``X-Osler-Acting-Patient``) is refused (403). Errors are OperationOutcomes:
400 malformed input, 404 unknown order, accession or report, 409 an order not active, a specimen not
received or already resulted, 422 a component, unit or value that does not fit the test.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from osler.apps import lab
from osler.apps.lab.requests import Accession
from osler.apps.scheduling.requests import FhirId
from osler.interfaces.app_api.scheduling import ActingPatient, JsonResponse, clinic_of, fhir, staff_only
from osler.interfaces.fhir_api.http import FhirResponse, actor_of
from osler.interfaces.fhir_api.routes import run_chronicle

router = APIRouter(prefix="/api/lab", tags=["lab"])

AccessionPath = Annotated[Accession, Path(description="the specimen's accession number", examples=["L25-000123"])]


@router.post("/orders/{service_request_id}/collect", summary="Collect a specimen for a lab order", status_code=201)
async def collect(request: Request, service_request_id: FhirId, collection: lab.Collection | None = None,
                  acting_patient: ActingPatient = None) -> FhirResponse:
    """Answers the Specimen (201) with its accession number in ``accessionIdentifier``."""
    staff_only(acting_patient)
    stored = await run_chronicle(request, lab.collect_specimen, clinic_of(request), service_request_id, collection,
                                 actor=actor_of(request))
    return fhir(request, stored, 201)


@router.post("/specimens/{accession}/receive", summary="Receive a specimen in the lab")
async def receive(request: Request, accession: AccessionPath, receipt: lab.Receipt | None = None,
                  acting_patient: ActingPatient = None) -> FhirResponse:
    staff_only(acting_patient)
    stored = await run_chronicle(request, lab.receive_specimen, clinic_of(request), accession, receipt,
                                 actor=actor_of(request))
    return fhir(request, stored)


@router.post("/specimens/{accession}/results", summary="File a specimen's results", status_code=201)
async def results(request: Request, accession: AccessionPath, filing: lab.ResultFiling,
                  acting_patient: ActingPatient = None) -> JsonResponse:
    """Writes, in one transaction, an Observation per component, the DiagnosticReport, the ordering
    clinician's review Task (critical → stat) and, unless the test is held, the patient's message."""
    staff_only(acting_patient)
    filed = await run_chronicle(request, lab.file_results, clinic_of(request), accession, filing.results,
                                performer=filing.performer, conclusion=filing.conclusion, actor=actor_of(request))
    return JsonResponse(filed.as_json(), status_code=201)


@router.post("/reports/{report_id}/comment", summary="Comment on a result for the patient")
async def comment(request: Request, report_id: FhirId, body: lab.ResultComment,
                  acting_patient: ActingPatient = None) -> JsonResponse:
    staff_only(acting_patient)
    done = await run_chronicle(request, lab.add_result_comment, clinic_of(request), report_id, body.text,
                               author=body.author, actor=actor_of(request))
    return JsonResponse({"report": done.report.res_id, "version": done.report.version,
                         "message": done.message.res_id if done.message else None})


@router.post("/reports/{report_id}/correct", summary="Correct filed results")
async def correct(request: Request, report_id: FhirId, body: lab.Correction,
                  acting_patient: ActingPatient = None) -> JsonResponse:
    staff_only(acting_patient)
    filed = await run_chronicle(request, lab.correct_results, clinic_of(request), report_id, body.results,
                                reason=body.reason, performer=body.performer, actor=actor_of(request))
    return JsonResponse(filed.as_json())


@router.get("/worklist", summary="Specimens awaiting receipt or results")
async def worklist(request: Request, stage: Annotated[Literal["collected", "received"] | None, Query()] = None,
                   acting_patient: ActingPatient = None) -> JsonResponse:
    staff_only(acting_patient)
    items = await run_chronicle(request, lab.worklist, clinic_of(request), stage, actor=actor_of(request))
    return JsonResponse({"items": [item.as_json() for item in items]})


@router.get("/catalog", summary="The orderable lab tests")
async def test_catalog() -> JsonResponse:
    return JsonResponse([_test(test) for test in lab.catalog().values()])


def _test(test: lab.LabTest) -> dict[str, Any]:
    return {"code": test.code, "name": test.name, "display": test.display, "specimen": test.specimen,
            "container": test.container, "sensitive": test.sensitive, "hold_hours": test.hold.total_seconds() / 3600,
            "components": [{"code": c.code, "name": c.name, "units": list(c.units), "answers": list(c.answers)}
                           for c in test.components.values()]}
