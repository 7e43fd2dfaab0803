"""Willow (pharmacy) on SQLite and PostgreSQL: the queue, verification (allergy, duplicate therapy,
dose range, unknown drugs), dispensing with lot and expiry, ready for pickup with the patient's
message, pickup — and every bad input refused with nothing written. Prescriptions are written directly
as MedicationRequests, as charting would sign them. ``Pharmacy`` (the set-up) is shared with the
refill, formulary and HTTP tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from osler.apps import pharmacy as willow
from osler.apps import terminology
from osler.apps.clinic import Clinic
from osler.apps.inbasket import STATE_TAG
from osler.chronicle.store import Chronicle
from osler.fhir.outcome import FhirError, NotFound

UCUM = "http://unitsofmeasure.org"
SUMATRIPTAN, IBUPROFEN, AMOXICILLIN, CEFUROXIME = "313420", "310965", "308192", "309097"
NOT_IN_FORMULARY = "1049221"  # acetaminophen 325 MG / oxycodone hydrochloride 5 MG Oral Tablet
PENICILLIN_V, RIZATRIPTAN = "7984", "88014"  # RxNorm ingredients
TABLETS = {"unit": "tablet", "system": UCUM, "code": "{tbl}"}
MIGRAINE_SIG = {"text": "1 tablet at onset; may repeat after 2 hours; no more than 200 mg a day",
                "asNeededBoolean": True, "timing": {"repeat": {"frequency": 1, "period": 2, "periodUnit": "h"}},
                "doseAndRate": [{"doseQuantity": {"value": 1, **TABLETS}}],
                "maxDosePerPeriod": {"numerator": {"value": 200, "unit": "mg", "system": UCUM, "code": "mg"},
                                     "denominator": {"value": 1, "unit": "day", "system": UCUM, "code": "d"}}}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Pharmacy:
    """A patient, her prescriber, a pharmacist and the pharmacy, on a fixed clock."""

    chronicle: Chronicle
    clinic: Clinic
    clock: Clock
    patient: str
    prescriber: str
    pharmacist: str
    pharmacy: str

    @classmethod
    def create(cls, chronicle: Chronicle) -> Pharmacy:
        clock = Clock(datetime(2030, 3, 4, 15, 0, tzinfo=UTC))
        ids = [chronicle.create(r).stored.res_id for r in (
            {"resourceType": "Patient", "name": [{"family": "Lopez", "given": ["Sarah"]}]},
            {"resourceType": "Practitioner", "name": [{"family": "Osler", "given": ["William"]}]},
            {"resourceType": "Practitioner", "name": [{"family": "Remington", "given": ["Joseph"]}]},
            {"resourceType": "Organization", "name": "Main Street Pharmacy"})]
        return cls(chronicle, Clinic(chronicle, ZoneInfo("America/New_York"), clock), clock, *ids)

    def prescribe(self, code: str = SUMATRIPTAN, *, quantity: float = 9, refills: int = 0,
                  sig: dict[str, Any] | None = None, status: str = "active") -> str:
        concept = terminology.lookup(terminology.RXNORM, code)
        request = {
            "resourceType": "MedicationRequest", "status": status, "intent": "order",
            "medicationCodeableConcept": {"coding": [concept.coding()] if concept else
                                          [{"system": terminology.RXNORM, "code": code}]},
            "subject": {"reference": f"Patient/{self.patient}"}, "authoredOn": "2030-03-04T14:30:00Z",
            "requester": {"reference": f"Practitioner/{self.prescriber}"},
            "dosageInstruction": [sig or MIGRAINE_SIG],
            "dispenseRequest": {"quantity": {"value": quantity, **TABLETS}, "numberOfRepeatsAllowed": refills,
                                "performer": {"reference": f"Organization/{self.pharmacy}"}}}
        return self.chronicle.create(request).stored.res_id

    def allergy(self, *, code: str | None = None, text: str | None = None) -> str:
        concept: dict[str, Any] = {"text": text} if text else {}
        if code:
            concept["coding"] = [terminology.coding(terminology.RXNORM, code)]
        return self.chronicle.create({
            "resourceType": "AllergyIntolerance", "patient": {"reference": f"Patient/{self.patient}"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                           "allergyintolerance-clinical", "code": "active"}]},
            "category": ["medication"], "code": concept}).stored.res_id

    def verify(self, request_id: str, reason: str | None = None) -> willow.Verification:
        return willow.verify_prescription(self.clinic, request_id, self.pharmacist, reason)

    def dispense(self, request_id: str, quantity: float = 9) -> Any:
        return willow.dispense(self.clinic, request_id, quantity, 30, "SUM2291A", date(2031, 6, 30), self.pharmacist)

    def fill(self, request_id: str) -> Any:
        """Verify, dispense, ready and hand over one fill; the completed MedicationDispense."""
        self.verify(request_id)
        self.dispense(request_id)
        willow.mark_ready(self.clinic, request_id, self.pharmacist)
        return willow.mark_picked_up(self.clinic, request_id, self.pharmacist)

    def states(self, include_completed: bool = False) -> list[tuple[str, str, int]]:
        return [(i.medication_request, i.state, i.fill)
                for i in willow.queue(self.clinic, self.pharmacy, include_completed=include_completed)]


@pytest.fixture
def rx(chronicle: Chronicle) -> Pharmacy:
    return Pharmacy.create(chronicle)


def count(chronicle: Chronicle, res_type: str) -> int:
    return chronicle.search(res_type, [("_summary", "count")]).total or 0


def refused(rx: Pharmacy, error: type[FhirError], status: int, text: str, action: Any) -> FhirError:
    """``action`` fails with ``error`` (its status and message) and writes nothing."""
    before = rx.chronicle.last_sequence()
    with pytest.raises(error) as raised:
        action()
    assert raised.value.status == status and text in raised.value.message, raised.value.message
    assert rx.chronicle.last_sequence() == before, "a refused action wrote something"
    return raised.value


def issue_codes(verification: willow.Verification) -> list[tuple[str, str]]:
    return [(i.resource["code"]["coding"][-1]["code"], i.resource["severity"]) for i in verification.issues]


# ------------------------------------------------------------------------------ the whole fill


def test_a_prescription_goes_from_the_queue_to_the_patient(rx: Pharmacy) -> None:
    order = rx.prescribe()
    assert rx.states() == [(order, "to-verify", 1)]

    verification = rx.verify(order)
    assert verification.issues == [] and not verification.overridden
    assert verification.task.resource["businessStatus"]["coding"][0]["code"] == "verified"
    assert verification.task.resource["owner"] == {"reference": f"Organization/{rx.pharmacy}"}
    assert rx.states() == [(order, "verified", 1)]

    dispensed = rx.dispense(order).resource
    assert dispensed["status"] == "in-progress" and dispensed["whenPrepared"] == "2030-03-04T15:00:00Z"
    assert dispensed["quantity"] == {"value": 9, **TABLETS}
    assert dispensed["daysSupply"]["value"] == 30 and dispensed["type"]["coding"][0]["code"] == "FF"
    medication = dispensed["contained"][0]
    assert dispensed["medicationReference"]["reference"] == f"#{medication['id']}"
    assert medication["batch"] == {"lotNumber": "SUM2291A", "expirationDate": "2031-06-30"}
    assert medication["code"]["coding"][0] == {"system": terminology.RXNORM, "code": SUMATRIPTAN,
                                               "display": "sumatriptan 50 MG Oral Tablet"}
    assert dispensed["authorizingPrescription"] == [{"reference": f"MedicationRequest/{order}"}]
    assert rx.states() == [(order, "dispensed", 1)]

    rx.clock.now += timedelta(hours=1)
    task, message = willow.mark_ready(rx.clinic, order, rx.pharmacist)
    note = message.resource
    assert note["recipient"] == [{"reference": f"Patient/{rx.patient}"}]
    assert note["category"][0]["coding"][0]["code"] == "rx-ready"
    assert note["meta"]["tag"] == [{"system": STATE_TAG, "code": "unread"}]
    assert "Main Street Pharmacy" in note["payload"][0]["contentString"]
    assert rx.states() == [(order, "ready", 1)]

    rx.clock.now += timedelta(hours=2)
    handed = willow.mark_picked_up(rx.clinic, order, rx.pharmacist).resource
    assert handed["status"] == "completed" and handed["whenHandedOver"] == "2030-03-04T18:00:00Z"
    assert rx.states() == []
    assert rx.states(include_completed=True) == [(order, "picked-up", 1)]
    assert rx.chronicle.read("Task", task.res_id).resource["status"] == "completed"


def test_the_queue_belongs_to_its_pharmacy_and_skips_inactive_orders(rx: Pharmacy) -> None:
    other = rx.chronicle.create({"resourceType": "Organization", "name": "Elsewhere"}).stored.res_id
    mine = rx.prescribe()
    rx.prescribe(status="cancelled")
    assert rx.states() == [(mine, "to-verify", 1)]
    assert willow.queue(rx.clinic, other) == []
    with pytest.raises(NotFound):
        willow.queue(rx.clinic, "no-such-pharmacy")


# ------------------------------------------------------------------------------ verification


def test_an_allergy_to_an_ingredient_class_is_a_hard_stop_until_overridden(rx: Pharmacy) -> None:
    allergy = rx.allergy(code=PENICILLIN_V)
    order = rx.prescribe(AMOXICILLIN, sig={"doseAndRate": [{"doseQuantity": {"value": 500, "unit": "mg",
                                                                               "system": UCUM, "code": "mg"}}],
                                           "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}}})
    error = refused(rx, willow.VerificationRefused, 409, "hard stop", lambda: rx.verify(order))
    assert [i.severity for i in error.issues] == ["error"]
    assert "allergy-class" in error.issues[0].diagnostics and "Penicillin" in error.issues[0].diagnostics
    assert count(rx.chronicle, "DetectedIssue") == 0 and rx.states() == [(order, "to-verify", 1)]

    verification = rx.verify(order, "tolerated amoxicillin in 2029 without reaction")
    assert verification.overridden and issue_codes(verification) == [("allergy-class", "high")]
    issue = verification.issues[0].resource
    assert issue["code"]["coding"][0]["code"] == "ALGY"
    assert issue["implicated"] == [{"reference": f"MedicationRequest/{order}"},
                                   {"reference": f"AllergyIntolerance/{allergy}"}]
    assert "tolerated amoxicillin" in issue["mitigation"][0]["action"]["text"]
    outputs = [o["valueReference"]["reference"] for o in verification.task.resource["output"]]
    assert outputs == [f"Practitioner/{rx.pharmacist}", f"DetectedIssue/{verification.issues[0].res_id}"]
    assert rx.states() == [(order, "verified", 1)]


def test_the_same_ingredient_is_a_hard_stop_and_a_cross_sensitivity_a_warning(rx: Pharmacy) -> None:
    rx.allergy(text="Amoxicillin")
    augmentin = rx.prescribe("562251", sig={"doseAndRate": [{"doseQuantity": {"value": 1, **TABLETS}}],
                                            "timing": {"code": {"coding": [{
                                                "system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation",
                                                "code": "TID"}]}}})
    error = refused(rx, willow.VerificationRefused, 409, "cannot be verified", lambda: rx.verify(augmentin))
    assert "allergy-ingredient" in error.issues[0].diagnostics and "amoxicillin" in error.issues[0].diagnostics

    cephalosporin = rx.prescribe(CEFUROXIME, sig={"doseAndRate": [{"doseQuantity": {"value": 1, **TABLETS}}],
                                                  "timing": {"repeat": {"frequency": 2, "period": 1,
                                                                        "periodUnit": "d"}}})
    verification = rx.verify(cephalosporin)
    assert not verification.overridden
    assert issue_codes(verification) == [("allergy-cross-sensitivity", "moderate")]
    assert "beta-lactam" in verification.issues[0].resource["detail"]


def test_duplicate_therapy(rx: Pharmacy) -> None:
    rx.chronicle.create({"resourceType": "MedicationStatement", "status": "active",
                         "medicationCodeableConcept": {"coding": [terminology.coding(terminology.RXNORM,
                                                                                     RIZATRIPTAN)]},
                         "subject": {"reference": f"Patient/{rx.patient}"}})
    triptan = rx.prescribe()
    verification = rx.verify(triptan)
    assert issue_codes(verification) == [("duplicate-class", "moderate")]
    assert "Triptan" in verification.issues[0].resource["detail"]

    daily = {"doseAndRate": [{"doseQuantity": {"value": 2, **TABLETS}}],
             "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}}}
    first, second = rx.prescribe(IBUPROFEN, sig=daily), rx.prescribe(IBUPROFEN, sig=daily)
    error = refused(rx, willow.VerificationRefused, 409, "hard stop", lambda: rx.verify(second))
    assert "duplicate-ingredient" in error.issues[0].diagnostics
    assert issue_codes(rx.verify(first, "replaces the other order, which the prescriber will cancel")) == [
        ("duplicate-ingredient", "high")]


@pytest.mark.parametrize(("sig", "kind"), [
    ({"doseAndRate": [{"doseQuantity": {"value": 150, "unit": "mg", "system": UCUM, "code": "mg"}}]}, "dose-single"),
    ({"doseAndRate": [{"doseQuantity": {"value": 1, **TABLETS}}],
      "timing": {"repeat": {"frequency": 1, "period": 2, "periodUnit": "h"}}}, "dose-daily"),
    ({"doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mL", "system": UCUM, "code": "mL"}}]}, "dose-unit"),
])
def test_a_dose_out_of_range_is_a_hard_stop(rx: Pharmacy, sig: dict[str, Any], kind: str) -> None:
    order = rx.prescribe(sig=sig)
    error = refused(rx, willow.VerificationRefused, 409, "hard stop", lambda: rx.verify(order))
    assert [kind in issue.diagnostics for issue in error.issues] == [True]


def test_an_unknown_drug_needs_an_override_and_an_unreadable_dose_is_a_warning(rx: Pharmacy) -> None:
    unknown = rx.prescribe(NOT_IN_FORMULARY)
    error = refused(rx, willow.VerificationRefused, 409, "override", lambda: rx.verify(unknown))
    assert "unknown-drug" in error.issues[0].diagnostics
    assert issue_codes(rx.verify(unknown, "checked against the package insert")) == [("unknown-drug", "high")]

    text_only = rx.prescribe(sig={"text": "as directed"})
    assert issue_codes(rx.verify(text_only)) == [("dose-unchecked", "low")]


# ------------------------------------------------------------------------------ bad input


def test_verification_of_an_unknown_cancelled_or_verified_prescription(rx: Pharmacy) -> None:
    refused(rx, NotFound, 404, "not known", lambda: rx.verify("no-such-order"))
    cancelled = rx.prescribe(status="cancelled")
    refused(rx, willow.WrongState, 409, "cancelled", lambda: rx.verify(cancelled))
    order = rx.prescribe()
    refused(rx, willow.UnknownReference, 422, "pharmacist",
            lambda: willow.verify_prescription(rx.clinic, order, "nobody"))
    rx.verify(order)
    refused(rx, willow.WrongState, 409, "verified", lambda: rx.verify(order))


def test_dispensing_refuses_what_the_prescription_does_not_allow(rx: Pharmacy) -> None:
    order = rx.prescribe(quantity=9, refills=1)  # 18 tablets over the prescription's life
    refused(rx, willow.WrongState, 409, "to verify", lambda: rx.dispense(order))
    rx.verify(order)
    refused(rx, willow.DispenseRefused, 422, "more than prescribed", lambda: rx.dispense(order, 10))
    refused(rx, willow.DispenseRefused, 422, "more than zero", lambda: rx.dispense(order, 0))
    refused(rx, willow.DispenseRefused, 422, "more than zero", lambda: rx.dispense(order, -3))
    refused(rx, willow.DispenseRefused, 422, "expired", lambda: willow.dispense(
        rx.clinic, order, 9, 30, "OLD1", date(2030, 3, 3), rx.pharmacist))
    # 15 already dispensed elsewhere (recorded by another pharmacy's interface): 3 remain
    rx.chronicle.create({"resourceType": "MedicationDispense", "status": "completed",
                         "medicationCodeableConcept": {"text": "sumatriptan"},
                         "subject": {"reference": f"Patient/{rx.patient}"}, "quantity": {"value": 15, **TABLETS},
                         "authorizingPrescription": [{"reference": f"MedicationRequest/{order}"}]})
    refused(rx, willow.DispenseRefused, 422, "only 3 tablet remain of the 18", lambda: rx.dispense(order, 9))
    assert rx.dispense(order, 3).resource["quantity"]["value"] == 3


def test_ready_and_pickup_follow_the_order_of_the_work(rx: Pharmacy) -> None:
    order = rx.prescribe()
    rx.verify(order)
    refused(rx, willow.WrongState, 409, "verified", lambda: willow.mark_ready(rx.clinic, order, rx.pharmacist))
    refused(rx, willow.WrongState, 409, "verified", lambda: willow.mark_picked_up(rx.clinic, order, rx.pharmacist))
    rx.dispense(order)
    refused(rx, willow.WrongState, 409, "dispensed", lambda: rx.dispense(order))
    assert count(rx.chronicle, "Communication") == 0
