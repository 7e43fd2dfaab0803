"""Willow: dispensing a verified fill, readying it for pickup (the patient is told) and handing it over.

The ``MedicationDispense`` is written *in-progress* when the fill is prepared (``whenPrepared``) and
*completed* when the patient picks it up (``whenHandedOver``). R4's MedicationDispense has no batch, so
the lot and expiry live on a contained ``Medication`` (``batch.lotNumber``, ``batch.expirationDate``)
that the dispense names as its medication — standard FHIR, readable by any client, where an extension
would be Osler's alone.

A dispense may not exceed one fill's quantity nor what remains of the prescription (quantity * (1 +
refills) minus what was already dispensed); that, a quantity or days supply of zero or less, an expired
lot, or a fill that is not verified yet is refused before anything is written.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

from osler.apps.clinic import Clinic, instant
from osler.apps.inbasket import compose_message, post_entry
from osler.apps.pharmacy import vocabulary as v
from osler.apps.pharmacy.errors import DispenseRefused
from osler.apps.pharmacy.fills import advance, dispense_id, fill_number, put, require_state
from osler.apps.pharmacy.prescriptions import (
    Prescription,
    current_fill,
    dispensed,
    load_prescription,
    require_party,
)
from osler.chronicle.records import SYSTEM, Actor, Stored

MAX_LOT = 64


def dispense(clinic: Clinic, medication_request_id: str, quantity: Decimal | float, days_supply: int, lot: str,
             expiry: date, pharmacist: str, *, actor: Actor = SYSTEM) -> Stored:
    """Dispense the verified fill of a prescription; the MedicationDispense (in-progress until pickup)."""
    amount = v.decimal(quantity)
    if amount <= 0:
        raise DispenseRefused(f"the quantity to dispense must be more than zero, not {quantity}")
    if days_supply <= 0:
        raise DispenseRefused(f"the days supply must be at least one day, not {days_supply}")
    lot = lot.strip()
    if not lot or len(lot) > MAX_LOT:
        raise DispenseRefused(f"the lot number must be 1 to {MAX_LOT} characters")
    if expiry < clinic.today():
        raise DispenseRefused(f"lot {lot} expired on {expiry.isoformat()}: it cannot be dispensed")
    prescription = load_prescription(clinic, medication_request_id, actor=actor)
    task, earlier = current_fill(clinic, prescription, actor=actor)
    task = require_state(task, earlier, prescription, "verified", doing="dispense")
    require_party(clinic, f"Practitioner/{pharmacist}", ("Practitioner",), what="pharmacist", actor=actor)
    _check_quantity(clinic, prescription, amount, actor=actor)

    url = f"urn:uuid:{uuid4()}"
    resource = _medication_dispense(clinic, prescription, task.resource, amount, days_supply, lot, expiry,
                                    pharmacist)
    entries = [{"fullUrl": url, **post_entry(resource)},
               put(task, advance(clinic, task.resource, "dispensed",
                                 v.parameter("dispense", valueReference=v.reference(url))))]
    results = clinic.chronicle.transact(entries, actor=actor)
    assert results[0].stored is not None
    return results[0].stored


def mark_ready(clinic: Clinic, medication_request_id: str, pharmacist: str, *,
               actor: Actor = SYSTEM) -> tuple[Stored, Stored]:
    """The dispensed fill is ready for pickup: the fill Task and the patient's in-basket message
    (category ``rx-ready``), written together."""
    prescription = load_prescription(clinic, medication_request_id, actor=actor)
    task, earlier = current_fill(clinic, prescription, actor=actor)
    task = require_state(task, earlier, prescription, "dispensed", doing="mark ready for pickup")
    require_party(clinic, f"Practitioner/{pharmacist}", ("Practitioner",), what="pharmacist", actor=actor)
    pharmacy = clinic.chronicle.read("Organization", (prescription.pharmacy or "").partition("/")[2], actor=actor)
    where = pharmacy.resource.get("name") or "the pharmacy"
    message = compose_message(
        clinic, category="rx-ready", recipient=prescription.patient, patient=prescription.patient,
        sender=prescription.pharmacy, subject="Your prescription is ready for pickup",
        text=f"{prescription.display} is ready for pickup at {where}.",
        about=[prescription.reference, f"MedicationDispense/{dispense_id(task.resource)}"])
    results = clinic.chronicle.transact([put(task, advance(clinic, task.resource, "ready")), post_entry(message)],
                                        actor=actor)
    assert results[0].stored is not None and results[1].stored is not None
    return results[0].stored, results[1].stored


def mark_picked_up(clinic: Clinic, medication_request_id: str, pharmacist: str, *,
                   actor: Actor = SYSTEM) -> Stored:
    """The patient picked the fill up: the MedicationDispense completed (``whenHandedOver``), the fill done."""
    prescription = load_prescription(clinic, medication_request_id, actor=actor)
    task, earlier = current_fill(clinic, prescription, actor=actor)
    task = require_state(task, earlier, prescription, "ready", doing="hand over")
    require_party(clinic, f"Practitioner/{pharmacist}", ("Practitioner",), what="pharmacist", actor=actor)
    stored = clinic.chronicle.read("MedicationDispense", dispense_id(task.resource) or "", actor=actor)
    handed_over = {**stored.resource, "status": "completed", "whenHandedOver": instant(clinic.now())}
    results = clinic.chronicle.transact([put(stored, handed_over),
                                         put(task, advance(clinic, task.resource, "picked-up"))], actor=actor)
    assert results[0].stored is not None
    return results[0].stored


def _check_quantity(clinic: Clinic, prescription: Prescription, amount: Decimal, *, actor: Actor) -> None:
    per_fill, authorized = prescription.per_fill(), prescription.authorized_total()
    if per_fill is None or authorized is None:
        raise DispenseRefused(f"{prescription.reference} states no quantity to dispense: ask the prescriber")
    unit = _unit_text(prescription.fill_quantity)
    if amount > per_fill:
        raise DispenseRefused(f"{v.number(amount)} {unit} is more than prescribed: one fill is "
                              f"{v.number(per_fill)} {unit}")
    remaining = authorized - dispensed(clinic, prescription, actor=actor)
    if amount > remaining:
        raise DispenseRefused(f"{v.number(amount)} {unit} is more than prescribed: only {v.number(remaining)} "
                              f"{unit} remain of the {v.number(authorized)} the prescription allows")


def _unit_text(quantity: dict[str, Any] | None) -> str:
    return str((quantity or {}).get("unit") or (quantity or {}).get("code") or "units")


def _medication_dispense(clinic: Clinic, prescription: Prescription, task: dict[str, Any], amount: Decimal,
                         days_supply: int, lot: str, expiry: date, pharmacist: str) -> dict[str, Any]:
    fill_quantity = prescription.fill_quantity or {}
    medication = {"resourceType": "Medication", "id": "dispensed",
                  "code": prescription.resource.get("medicationCodeableConcept") or {"text": prescription.display},
                  "batch": {"lotNumber": lot, "expirationDate": expiry.isoformat()}}
    resource: dict[str, Any] = {
        "resourceType": "MedicationDispense", "contained": [medication], "status": "in-progress",
        "medicationReference": {"reference": "#dispensed", "display": prescription.display},
        "subject": v.reference(prescription.patient),
        "performer": [{"actor": v.reference(f"Practitioner/{pharmacist}")},
                      {"actor": v.reference(prescription.pharmacy or "")}],
        "authorizingPrescription": [v.reference(prescription.reference)],
        "type": {"coding": [v.FIRST_FILL if fill_number(task) == 1 else v.REFILL]},
        "quantity": {**{k: fill_quantity[k] for k in ("unit", "system", "code") if k in fill_quantity},
                     "value": v.number(amount)},
        "daysSupply": {"value": days_supply, "unit": "day", "system": v.UCUM, "code": "d"},
        "whenPrepared": instant(clinic.now())}
    if prescription.resource.get("dosageInstruction"):
        resource["dosageInstruction"] = prescription.resource["dosageInstruction"]
    return resource
