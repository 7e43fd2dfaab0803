"""EpicCare Ambulatory (charting): placing, signing and changing orders — lab, prescription, DME, referral.

Every order references the patient, the encounter, the requesting Practitioner and when it was
authored, carries its priority, reasons (ICD-10-CM) and note, and starts as a ``draft`` — or is
signed at once (``sign=True``). Signing makes it ``active`` (the signer becomes the requester; the
time is the ``signed-at`` extension) and copies it to its cc'd recipients' in-baskets in the same
transaction. Orders are placed only in an open encounter (409 otherwise, nothing written).

A draft may be edited in place. A signed order is immutable: editing it is ``OrderSigned`` (409);
``modify_order`` instead creates a new, signed order that points back to it (``replaces`` on a
ServiceRequest, ``priorPrescription`` on a MedicationRequest, ``priorRequest`` on a DeviceRequest)
and revokes the old one, in one transaction.

What each kind of order says is built by ``service_requests``, ``prescriptions`` and ``dme``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from osler.apps import terminology
from osler.apps.charting import vocabulary as v
from osler.apps.charting.dme import dme_order
from osler.apps.charting.encounters import EncounterContext, editable, open_encounter, post, put, transact
from osler.apps.charting.errors import OrderSigned, WrongState
from osler.apps.charting.prescriptions import prescription
from osler.apps.charting.requests import Acting, OrderKind, OrderRequest
from osler.apps.charting.service_requests import lab_order, referral
from osler.apps.clinic import Clinic, instant
from osler.apps.inbasket import compose_message
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import BadRequest, NotFound

RESOURCE_TYPES: dict[str, str] = {"lab": "ServiceRequest", "referral": "ServiceRequest",
                                  "prescription": "MedicationRequest", "dme": "DeviceRequest"}
BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {"lab": lab_order, "referral": referral,
                                                      "prescription": prescription, "dme": dme_order}
# Where a replacing order points at the one it replaces, and whether that element is a list.
PRIOR: dict[str, tuple[str, bool]] = {"ServiceRequest": ("replaces", True),
                                      "MedicationRequest": ("priorPrescription", False),
                                      "DeviceRequest": ("priorRequest", True)}
NEW_ORDER = "urn:uuid:order"


def place_order(clinic: Clinic, encounter_id: str, request: OrderRequest, *, actor: Actor = SYSTEM) -> Stored:
    """Place an order in the open encounter: a draft, or active when ``request.sign``; the order."""
    context = open_encounter(clinic, encounter_id, practitioner=request.practitioner, actor=actor)
    order = _build(clinic, context, request, actor)
    cc_messages = _sign(clinic, order, NEW_ORDER, context) if request.sign else []
    return transact(clinic, [post(order, NEW_ORDER), *cc_messages], actor=actor)[0]


def sign_order(clinic: Clinic, kind: OrderKind, order_id: str, request: Acting, *, actor: Actor = SYSTEM) -> Stored:
    """Sign a draft order: ``active``, immutable from now on; the order."""
    current = read_order(clinic, kind, order_id, actor=actor)
    if current.resource.get("status") != "draft":
        raise OrderSigned(f"{current.res_type}/{order_id} is already signed ({current.resource.get('status')}); "
                          "nothing was written")
    context = _order_encounter(clinic, current, request.practitioner, actor)
    order = editable(current)
    cc_messages = _sign(clinic, order, f"{current.res_type}/{order_id}", context)
    return transact(clinic, [put(current, order), *cc_messages], actor=actor)[0]


def edit_order(clinic: Clinic, kind: OrderKind, order_id: str, request: OrderRequest, *,
               actor: Actor = SYSTEM) -> Stored:
    """Rewrite a draft order in place (signing it too when ``request.sign``); ``OrderSigned`` (409) once signed."""
    _same_kind(kind, request)
    current = read_order(clinic, kind, order_id, actor=actor)
    if current.resource.get("status") != "draft":
        raise OrderSigned(f"{current.res_type}/{order_id} is signed and cannot be edited: modify it instead (a new "
                          "order replaces it); nothing was written")
    context = _order_encounter(clinic, current, request.practitioner, actor)
    order = {**_build(clinic, context, request, actor), "authoredOn": current.resource["authoredOn"]}
    ref = f"{current.res_type}/{order_id}"
    cc_messages = _sign(clinic, order, ref, context) if request.sign else []
    return transact(clinic, [put(current, order), *cc_messages], actor=actor)[0]


def modify_order(clinic: Clinic, kind: OrderKind, order_id: str, request: OrderRequest, *,
                 encounter_id: str | None = None, actor: Actor = SYSTEM) -> Stored:
    """Change a signed order: a new signed order replacing it, and the old one revoked, in one transaction.

    The change is made in ``encounter_id`` (an open encounter of the same patient, e.g. a phone call after
    the visit), by default the order's own encounter. Returns the new order."""
    _same_kind(kind, request)
    current = read_order(clinic, kind, order_id, actor=actor)
    status = current.resource.get("status")
    if status == "draft":
        raise WrongState(f"{current.res_type}/{order_id} is a draft: edit it in place; nothing was written")
    if status != "active":
        raise WrongState(f"{current.res_type}/{order_id} is {status}: it can no longer be changed; "
                         "nothing was written")
    context = _order_encounter(clinic, current, request.practitioner, actor, encounter_id)
    if v.reference_id(current.resource.get("subject"), "Patient") != context.patient_id:
        raise WrongState(f"Encounter/{context.id} is another patient's: the order cannot be changed in it")
    order = _build(clinic, context, request, actor)
    element, is_list = PRIOR[current.res_type]
    prior = v.reference(f"{current.res_type}/{order_id}")
    order[element] = [prior] if is_list else prior
    cc_messages = _sign(clinic, order, NEW_ORDER, context)
    revoked = {**editable(current), "status": "revoked"}
    return transact(clinic, [post(order, NEW_ORDER), put(current, revoked), *cc_messages], actor=actor)[0]


