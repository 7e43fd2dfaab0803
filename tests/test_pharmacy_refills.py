"""Willow refills on SQLite and PostgreSQL: a new fill while refills remain, the prescriber's in-basket
Task when none do, approval (a renewed prescription) or denial (the patient is told), and the refusals —
a refill of a stopped prescription, twice the same request, the wrong prescriber — with nothing written."""

from __future__ import annotations

import pytest

from osler.apps import pharmacy as willow
from osler.apps.inbasket import CATEGORY, STATE_TAG
from osler.chronicle.store import Chronicle
from osler.fhir.outcome import BadRequest
from tests.test_pharmacy import Pharmacy, refused


@pytest.fixture
def rx(chronicle: Chronicle) -> Pharmacy:
    return Pharmacy.create(chronicle)


def test_refills_go_to_the_pharmacy_then_to_the_prescriber(rx: Pharmacy) -> None:
    order = rx.prescribe(refills=1)
    refused(rx, willow.WrongState, 409, "not been filled",
            lambda: willow.request_refill(rx.clinic, order, f"Patient/{rx.patient}"))
    rx.fill(order)

    refill = willow.request_refill(rx.clinic, order, f"Patient/{rx.patient}")
    assert refill.routed_to == "pharmacy" and rx.states() == [(order, "to-verify", 2)]
    refused(rx, willow.WrongState, 409, "under way",
            lambda: willow.request_refill(rx.clinic, order, f"Patient/{rx.patient}"))
    second = rx.fill(order)
    assert second.resource["type"]["coding"][0]["code"] == "RF"

    asked = willow.request_refill(rx.clinic, order, f"Organization/{rx.pharmacy}")
    assert asked.routed_to == "prescriber"
    task = asked.task.resource
    assert task["owner"] == {"reference": f"Practitioner/{rx.prescriber}"}
    assert task["code"]["coding"][0] == {"system": CATEGORY, "code": "refill-request", "display": "Refill request"}
    assert task["focus"] == {"reference": f"MedicationRequest/{order}"}
    refused(rx, willow.WrongState, 409, "already requested",
            lambda: willow.request_refill(rx.clinic, order, f"Patient/{rx.patient}"))
    refused(rx, willow.Forbidden, 403, "another prescriber",
            lambda: willow.approve_refill(rx.clinic, asked.task.res_id, rx.pharmacist, 3))
    refused(rx, BadRequest, 400, "between 0 and 11",
            lambda: willow.approve_refill(rx.clinic, asked.task.res_id, rx.prescriber, 12))

    renewed = willow.approve_refill(rx.clinic, asked.task.res_id, rx.prescriber, 3).resource
    assert renewed["priorPrescription"] == {"reference": f"MedicationRequest/{order}"}
    assert renewed["dispenseRequest"]["numberOfRepeatsAllowed"] == 3 and renewed["status"] == "active"
    assert rx.chronicle.read("MedicationRequest", order).resource["status"] == "completed"
    answered = rx.chronicle.read("Task", asked.task.res_id).resource
    assert answered["status"] == "completed" and answered["businessStatus"]["coding"][0]["code"] == "approved"
    assert {"system": STATE_TAG, "code": "done"} in answered["meta"]["tag"]
    refused(rx, willow.WrongState, 409, "already answered",
            lambda: willow.deny_refill(rx.clinic, asked.task.res_id, rx.prescriber, "no"))
    assert rx.states() == [(renewed["id"], "to-verify", 1)]
    assert rx.verify(renewed["id"]).issues == []  # the prescription it renews is no duplicate


def test_a_denied_refill_tells_the_patient(rx: Pharmacy) -> None:
    order = rx.prescribe(refills=0)
    rx.fill(order)
    asked = willow.request_refill(rx.clinic, order, f"Patient/{rx.patient}")
    refused(rx, BadRequest, 400, "reason", lambda: willow.deny_refill(rx.clinic, asked.task.res_id,
                                                                         rx.prescriber, "  "))
    denied = willow.deny_refill(rx.clinic, asked.task.res_id, rx.prescriber, "Please book a follow-up visit.")
    assert denied.resource["businessStatus"]["coding"][0]["code"] == "denied"
    assert denied.resource["statusReason"] == {"text": "Please book a follow-up visit."}
    told = rx.chronicle.search("Communication", [("recipient", f"Patient/{rx.patient}"),
                                                 ("category", f"{CATEGORY}|refill-request")]).matches
    assert len(told) == 1 and "follow-up" in told[0].resource["payload"][0]["contentString"]


def test_a_stopped_prescription_cannot_be_refilled(rx: Pharmacy) -> None:
    order = rx.prescribe(refills=2)
    rx.fill(order)
    stored = rx.chronicle.read("MedicationRequest", order)
    rx.chronicle.update("MedicationRequest", order, {**stored.resource, "status": "stopped"})
    refused(rx, willow.WrongState, 409, "stopped",
            lambda: willow.request_refill(rx.clinic, order, f"Patient/{rx.patient}"))
    order = rx.prescribe()
    refused(rx, willow.UnknownReference, 422, "requester",
            lambda: willow.request_refill(rx.clinic, order, "Patient/nobody"))
