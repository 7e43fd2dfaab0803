"""Willow: the outpatient pharmacy — the queue of incoming prescriptions, pharmacist verification
(allergy conflict, duplicate therapy, dose range), dispensing with lot and expiry, ready for pickup
(the patient is told), picked up, and refill requests that route to the prescriber when none remain.
Everything is stored as plain FHIR R4 through the Chronicle, each step one transaction.

Every call takes a ``Clinic`` (the Chronicle, the clinic's time zone, a clock) first and an ``Actor``
(who acts, for the audit) by keyword. The prescription is the charting application's signed
``MedicationRequest`` (``dispenseRequest.performer`` = the pharmacy Organization); Willow never edits
it, except to complete it when the prescriber renews it.

=================  ==============================================================
module             owns
=================  ==============================================================
``vocabulary``     the code systems, states and small FHIR shapes Willow writes
``errors``         Willow's errors (409 wrong state or refused verification, 422…)
``formulary``      the shipped drug knowledge (``drugs.json``): ingredients, classes,
                   dose limits, cross-sensitivities
``sig``            a sig's largest single and daily dose (pure)
``screening``      the verification checks as findings (pure)
``prescriptions``  reading the prescription, its fills and dispenses, the patient's
                   allergies and medications
``fills``          the fill Task that carries the pharmacy's work state
``queue``          the pharmacy's queue
``verification``   pharmacist verification → DetectedIssues, fill verified
``dispensing``     dispense, ready for pickup (patient message), picked up
``refills``        refill requests; the prescriber's approval or denial
=================  ==============================================================
"""

from osler.apps.pharmacy.dispensing import dispense, mark_picked_up, mark_ready
from osler.apps.pharmacy.errors import DispenseRefused, Forbidden, UnknownReference, VerificationRefused, WrongState
from osler.apps.pharmacy.formulary import Drug, Formulary, Ingredient, formulary
from osler.apps.pharmacy.queue import QueueItem, queue
from osler.apps.pharmacy.refills import RefillRouting, approve_refill, deny_refill, request_refill
from osler.apps.pharmacy.screening import Finding
from osler.apps.pharmacy.verification import Verification, verify_prescription

__all__ = [
    "DispenseRefused",
    "Drug",
    "Finding",
    "Forbidden",
    "Formulary",
    "Ingredient",
    "QueueItem",
    "RefillRouting",
    "UnknownReference",
    "Verification",
    "VerificationRefused",
    "WrongState",
    "approve_refill",
    "deny_refill",
    "dispense",
    "formulary",
    "mark_picked_up",
    "mark_ready",
    "queue",
    "request_refill",
    "verify_prescription",
]