def read_order(clinic: Clinic, kind: OrderKind, order_id: str, *, actor: Actor = SYSTEM) -> Stored:
    """The order of that kind (404 when there is none: a referral's id asked for as a lab order is not found)."""
    current = clinic.chronicle.read(RESOURCE_TYPES[kind], order_id, actor=actor)
    if kind_of(current.resource) != kind:
        raise NotFound(f"{current.res_type}/{order_id} is not a {kind} order")
    return current


def kind_of(order: dict[str, Any]) -> str | None:
    """``lab``, ``referral``, ``prescription`` or ``dme``; None for a resource charting did not order."""
    if order.get("resourceType") == "MedicationRequest":
        return "prescription"
    if order.get("resourceType") == "DeviceRequest":
        return "dme"
    categories = {v.first_code(category, terminology.SNOMED) for category in order.get("category") or []}
    return "lab" if v.LAB_CATEGORY in categories else "referral" if v.REFERRAL_CATEGORY in categories else None


def order_code(order: dict[str, Any]) -> dict[str, Any]:
    """What is ordered: the test, drug, device or referral, as its CodeableConcept."""
    return order.get("code") or order.get("medicationCodeableConcept") or order.get("codeCodeableConcept") or {}


def order_title(order: dict[str, Any]) -> str:
    concept = order_code(order)
    coding = (concept.get("coding") or [{}])[0]
    return concept.get("text") or coding.get("display") or coding.get("code", "order")


# ----------------------------------------------------------------------------------- helpers


def _build(clinic: Clinic, context: EncounterContext, request: OrderRequest, actor: Actor) -> dict[str, Any]:
    reasons = [v.coded(terminology.ICD10CM, code, what="ICD-10-CM code") for code in request.reasons]
    order = BUILDERS[request.kind](clinic, context, request, actor)
    order.update({"status": "draft", "intent": "order", "priority": request.priority, "subject": context.patient,
                  "encounter": context.encounter, "authoredOn": instant(clinic.now()),
                  "requester": context.practitioner})
    if reasons:
        order["reasonCode"] = reasons
    if request.note:
        order["note"] = [{"text": request.note, "authorReference": context.practitioner}]
    return order


def _sign(clinic: Clinic, order: dict[str, Any], ref: str, context: EncounterContext) -> list[dict[str, Any]]:
    """Make ``order`` signed by the practitioner acting; the transaction entries copying it to its cc's."""
    order["status"] = "active"
    order["requester"] = context.practitioner
    order["extension"] = [*(e for e in order.get("extension", []) if e.get("url") != v.SIGNED_AT_EXT),
                          v.extension(v.SIGNED_AT_EXT, valueDateTime=instant(clinic.now()))]
    title = order_title(order)
    return [post(compose_message(
        clinic, category="cc-order", recipient=recipient["reference"], subject=f"Order copied to you: {title}",
        text=f"An order for {title} was signed by {context.practitioner['reference']}; you are copied on it.",
        patient=context.patient["reference"], sender=context.practitioner["reference"], about=[ref]))
        for recipient in v.extension_values(order, v.CC_RECIPIENT_EXT, "valueReference")]


def _order_encounter(clinic: Clinic, order: Stored, practitioner: str | None, actor: Actor,
                     encounter_id: str | None = None) -> EncounterContext:
    target = encounter_id or v.reference_id(order.resource.get("encounter"), "Encounter")
    if target is None:
        raise WrongState(f"{order.res_type}/{order.res_id} belongs to no encounter: name one")
    acting = practitioner or v.reference_id(order.resource.get("requester"), "Practitioner")
    return open_encounter(clinic, target, practitioner=acting, actor=actor)

def _same_kind(kind: OrderKind, request: OrderRequest) -> None:
    if request.kind != kind:
        raise BadRequest(f"a {request.kind} order cannot stand in for a {kind} order")
