"""HTTP API of In Basket under ``/api/inbasket``.

``GET /{owner_type}/{owner_id}`` is an inbox (``?state=unread|read|done&category=…``): the items of a
practitioner (with their pools) or a patient (the portal inbox), newest first, with counts by state.
``POST /items/{Communication|Task}/{id}/read`` and ``/done`` change an item's state; ``POST /messages``
sends a message and ``POST /messages/{id}/reply`` answers one (delivered by the routing rules);
``/pools`` defines and lists pools; ``/delegations`` sets and ends out-of-office delegation.

A patient (``X-Osler-Acting-Patient``) may read and act on her own inbox only, send messages as
herself only, and not touch pools or delegations (403). Errors are OperationOutcomes: 400 malformed
input, 403 not yours, 404 unknown item, pool or owner, 422 an unknown sender, recipient or member, or
a message the rules cannot route.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from osler.apps import inbasket
from osler.apps.inbasket.requests import PoolCode
from osler.apps.scheduling.requests import FhirId
from osler.interfaces.app_api.scheduling import ActingPatient, JsonResponse, clinic_of, fhir, staff_only
from osler.interfaces.fhir_api.http import FhirResponse, actor_of
from osler.interfaces.fhir_api.routes import run_chronicle

router = APIRouter(prefix="/api/inbasket", tags=["inbasket"])

OwnerType = Literal["Practitioner", "PractitionerRole", "Patient", "Group", "Organization"]
ItemType = Literal["Communication", "Task"]


def as_patient(acting_patient: str | None, who: str | None) -> str | None:
    """The one a patient acts as (``Patient/<id>``); 403 when she names someone else."""
    if acting_patient is None:
        return who
    me = f"Patient/{acting_patient}"
    if who not in (None, me):
        raise inbasket.Forbidden("a patient can only act as herself")
    return me


# ---------------------------------------------------------------------------------- pools


@router.get("/pools", summary="In-basket pools")
async def list_pools(request: Request, acting_patient: ActingPatient = None) -> JsonResponse:
    staff_only(acting_patient)
    pools = await run_chronicle(request, inbasket.list_pools, clinic_of(request), actor=actor_of(request))
    return JsonResponse([{"code": inbasket.pool_code(p), "id": p.res_id, **_pool(p.resource)} for p in pools])


@router.post("/pools", summary="Define (or update) a pool")
async def define_pool(request: Request, setup: inbasket.PoolSetup, acting_patient: ActingPatient = None) \
        -> FhirResponse:
    staff_only(acting_patient)
    stored = await run_chronicle(request, inbasket.define_pool, clinic_of(request), setup, actor=actor_of(request))
    return fhir(request, stored)


@router.get("/pools/{code}", summary="A pool")
async def get_pool(request: Request, code: PoolCode, acting_patient: ActingPatient = None) -> FhirResponse:
    staff_only(acting_patient)
    stored = await run_chronicle(request, inbasket.find_pool, clinic_of(request), code, actor=actor_of(request))
    return fhir(request, stored)


def _pool(group: dict[str, Any]) -> dict[str, Any]:
    return {"name": group.get("name"), "active": group.get("active", True),
            "lead": (group.get("managingEntity") or {}).get("reference"),
            "members": [m["entity"]["reference"] for m in group.get("member") or []]}


# ---------------------------------------------------------------------------- delegation


@router.post("/delegations", summary="Delegate an away practitioner's items")
async def set_delegation(request: Request, setup: inbasket.DelegationSetup, acting_patient: ActingPatient = None) \
        -> FhirResponse:
    staff_only(acting_patient)
    stored = await run_chronicle(request, inbasket.set_delegation, clinic_of(request), setup, actor=actor_of(request))
    return fhir(request, stored)


@router.delete("/delegations/{practitioner_type}/{practitioner_id}", summary="End a delegation", status_code=204)
async def end_delegation(request: Request, practitioner_type: Literal["Practitioner", "PractitionerRole"],
                         practitioner_id: FhirId, acting_patient: ActingPatient = None) -> Response:
    staff_only(acting_patient)
    await run_chronicle(request, inbasket.end_delegation, clinic_of(request), f"{practitioner_type}/{practitioner_id}",
                        actor=actor_of(request))
    return Response(status_code=204)


# ------------------------------------------------------------------------------ messages


@router.post("/messages", summary="Send a message", status_code=201)
async def send_message(request: Request, message: inbasket.MessageRequest, acting_patient: ActingPatient = None) \
        -> FhirResponse:
    as_patient(acting_patient, message.sender)
    stored = await run_chronicle(request, inbasket.send_message, clinic_of(request), message, actor=actor_of(request))
    return fhir(request, stored, 201)


@router.post("/messages/{message_id}/reply", summary="Reply to a message", status_code=201)
async def reply(request: Request, message_id: FhirId, body: inbasket.ReplyRequest,
                acting_patient: ActingPatient = None) -> FhirResponse:
    as_patient(acting_patient, body.sender)
    stored = await run_chronicle(request, inbasket.reply, clinic_of(request), message_id, body.sender, body.text,
                                 actor=actor_of(request))
    return fhir(request, stored, 201)


# --------------------------------------------------------------------------------- items


@router.post("/items/{item_type}/{item_id}/read", summary="Mark an item read")
async def mark_read(request: Request, item_type: ItemType, item_id: FhirId, body: inbasket.ItemAction | None = None,
                    acting_patient: ActingPatient = None) -> FhirResponse:
    by = as_patient(acting_patient, body.by if body else None)
    stored = await run_chronicle(request, inbasket.mark_read, clinic_of(request), item_type, item_id, by=by,
                                 actor=actor_of(request))
    return fhir(request, stored)


@router.post("/items/{item_type}/{item_id}/done", summary="Mark an item done")
async def mark_done(request: Request, item_type: ItemType, item_id: FhirId, body: inbasket.ItemAction | None = None,
                    acting_patient: ActingPatient = None) -> FhirResponse:
    """Done for every recipient: a pool's item done by one member is done for the pool; a Task is completed."""
    by = as_patient(acting_patient, body.by if body else None)
    stored = await run_chronicle(request, inbasket.mark_done, clinic_of(request), item_type, item_id, by=by,
                                 actor=actor_of(request))
    return fhir(request, stored)


# --------------------------------------------------------------------------------- inbox


@router.get("/{owner_type}/{owner_id}", summary="An inbox")
async def inbox(request: Request, owner_type: OwnerType, owner_id: FhirId,
                state: Annotated[Literal["unread", "read", "done"] | None, Query()] = None,
                category: Annotated[str | None, Query(max_length=40)] = None,
                limit: Annotated[int, Query(ge=1, le=200)] = 50,
                acting_patient: ActingPatient = None) -> JsonResponse:
    """The owner's items (and their pools'), newest first, with counts by state."""
    owner = f"{owner_type}/{owner_id}"
    if acting_patient is not None and owner != f"Patient/{acting_patient}":
        raise inbasket.Forbidden("a patient can only read her own inbox")
    found = await run_chronicle(request, inbasket.inbox, clinic_of(request), owner, state, category, limit=limit,
                                actor=actor_of(request))
    return JsonResponse(found.as_json())
