"""Charting (EpicCare Ambulatory) through its Python API, on SQLite and PostgreSQL: vitals, problem list,
diagnoses, allergies, medication list, notes (sign, lock, addendum), orders (lab, prescription, DME,
referral; signing, immutability, replacement), level of service and the after-visit summary — and every
kind of bad input refused with the right error and nothing written."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pypdf
import pytest

from osler.apps import charting, pharmacy
from osler.apps import terminology as t
from osler.apps.charting import vocabulary as v
from osler.apps.charting.errors import Forbidden, UnknownReference
from osler.apps.clinic import Clinic
from osler.apps.inbasket import CATEGORY
from osler.apps.scheduling.vocabulary import DEPARTMENT_ID, DEPARTMENT_TAG
from osler.chronicle.store import Chronicle
from osler.fhir.outcome import FhirError, NotFound

NOW = datetime(2027, 1, 4, 15, 0, tzinfo=UTC)
CHARTED = ("Observation", "Condition", "AllergyIntolerance", "MedicationStatement", "DocumentReference",
           "ServiceRequest", "MedicationRequest", "DeviceRequest", "ChargeItem", "Communication")


@dataclass
class World:
    chronicle: Chronicle
    clinic: Clinic
    patient: str
    doctor: str
    colleague: str
    pharmacy: str
    supplier: str
    department: str
    encounter: str

    def encounter_for(self, patient: str, status: str = "in-progress") -> str:
        return make_encounter(self.chronicle, patient, self.doctor, self.department, status)


def make_encounter(chronicle: Chronicle, patient: str, doctor: str, department: str, status: str = "in-progress",
                   start: str = "2027-01-04T14:30:00Z") -> str:
    return chronicle.create({
        "resourceType": "Encounter", "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{patient}"}, "period": {"start": start},
        "serviceProvider": {"reference": f"Organization/{department}"},
        "participant": [{"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                               "code": "PPRF"}]}],
                         "individual": {"reference": f"Practitioner/{doctor}"}}]}).stored.res_id


def populate(chronicle: Chronicle, clinic: Clinic, start: str = "2027-01-04T14:30:00Z") -> World:
    def create(resource: dict[str, Any]) -> str:
        return chronicle.create(resource).stored.res_id

    def practitioner(given: str, family: str) -> str:
        return create({"resourceType": "Practitioner",
                       "name": [{"prefix": ["Dr."], "given": [given], "family": family}]})

    department = create({"resourceType": "Organization", "name": "Family Medicine"})
    patient = create({"resourceType": "Patient", "name": [{"given": ["Sarah"], "family": "Lopez"}],
                      "birthDate": "1984-03-12"})
    doctor = practitioner("Meredith", "Grey")
    return World(chronicle, clinic, patient, doctor, practitioner("Derek", "Shepherd"),
                 create({"resourceType": "Organization", "name": "Main Street Pharmacy"}),
                 create({"resourceType": "Organization", "name": "Acme Home Medical"}), department,
                 make_encounter(chronicle, patient, doctor, department, start=start))


@pytest.fixture
def world(chronicle: Chronicle) -> World:
    return populate(chronicle, Clinic(chronicle, ZoneInfo("America/New_York"), lambda: NOW))


def count(chronicle: Chronicle, res_type: str) -> int:
    return chronicle.search(res_type, [("_summary", "count")]).total or 0


@contextmanager
def nothing_written(chronicle: Chronicle) -> Iterator[None]:
    """The block must write nothing: no change on the feed, and no charting resource more or less."""
    sequence, counts = chronicle.last_sequence(), {kind: count(chronicle, kind) for kind in CHARTED}
    yield
    assert chronicle.last_sequence() == sequence
    assert {kind: count(chronicle, kind) for kind in CHARTED} == counts


def refused(chronicle: Chronicle, error: type[FhirError], status: int, text: str, call: Any, *args: Any,
            **kwargs: Any) -> FhirError:
    with nothing_written(chronicle), pytest.raises(error) as raised:
        call(*args, **kwargs)
    assert raised.value.status == status
    assert text in raised.value.message, raised.value.message
    return raised.value


def close(world: World, status: str = "finished") -> None:
    current = world.chronicle.read("Encounter", world.encounter)
    world.chronicle.update("Encounter", world.encounter, {**current.resource, "status": status})


def codes(concept: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["system"], c["code"]) for c in concept["coding"]]


# ------------------------------------------------------------------------------------ vitals

VITALS = charting.VitalsRequest.model_validate({
    "heart_rate": {"value": 72}, "respiratory_rate": {"value": 14}, "temperature": {"value": 98.6, "unit": "[degF]"},
    "spo2": {"value": 98}, "height": {"value": 65, "unit": "[in_i]"}, "weight": {"value": 132, "unit": "[lb_av]"},
    "blood_pressure": {"systolic": 118, "diastolic": 76}})


def test_a_set_of_vitals_is_stored_as_profiled_observations_in_one_transaction(world: World) -> None:
    before = world.chronicle.last_sequence()
    stored = charting.record_vitals(world.clinic, world.encounter, VITALS)
    assert world.chronicle.last_sequence() == before + 8  # seven vitals and BMI, nothing else
    by_code = {o.resource["code"]["coding"][0]["code"]: o.resource for o in stored}
    assert set(by_code) == {"8867-4", "9279-1", "8310-5", "2708-6", "8302-2", "29463-7", "39156-5", "85354-9"}
    for observation in by_code.values():
        assert observation["status"] == "final"
        assert observation["category"][0]["coding"][0]["code"] == "vital-signs"
        assert observation["meta"]["profile"][0] == "http://hl7.org/fhir/StructureDefinition/vitalsigns"
        assert observation["subject"] == {"reference": f"Patient/{world.patient}"}
        assert observation["encounter"] == {"reference": f"Encounter/{world.encounter}"}
        assert observation["performer"] == [{"reference": f"Practitioner/{world.doctor}"}]
        assert observation["effectiveDateTime"] == "2027-01-04T15:00:00Z"
    assert by_code["8867-4"]["meta"]["profile"][1] == "http://hl7.org/fhir/StructureDefinition/heartrate"
    assert by_code["8310-5"]["valueQuantity"] == {"value": 98.6, "unit": "[degF]", "system": t.UCUM, "code": "[degF]"}
    assert codes(by_code["2708-6"]["code"]) == [(t.LOINC, "2708-6"), (t.LOINC, "59408-5")]
    bmi = by_code["39156-5"]
    assert bmi["valueQuantity"]["value"] == 22.0 and bmi["valueQuantity"]["code"] == "kg/m2"
    height_weight = {f"Observation/{o.res_id}" for o in stored if o.resource["code"]["coding"][0]["code"]
                     in ("8302-2", "29463-7")}
    assert {ref["reference"] for ref in bmi["derivedFrom"]} == height_weight
    pressure = by_code["85354-9"]
    assert pressure["meta"]["profile"][1] == "http://hl7.org/fhir/StructureDefinition/bp"
    assert "valueQuantity" not in pressure
    assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]["value"], c["valueQuantity"]["code"])
            for c in pressure["component"]] == [("8480-6", 118, "mm[Hg]"), ("8462-4", 76, "mm[Hg]")]


@pytest.mark.parametrize(("vitals", "text"), [
    ({"weight": {"value": 60, "unit": "mm[Hg]"}}, "body weight in 'mm[Hg]': the unit does not fit; body weight takes "
                                                   "kg, g, [lb_av]"),
    ({"temperature": {"value": 37, "unit": "kg"}}, "body temperature takes Cel, [degF]"),
    ({"heart_rate": {"value": 72, "unit": "furlong"}}, "heart rate takes /min"),
    ({"blood_pressure": {"systolic": 120, "diastolic": 80, "unit": "%"}}, "takes mm[Hg]"),
])
def test_a_unit_that_does_not_fit_the_vital_is_refused(world: World, vitals: dict[str, Any], text: str) -> None:
    request = charting.VitalsRequest.model_validate({"heart_rate": {"value": 70}, **vitals})
    error = refused(world.chronicle, charting.UnitMismatch, 422, text, charting.record_vitals, world.clinic,
                    world.encounter, request)
    assert error.outcome()["issue"][0]["expression"]


@pytest.mark.parametrize(("vitals", "text"), [
    ({"heart_rate": {"value": 900}}, "heart rate 900 /min is not plausible: it must be between 20 and 300 /min"),
    ({"temperature": {"value": 120, "unit": "[degF]"}}, "body temperature 120 [degF] (48.9 Cel) is not plausible"),
    ({"temperature": {"value": 98.6}}, "between 25 and 45 Cel"),  # Fahrenheit typed as Celsius
    ({"weight": {"value": 0}}, "body weight 0 kg is not plausible"),
    ({"spo2": {"value": 104}}, "oxygen saturation 104 %"),
    ({"blood_pressure": {"systolic": 80, "diastolic": 120}}, "the diastolic pressure must be lower than the systolic"),
    ({"blood_pressure": {"systolic": 400, "diastolic": 80}}, "systolic blood pressure 400 mm[Hg] is not plausible"),
    ({"height": {"value": 50}, "weight": {"value": 300}}, "give a BMI of 1200 kg/m2, which is not plausible"),
])
def test_an_implausible_vital_is_refused(world: World, vitals: dict[str, Any], text: str) -> None:
    refused(world.chronicle, charting.ImplausibleValue, 422, text, charting.record_vitals, world.clinic,
            world.encounter, charting.VitalsRequest.model_validate({"respiratory_rate": {"value": 16}, **vitals}))


@pytest.mark.parametrize("status", ["finished", "cancelled", "entered-in-error"])
def test_nothing_is_charted_into_a_closed_encounter(world: World, status: str) -> None:
    close(world, status)
    refused(world.chronicle, charting.EncounterClosed, 409, f"the encounter is {status}", charting.record_vitals,
            world.clinic, world.encounter, VITALS)
    refused(world.chronicle, charting.EncounterClosed, 409, "nothing was written", charting.add_problem,
            world.clinic, world.encounter, charting.ProblemRequest(code="G43.909"))


def test_an_unknown_encounter_or_practitioner_is_refused(world: World) -> None:
    refused(world.chronicle, NotFound, 404, "Encounter/nope is not known", charting.record_vitals, world.clinic,
            "nope", VITALS)
    refused(world.chronicle, UnknownReference, 422, "Practitioner/ghost is not known",
            charting.record_vitals, world.clinic, world.encounter,
            VITALS.model_copy(update={"practitioner": "ghost"}))


# ---------------------------------------------------------------- problems and diagnoses


def test_the_problem_list(world: World) -> None:
    problem = charting.add_problem(world.clinic, world.encounter, charting.ProblemRequest(
        code="G43.909", onset=date(2019, 5, 1), note="since college"))
    condition = problem.resource
    assert condition["category"][0]["coding"][0]["code"] == "problem-list-item"
    assert condition["clinicalStatus"]["coding"][0]["code"] == "active"
    assert condition["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert condition["code"]["coding"] == [{"system": t.ICD10CM, "code": "G43.909", "display":
                                            "Migraine, unspecified, not intractable, without status migrainosus"}]
    assert condition["onsetDateTime"] == "2019-05-01" and condition["recorder"]["reference"].endswith(world.doctor)
    refused(world.chronicle, charting.Duplicate, 409, "G43.909 is already on the problem list", charting.add_problem,
            world.clinic, world.encounter, charting.ProblemRequest(code="G43.909"))
    refused(world.chronicle, t.UnknownCode, 422, "ICD-10-CM code 'G43.999' is not a known", charting.add_problem,
            world.clinic, world.encounter, charting.ProblemRequest(code="G43.999"))
    resolved = charting.resolve_problem(world.clinic, world.encounter, problem.res_id, charting.ResolveProblem())
    assert resolved.version == 2 and resolved.resource["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert resolved.resource["abatementDateTime"] == "2027-01-04"
    refused(world.chronicle, charting.WrongState, 409, "it cannot be resolved", charting.resolve_problem,
            world.clinic, world.encounter, problem.res_id, charting.ResolveProblem())


def test_encounter_diagnoses_are_ranked_on_the_encounter(world: World) -> None:
    first = charting.add_diagnoses(world.clinic, world.encounter, charting.DiagnosesRequest.model_validate(
        {"diagnoses": [{"code": "G43.909"}, {"code": "I10"}]}))
    assert [c.resource["category"][0]["coding"][0]["code"] for c in first.conditions] == ["encounter-diagnosis"] * 2
    assert first.encounter.version == 2
    second = charting.add_diagnoses(world.clinic, world.encounter, charting.DiagnosesRequest.model_validate(
        {"diagnoses": [{"code": "R51.9", "rank": 1}]}))
    ranked = [(d["rank"], d["condition"]["reference"]) for d in second.encounter.resource["diagnosis"]]
    assert ranked == [(1, f"Condition/{second.conditions[0].res_id}"), (2, f"Condition/{first.conditions[0].res_id}"),
                      (3, f"Condition/{first.conditions[1].res_id}")]
    assert second.encounter.resource["diagnosis"][0]["use"]["coding"][0]["code"] == "billing"
    refused(world.chronicle, charting.Duplicate, 409, "I10 is already a diagnosis of this encounter",
            charting.add_diagnoses, world.clinic, world.encounter,
            charting.DiagnosesRequest.model_validate({"diagnoses": [{"code": "E78.5"}, {"code": "I10"}]}))
    refused(world.chronicle, t.UnknownCode, 422, "'X99.9' is not a known", charting.add_diagnoses, world.clinic,
            world.encounter, charting.DiagnosesRequest.model_validate({"diagnoses": [{"code": "X99.9"}]}))
    assert [c.res_id for c in charting.read_chart(world.clinic, world.encounter).diagnoses] == \
        [ref.rsplit("/", 1)[1] for _, ref in ranked]


# ------------------------------------------------------------------ allergies, medications


def test_allergies_and_no_known_drug_allergies(world: World) -> None:
    nkda = charting.record_no_known_drug_allergies(world.clinic, world.encounter, charting.Acting())
    assert codes(nkda.resource["code"]) == [(t.SNOMED, "409137002")]
    penicillin = charting.record_allergy(world.clinic, world.encounter, charting.AllergyRequest(
        rxnorm="7980", criticality="high", reactions=["126485001", "41291007"], severity="moderate"))
    allergy = penicillin.resource
    assert allergy["code"]["coding"] == [{"system": t.RXNORM, "code": "7980", "display": "penicillin G"}]
    assert allergy["category"] == ["medication"] and allergy["criticality"] == "high"
    assert [m["coding"][0]["display"] for m in allergy["reaction"][0]["manifestation"]] == ["Urticaria", "Angioedema"]
    # the drug allergy ended the "no known drug allergies" statement in the same transaction
    assert world.chronicle.read("AllergyIntolerance", nkda.res_id).resource["clinicalStatus"]["coding"][0]["code"] \
        == "inactive"
    refused(world.chronicle, charting.WrongState, 409, "is an active drug allergy",
            charting.record_no_known_drug_allergies, world.clinic, world.encounter, charting.Acting())
    refused(world.chronicle, charting.Duplicate, 409, "an active allergy to penicillin G is already recorded",
            charting.record_allergy, world.clinic, world.encounter, charting.AllergyRequest(rxnorm="7980"))
    refused(world.chronicle, t.UnknownCode, 422, "is not an ingredient", charting.record_allergy, world.clinic,
            world.encounter, charting.AllergyRequest(rxnorm="313420"))
    refused(world.chronicle, t.UnknownCode, 422, "RxNorm code '999999' is not a known", charting.record_allergy,
            world.clinic, world.encounter, charting.AllergyRequest(rxnorm="999999"))
    refused(world.chronicle, t.UnknownCode, 422, "reaction manifestation '7980'", charting.record_allergy,
            world.clinic, world.encounter, charting.AllergyRequest(rxnorm="723", reactions=["7980"]))
    latex = charting.record_allergy(world.clinic, world.encounter, charting.AllergyRequest(snomed="111088007"))
    assert latex.resource["category"] == ["environment"]
    wrong = charting.mark_allergy_entered_in_error(world.clinic, world.encounter, penicillin.res_id,
                                                   charting.Acting())
    assert "clinicalStatus" not in wrong.resource
    assert wrong.resource["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    assert charting.record_no_known_drug_allergies(world.clinic, world.encounter, charting.Acting()).version == 1


def test_the_medication_list(world: World) -> None:
    taken = charting.add_medication(world.clinic, world.encounter, charting.MedicationEntry(
        rxnorm="314076", dosage="1 tablet by mouth daily", started=date(2024, 2, 1)))
    statement = taken.resource
    assert statement["status"] == "active" and statement["medicationCodeableConcept"]["coding"][0]["code"] == "314076"
    assert statement["dosage"] == [{"text": "1 tablet by mouth daily"}]
    assert statement["context"] == {"reference": f"Encounter/{world.encounter}"}
    refused(world.chronicle, charting.Duplicate, 409, "already on the medication list", charting.add_medication,
            world.clinic, world.encounter, charting.MedicationEntry(rxnorm="314076"))
    refused(world.chronicle, t.UnknownCode, 422, "RxNorm code '0000' is not a known", charting.add_medication,
            world.clinic, world.encounter, charting.MedicationEntry(rxnorm="0000"))
    stopped = charting.stop_medication(world.clinic, world.encounter, taken.res_id,
                                       charting.StopMedication(reason="cough"))
    assert stopped.resource["status"] == "stopped"
    assert stopped.resource["effectivePeriod"] == {"start": "2024-02-01", "end": "2027-01-04"}


# ----------------------------------------------------------------------------------- notes


def test_a_signed_note_is_locked_and_an_addendum_is_a_new_version(world: World) -> None:
    note = charting.write_note(world.clinic, world.encounter, charting.NoteRequest(text="Headache for 3 days."))
    assert note.resource["docStatus"] == "preliminary" and note.resource["type"]["coding"][0]["code"] == "11506-3"
    assert note.resource["category"][0]["coding"][0]["code"] == "clinical-note"
    assert note.resource["content"][0]["attachment"]["contentType"] == "text/plain"
    assert note.resource["context"]["encounter"] == [{"reference": f"Encounter/{world.encounter}"}]
    edited = charting.edit_note(world.clinic, note.res_id, charting.NoteEdit(text="Headache for 3 days. Photophobia."))
    assert edited.version == 2 and charting.note_text(edited.resource) == "Headache for 3 days. Photophobia."
    refused(world.chronicle, Forbidden, 403, "only its author signs", charting.sign_note,
            world.clinic, note.res_id, charting.Acting(practitioner=world.colleague))
    refused(world.chronicle, charting.WrongState, 409, "not signed yet", charting.add_addendum, world.clinic,
            note.res_id, charting.Addendum(text="too early"))
    signed = charting.sign_note(world.clinic, note.res_id, charting.Acting())
    assert signed.resource["docStatus"] == "final"
    assert signed.resource["authenticator"] == {"reference": f"Practitioner/{world.doctor}"}
    assert v.extension_values(signed.resource, v.SIGNED_AT_EXT, "valueDateTime") == ["2027-01-04T15:00:00Z"]
    refused(world.chronicle, charting.NoteLocked, 409, "is signed and locked", charting.edit_note, world.clinic,
            note.res_id, charting.NoteEdit(text="rewritten history"))
    refused(world.chronicle, charting.NoteLocked, 409, "already signed", charting.sign_note, world.clinic,
            note.res_id, charting.Acting())
    close(world)  # addenda are written after the visit
    amended = charting.add_addendum(world.clinic, note.res_id, charting.Addendum(
        text="Called the patient: better.", practitioner=world.colleague))
    assert amended.res_id == note.res_id and amended.version == 4 and amended.resource["docStatus"] == "amended"
    addendum = amended.resource["content"][1]
    assert addendum["extension"][0]["valueReference"] == {"reference": f"Practitioner/{world.colleague}"}
    assert addendum["attachment"]["creation"] == "2027-01-04T15:00:00Z"
    assert charting.note_text(amended.resource) == "Headache for 3 days. Photophobia.\n\nCalled the patient: better."
    as_signed = world.chronicle.vread("DocumentReference", note.res_id, 3).resource
    assert as_signed["docStatus"] == "final" and len(as_signed["content"]) == 1
    assert world.chronicle.history("DocumentReference", note.res_id).total == 4
    refused(world.chronicle, charting.EncounterClosed, 409, "the encounter is finished", charting.write_note,
            world.clinic, world.encounter, charting.NoteRequest(text="late"))


def test_a_note_needs_a_known_document_type(world: World) -> None:
    refused(world.chronicle, t.UnknownCode, 422, "LOINC document type '99999-9'", charting.write_note, world.clinic,
            world.encounter, charting.NoteRequest(text="x", type="99999-9"))
    refused(world.chronicle, t.UnknownCode, 422, "'8867-4' is not one charting knows as a note",
            charting.write_note, world.clinic, world.encounter, charting.NoteRequest(text="x", type="8867-4"))


# ----------------------------------------------------------------------------------- orders


def sumatriptan(world: World, **changes: Any) -> charting.Prescription:
    return charting.Prescription.model_validate({
        "rxnorm": "313420", "dose": 1, "frequency": 1, "period": 2, "period_unit": "h", "as_needed": True,
        "quantity": 9, "refills": 1, "days_supply": 30, "pharmacy": world.pharmacy, "reasons": ["G43.909"],
        **changes})


def cpap(world: World, **changes: Any) -> charting.DmeOrder:
    note = charting.write_note(world.clinic, world.encounter, charting.NoteRequest(text="OSA, AHI 32."))
    return charting.DmeOrder.model_validate({
        "hcpcs": "E0601", "settings": {"pressure_min": 5, "pressure_max": 15, "mask": "nasal", "humidifier": True},
        "reasons": ["G47.33"], "supplier": world.supplier, "supporting_documents": [note.res_id],
        "cc": [f"Organization/{world.supplier}", f"Practitioner/{world.colleague}"], **changes})


def test_lab_orders(world: World) -> None:
    cbc = charting.place_order(world.clinic, world.encounter, charting.LabOrder(code="58410-2", priority="stat",
                                                                                sign=True))
    order = cbc.resource
    assert (order["status"], order["intent"], order["priority"]) == ("active", "order", "stat")
    assert order["code"]["coding"] == [{"system": t.LOINC, "code": "58410-2",
                                        "display": "CBC panel - Blood by Automated count"}]
    assert codes(order["category"][0]) == [(t.SNOMED, "108252007")]
    assert v.extension_values(order, v.SPECIMEN_TYPE_EXT, "valueCodeableConcept") == [
        {"coding": [{"system": v.SPECIMEN_TYPE_SYSTEM, "code": "BLD", "display": "Whole blood"}]}]
    assert order["subject"]["reference"] == f"Patient/{world.patient}"
    assert order["requester"]["reference"] == f"Practitioner/{world.doctor}"
    assert order["authoredOn"] == "2027-01-04T15:00:00Z"
    lipids = charting.place_order(world.clinic, world.encounter, charting.LabOrder(code="24331-1", reasons=["E78.5"]))
    assert lipids.resource["status"] == "draft" and lipids.resource["reasonCode"][0]["coding"][0]["code"] == "E78.5"
    assert v.extension_values(lipids.resource, v.SPECIMEN_TYPE_EXT, "valueCodeableConcept")[0]["coding"][0]["code"] \
        == "SER"
    signed = charting.sign_order(world.clinic, "lab", lipids.res_id, charting.Acting())
    assert signed.resource["status"] == "active" and signed.version == 2
    refused(world.chronicle, charting.OrderSigned, 409, "already signed", charting.sign_order, world.clinic, "lab",
            lipids.res_id, charting.Acting())
    for bad, text in (({"code": "12345-6"}, "LOINC order code '12345-6' is not a known"),
                      ({"code": "8867-4"}, "is not one charting knows as a lab order"),
                      ({"code": "58410-2", "specimen": "XYZ"}, "specimen type 'XYZ'"),
                      ({"code": "58410-2", "reasons": ["Q99.99"]}, "ICD-10-CM code 'Q99.99'")):
        refused(world.chronicle, t.UnknownCode, 422, text, charting.place_order, world.clinic, world.encounter,
                charting.LabOrder.model_validate(bad))


def test_a_prescription_is_signed_then_immutable_and_replaced_by_a_new_one(world: World) -> None:
    draft = charting.place_order(world.clinic, world.encounter, sumatriptan(world))
    order = draft.resource
    assert order["status"] == "draft"
    assert order["medicationCodeableConcept"]["coding"] == [{"system": t.RXNORM, "code": "313420",
                                                              "display": "sumatriptan 50 MG Oral Tablet"}]
    dosage = order["dosageInstruction"][0]
    assert dosage["text"] == "Take 1 tablet by mouth every 2 hours as needed"
    assert dosage["timing"]["repeat"] == {"frequency": 1, "period": 2.0, "periodUnit": "h"}
    assert dosage["asNeededBoolean"] is True and codes(dosage["route"]) == [(t.SNOMED, "26643006")]
    assert dosage["doseAndRate"][0]["doseQuantity"] == {"value": 1.0, "unit": "tablet", "system": t.UCUM,
                                                        "code": "{tbl}"}
    dispense = order["dispenseRequest"]
    assert dispense["quantity"]["value"] == 9 and dispense["numberOfRepeatsAllowed"] == 1
    assert dispense["expectedSupplyDuration"] == {"value": 30, "unit": "days", "system": t.UCUM, "code": "d"}
    assert dispense["performer"] == {"reference": f"Organization/{world.pharmacy}", "display": "Main Street Pharmacy"}
    edited = charting.edit_order(world.clinic, "prescription", draft.res_id, sumatriptan(world, quantity=6))
    assert edited.version == 2 and edited.resource["dispenseRequest"]["quantity"]["value"] == 6
    signed = charting.sign_order(world.clinic, "prescription", draft.res_id, charting.Acting())
    assert signed.resource["status"] == "active"
    refused(world.chronicle, charting.OrderSigned, 409, "is signed and cannot be edited", charting.edit_order,
            world.clinic, "prescription", draft.res_id, sumatriptan(world, quantity=60))
    before = world.chronicle.last_sequence()
    new = charting.modify_order(world.clinic, "prescription", draft.res_id, sumatriptan(world, quantity=12,
                                                                                          refills=2))
    assert world.chronicle.last_sequence() == before + 2  # the new order and the revoked old one, together
    assert new.res_id != draft.res_id and new.resource["status"] == "active"
    assert new.resource["priorPrescription"] == {"reference": f"MedicationRequest/{draft.res_id}"}
    assert world.chronicle.read("MedicationRequest", draft.res_id).resource["status"] == "revoked"
    refused(world.chronicle, charting.WrongState, 409, "is revoked: it can no longer be changed",
            charting.modify_order, world.clinic, "prescription", draft.res_id, sumatriptan(world))
    for bad, error, text in (({"rxnorm": "37418"}, t.UnknownCode, "is not a clinical drug (SCD)"),
                             ({"rxnorm": "1"}, t.UnknownCode, "RxNorm code '1' is not a known"),
                             ({"route": "999"}, t.UnknownCode, "route '999'"),
                             ({"dose_unit": "[smoot]"}, t.UnknownCode, "unit '[smoot]'"),
                             ({"pharmacy": "nowhere"}, UnknownReference, "Organization/nowhere")):
        refused(world.chronicle, error, 422, text, charting.place_order, world.clinic, world.encounter,
                sumatriptan(world, **bad))


def test_a_dme_order_copies_its_recipients_when_signed(world: World) -> None:
    request = cpap(world)
    draft = charting.place_order(world.clinic, world.encounter, request)
    order = draft.resource
    assert order["codeCodeableConcept"]["coding"] == [{"system": t.HCPCS, "code": "E0601",
                                                       "display": "Cont airway pressure device"}]
    parameters = {p["code"]["coding"][0]["code"]: p for p in order["parameter"]}
    assert parameters["quantity"]["valueQuantity"] == {"value": 1}
    assert parameters["pressure-range"]["valueRange"]["low"] == {"value": 5.0, "unit": "cm[H2O]", "system": t.UCUM,
                                                                 "code": "cm[H2O]"}
    assert parameters["mask"]["valueCodeableConcept"]["coding"][0]["code"] == "nasal"
    assert parameters["humidifier"]["valueBoolean"] is True
    assert codes(order["reasonCode"][0]) == [(t.ICD10CM, "G47.33")]
    assert order["supportingInfo"] == [{"reference": f"DocumentReference/{request.supporting_documents[0]}"}]
    assert order["performer"]["reference"] == f"Organization/{world.supplier}"
    assert [e["valueReference"]["reference"] for e in order["extension"]] == list(request.cc)
    assert count(world.chronicle, "Communication") == 0  # a draft is copied to no one
    signed = charting.sign_order(world.clinic, "dme", draft.res_id, charting.Acting())
    messages = world.chronicle.search("Communication", [("category", f"{CATEGORY}|cc-order")]).matches
    assert sorted(m.resource["recipient"][0]["reference"] for m in messages) == sorted(request.cc)
    assert {m.resource["about"][0]["reference"] for m in messages} == {f"DeviceRequest/{signed.res_id}"}
    assert messages[0].resource["subject"]["reference"] == f"Patient/{world.patient}"
    bilevel = charting.modify_order(world.clinic, "dme", draft.res_id, cpap(world, hcpcs="E0470", settings={
        "ipap": 14, "epap": 8, "mask": "full-face"}, cc=[]))
    assert bilevel.resource["priorRequest"] == [{"reference": f"DeviceRequest/{draft.res_id}"}]


@pytest.mark.parametrize(("changes", "error", "text"), [
    ({"settings": {"oxygen_flow": 2}}, charting.ImplausibleValue, "the setting oxygen_flow does not fit E0601"),
    ({"settings": {"pressure": 40}}, charting.ImplausibleValue, "pressure 40 is outside what E0601 delivers"),
    ({"settings": {"pressure_min": 12, "pressure_max": 8}}, charting.ImplausibleValue, "low pressure must be below"),
    ({"hcpcs": "E0470", "settings": {"ipap": 8, "epap": 12}}, charting.ImplausibleValue, "EPAP must be lower"),
    ({"hcpcs": "E9999"}, t.UnknownCode, "HCPCS code 'E9999' is not a known"),
    ({"supplier": "gone"}, UnknownReference, "Organization/gone is not known"),
    ({"cc": ["Organization/gone"]}, UnknownReference, "Organization/gone is not known"),
])
def test_a_bad_dme_order_is_refused(world: World, changes: dict[str, Any], error: type[FhirError], text: str) -> None:
    request = cpap(world, **changes)
    refused(world.chronicle, error, 422, text, charting.place_order, world.clinic, world.encounter, request)


def test_a_dme_order_cites_only_the_patients_own_documents(world: World) -> None:
    stranger = world.chronicle.create({"resourceType": "Patient"}).stored.res_id
    other_encounter = world.encounter_for(stranger)
    foreign = charting.write_note(world.clinic, other_encounter, charting.NoteRequest(text="someone else"))
    refused(world.chronicle, UnknownReference, 422, "belongs to another patient",
            charting.place_order, world.clinic, world.encounter, cpap(world, supporting_documents=[foreign.res_id]))


def test_referrals(world: World) -> None:
    referral = charting.place_order(world.clinic, world.encounter, charting.Referral(
        specialty="394591006", reasons=["G43.909"], performer=f"Practitioner/{world.colleague}", sign=True))
    order = referral.resource
    assert codes(order["category"][0]) == [(t.SNOMED, "3457005")]
    assert order["code"]["text"] == "Referral to Neurology"
    assert codes(order["performerType"]) == [(t.SNOMED, "394591006")]
    assert order["performer"] == [{"reference": f"Practitioner/{world.colleague}"}]
    assert charting.kind_of(order) == "referral"
    refused(world.chronicle, NotFound, 404, "is not a lab order", charting.sign_order, world.clinic, "lab",
            referral.res_id, charting.Acting())
    refused(world.chronicle, t.UnknownCode, 422, "is not one charting knows as a specialty", charting.place_order,
            world.clinic, world.encounter, charting.Referral(specialty="26643006", reasons=["G43.909"]))


def test_no_order_is_placed_or_signed_in_a_closed_encounter(world: World) -> None:
    draft = charting.place_order(world.clinic, world.encounter, charting.LabOrder(code="58410-2"))
    requests = [charting.LabOrder(code="58410-2", sign=True), sumatriptan(world), cpap(world),
                charting.Referral(specialty="394591006", reasons=["G43.909"])]
    close(world)
    for request in requests:
        refused(world.chronicle, charting.EncounterClosed, 409, "the encounter is finished", charting.place_order,
                world.clinic, world.encounter, request)
    refused(world.chronicle, charting.EncounterClosed, 409, "the encounter is finished", charting.sign_order,
            world.clinic, "lab", draft.res_id, charting.Acting())


# ------------------------------------------------------------------ billing and summary


def test_the_level_of_service_is_one_billable_charge_item_per_encounter(world: World) -> None:
    first = charting.set_level_of_service(world.clinic, world.encounter, charting.LevelOfService(code="99213"))
    charge = first.resource
    assert charge["status"] == "billable" and charge["code"] == {"coding": [{"system": t.CPT, "code": "99213"}]}
    assert charge["context"] == {"reference": f"Encounter/{world.encounter}"}
    assert charge["performer"][0]["actor"]["reference"] == f"Practitioner/{world.doctor}"
    assert charge["occurrenceDateTime"] == "2027-01-04T14:30:00Z"
    second = charting.set_level_of_service(world.clinic, world.encounter, charting.LevelOfService(code="99214"))
    assert (second.res_id, second.version) == (first.res_id, 2)
    assert "display" not in second.resource["code"]["coding"][0]
    assert count(world.chronicle, "ChargeItem") == 1
    refused(world.chronicle, t.UnknownCode, 422, "E/M code '99999' is not a known", charting.set_level_of_service,
            world.clinic, world.encounter, charting.LevelOfService(code="99999"))


def test_the_after_visit_summary_is_a_pdf_sent_to_the_patient(world: World) -> None:
    charting.record_vitals(world.clinic, world.encounter, VITALS)
    charting.add_diagnoses(world.clinic, world.encounter,
                           charting.DiagnosesRequest.model_validate({"diagnoses": [{"code": "G43.909"}]}))
    charting.record_allergy(world.clinic, world.encounter, charting.AllergyRequest(rxnorm="7980",
                                                                                   reactions=["126485001"]))
    charting.place_order(world.clinic, world.encounter, sumatriptan(world, sign=True))
    charting.place_order(world.clinic, world.encounter, charting.LabOrder(code="58410-2", sign=True))
    charting.place_order(world.clinic, world.encounter, charting.LabOrder(code="24331-1"))  # a draft: not printed
    close(world)  # printed at check-out
    stored = charting.after_visit_summary(world.clinic, world.encounter, charting.SummaryRequest(
        instructions="Rest in a dark, quiet room.\nCall us if the headache gets worse."))
    document = stored.resource
    assert codes(document["type"]) == [(t.LOINC, "34133-9")]
    attachment = document["content"][0]["attachment"]
    pdf = base64.b64decode(attachment["data"])
    assert attachment["contentType"] == "application/pdf" and attachment["size"] == len(pdf)
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(pdf).digest()).decode()
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("Family Medicine", "Sarah Lopez", "January 4, 2027", "Dr. Meredith Grey", "Blood pressure: 118/76",
                     "Migraine, unspecified, not intractable, without status migrainosus (G43.909)",
                     "sumatriptan 50 MG Oral Tablet", "Take 1 tablet by mouth every 2 hours as needed",
                     "CBC panel", "penicillin G", "Rest in a dark, quiet room."):
        assert expected in text, expected
    assert "Lipid 1996" not in text
    messages = world.chronicle.search("Communication", [("category", f"{CATEGORY}|visit-summary")]).matches
    assert len(messages) == 1
    assert messages[0].resource["recipient"] == [{"reference": f"Patient/{world.patient}"}]
    assert messages[0].resource["about"] == [{"reference": f"DocumentReference/{stored.res_id}"}]
    again = charting.after_visit_summary(world.clinic, world.encounter)
    assert again.resource["relatesTo"] == [{"code": "replaces",
                                            "target": {"reference": f"DocumentReference/{stored.res_id}"}}]
    assert world.chronicle.read("DocumentReference", stored.res_id).resource["status"] == "superseded"
    assert [s.res_id for s in charting.read_chart(world.clinic, world.encounter).summaries] == [again.res_id]
    close(world, "cancelled")
    refused(world.chronicle, charting.EncounterClosed, 409, "the encounter is cancelled",
            charting.after_visit_summary, world.clinic, world.encounter)


def test_the_chart_shows_what_the_encounter_documented(world: World) -> None:
    charting.record_vitals(world.clinic, world.encounter, charting.VitalsRequest.model_validate(
        {"heart_rate": {"value": 64}}))
    charting.add_problem(world.clinic, world.encounter, charting.ProblemRequest(code="I10"))
    charting.add_medication(world.clinic, world.encounter, charting.MedicationEntry(rxnorm="314076"))
    charting.write_note(world.clinic, world.encounter, charting.NoteRequest(text="Doing well."))
    charting.place_order(world.clinic, world.encounter, charting.LabOrder(code="4548-4"))
    charting.set_level_of_service(world.clinic, world.encounter, charting.LevelOfService(code="99212"))
    chart = charting.read_chart(world.clinic, world.encounter).as_json()
    assert [len(chart[key]) for key in ("vitals", "problems", "medications", "notes", "orders", "summaries")] == \
        [1, 1, 1, 1, 1, 0]
    assert chart["level_of_service"]["code"]["coding"][0]["code"] == "99212"
    assert chart["encounter"]["id"] == world.encounter


def test_the_summary_names_the_department_the_visit_was_booked_in(world: World) -> None:
    chronicle = world.chronicle
    chronicle.create({"resourceType": "Organization", "name": "Pediatrics",
                      "identifier": [{"system": DEPARTMENT_ID, "value": "peds"}]})
    appointment = chronicle.create({
        "resourceType": "Appointment", "status": "arrived", "meta": {"tag": [{"system": DEPARTMENT_TAG,
                                                                              "code": "peds"}]},
        "participant": [{"actor": {"reference": f"Patient/{world.patient}"}, "status": "accepted"}]}).stored
    encounter = chronicle.read("Encounter", world.encounter).resource
    del encounter["serviceProvider"]  # as check-in opens it: the department is the appointment's
    chronicle.update("Encounter", world.encounter,
                     {**encounter, "appointment": [{"reference": f"Appointment/{appointment.res_id}"}]})
    pdf = charting.summary_pdf(charting.after_visit_summary(world.clinic, world.encounter).resource)
    assert pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text().startswith("Pediatrics")


def test_a_daily_cap_makes_an_as_needed_sig_pass_the_pharmacy_dose_check(world: World) -> None:
    """Every 2 hours as needed reads as 12 tablets (600 mg) a day — over sumatriptan's 200 mg; the
    prescriber's cap of 4 a day is written as maxDosePerPeriod, which Willow's dose check honours."""
    pharmacist = world.chronicle.create({"resourceType": "Practitioner", "name": [{"family": "Novak"}]}).stored.res_id
    uncapped = charting.place_order(world.clinic, world.encounter, sumatriptan(world, sign=True))
    with pytest.raises(pharmacy.VerificationRefused) as refusal:
        pharmacy.verify_prescription(world.clinic, uncapped.res_id, pharmacist)
    assert "200 mg" in str(refusal.value.outcome()), "the refusal should name the daily maximum"
    capped = charting.modify_order(world.clinic, "prescription", uncapped.res_id,
                                   sumatriptan(world, max_doses_per_day=4))
    dosage = capped.resource["dosageInstruction"][0]
    assert dosage["maxDosePerPeriod"] == {
        "numerator": {"value": 4.0, "unit": "tablet", "system": t.UCUM, "code": "{tbl}"},
        "denominator": {"value": 1, "unit": "day", "system": t.UCUM, "code": "d"}}
    assert dosage["text"] == "Take 1 tablet by mouth every 2 hours as needed; no more than 4 a day"
    verified = pharmacy.verify_prescription(world.clinic, capped.res_id, pharmacist)
    assert not verified.overridden and not [f for f in verified.findings if f.hard_stop]
