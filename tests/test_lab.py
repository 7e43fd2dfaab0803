"""Beaker (the lab) through its Python API, on SQLite and PostgreSQL: the catalog, flags, the whole
flow (collect → receive → results → review Task → release → comment → correction with history), the
held release of sensitive tests, accession numbers under concurrency, and every kind of bad input
refused with nothing written."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from osler.apps import lab, terminology
from osler.apps.clinic import Clinic
from osler.apps.inbasket import STATE_TAG
from osler.apps.lab.catalog import Limits
from osler.apps.lab.measurements import flag, measure_all
from osler.apps.lab.vocabulary import RELEASE_TAG, STAGE_TAG, tag_code
from osler.chronicle.reactions import Reactor
from osler.chronicle.store import Chronicle
from osler.fhir.outcome import FhirError
from tests.test_scheduling_helpers import Clock

V = lab.ResultValue
START = datetime(2030, 3, 4, 15, 0, tzinfo=UTC)
CBC, LIPID, HIV, POTASSIUM = "58410-2", "24331-1", "56888-1", "2823-3"
NORMAL_CBC = [V(code="6690-2", value=7.2, unit="10*3/uL"), V(code="789-8", value=4.6, unit="10*6/uL"),
              V(code="718-7", value=13.1, unit="g/dL"), V(code="4544-3", value=40.2, unit="%"),
              V(code="787-2", value=88, unit="fL"), V(code="777-3", value=250, unit="10*3/uL")]


@dataclass
class Lab:
    chronicle: Chronicle
    clinic: Clinic
    clock: Clock
    patient: str
    doctor: str
    encounter: str

    def order(self, code: str = CBC, status: str = "active", priority: str = "routine") -> str:
        order = {"resourceType": "ServiceRequest", "status": status, "intent": "order", "priority": priority,
                 "code": {"coding": [{"system": terminology.LOINC, "code": code}]},
                 "subject": {"reference": self.patient}, "encounter": {"reference": self.encounter},
                 "requester": {"reference": self.doctor}}
        return self.chronicle.create(order).stored.res_id

    def received(self, code: str = CBC) -> str:
        """A specimen of a new order, collected and received: its accession number."""
        specimen = lab.collect_specimen(self.clinic, self.order(code), lab.Collection(collector=self.doctor))
        accession = specimen.resource["accessionIdentifier"]["value"]
        lab.receive_specimen(self.clinic, accession)
        return accession

    def inbox_of(self, owner: str, category: str) -> list[dict]:
        res_type, param = ("Communication", "recipient") if category.startswith("result-") else ("Task", "owner")
        return [s.resource for s in self.chronicle.search(res_type, [(param, owner)]).matches
                if s.resource.get("code", (s.resource.get("category") or [{}])[0])["coding"][0]["code"] == category]


def make_lab(chronicle: Chronicle, gender: str = "female") -> Lab:
    clock = Clock(START)
    clinic = Clinic(chronicle, ZoneInfo("America/New_York"), clock)
    patient = chronicle.create({"resourceType": "Patient", "gender": gender}).stored.res_id
    doctor = chronicle.create({"resourceType": "Practitioner", "name": [{"family": "Osler"}]}).stored.res_id
    encounter = chronicle.create({"resourceType": "Encounter", "status": "in-progress",
                                  "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                            "code": "AMB"},
                                  "subject": {"reference": f"Patient/{patient}"}}).stored.res_id
    return Lab(chronicle, clinic, clock, f"Patient/{patient}", f"Practitioner/{doctor}", f"Encounter/{encounter}")


@pytest.fixture
def world(chronicle: Chronicle) -> Iterator[Lab]:
    yield make_lab(chronicle)


def code_of(resource: dict) -> str:
    return resource["code"]["coding"][0]["code"]


def flags(filed: lab.Filed) -> dict[str, str]:
    return {code_of(o.resource): o.resource["interpretation"][0]["coding"][0]["code"] for o in filed.observations}


# ----------------------------------------------------------------------------- catalog, flags


def test_the_catalog_uses_shipped_codes_for_every_test_component_and_unit() -> None:
    tests = lab.catalog()
    assert {CBC, LIPID, "4548-4", "24321-2", "3016-3", POTASSIUM, "2345-7", HIV} <= set(tests)
    assert set(tests[CBC].components) == {"6690-2", "789-8", "718-7", "4544-3", "787-2", "777-3"}
    assert set(tests[LIPID].components) == {"2093-3", "2571-8", "2085-9", "13457-7"}
    for test in tests.values():
        assert terminology.lookup(terminology.LOINC, test.code) is not None
        for component in test.components.values():
            assert terminology.lookup(terminology.LOINC, component.code) is not None
            assert all(terminology.lookup(terminology.UCUM, unit) for unit in component.units)
            assert component.numeric != bool(component.answers)
    assert tests[HIV].sensitive and tests[HIV].hold == timedelta(hours=72)
    assert tests["2106-3"].sensitive and tests["2106-3"].hold == timedelta(hours=24)
    assert not tests[CBC].sensitive and tests[CBC].specimen == "BLD" and tests[LIPID].specimen == "SER"
    with pytest.raises(lab.UnknownTest):
        lab.lab_test("8867-4")  # heart rate: a vital sign, not a lab test


def test_flags_follow_the_reference_range_and_critical_limits() -> None:
    normal, critical = Limits(3.5, 5.1), Limits(2.8, 6.2)
    assert [flag(v, normal, critical) for v in (4.0, 3.5, 5.1, 3.4, 5.2, 2.8, 2.7, 6.2, 6.3)] == \
        ["N", "N", "N", "L", "H", "L", "LL", "H", "HH"]
    assert flag(250, Limits(None, 199), None) == "H" and flag(35, Limits(40, None), None) == "L"


def test_units_are_converted_and_ranges_shown_in_the_reported_unit() -> None:
    glucose = lab.lab_test("2345-7")
    [low] = measure_all(glucose, [V(code="2345-7", value=2.0, unit="mmol/L")], None)  # 36 mg/dL
    assert low.flag == "LL" and low.normal == Limits(3.885, 5.495)
    [fine] = measure_all(glucose, [V(code="2345-7", value="90", unit="mg/dL")], None)
    assert fine.flag == "N" and fine.value == 90.0


def test_ranges_by_sex_and_qualitative_answers() -> None:
    cbc, urine = lab.lab_test(CBC), lab.lab_test("24357-6")
    hemoglobin = [V(code="718-7", value=13.0, unit="g/dL")]
    assert measure_all(cbc, hemoglobin, "male")[0].flag == "L"
    assert measure_all(cbc, hemoglobin, "female")[0].flag == "N"
    nitrite = measure_all(urine, [V(code="5802-4", value="positive"), V(code="5804-0", value="Negative")], None)
    assert [(m.value, m.flag) for m in nitrite] == [("Positive", "A"), ("Negative", "N")]


# ------------------------------------------------------------------------------- the flow


def test_collect_receive_and_worklist(world: Lab) -> None:
    order = world.order(priority="stat")
    specimen = lab.collect_specimen(world.clinic, order, lab.Collection(collector=world.doctor))
    resource = specimen.resource
    accession = resource["accessionIdentifier"]["value"]
    assert accession == "L30-000001" and resource["status"] == "available"
    assert resource["type"]["coding"][0]["code"] == "BLD" and resource["request"][0]["reference"] == \
        f"ServiceRequest/{order}"
    assert resource["collection"] == {"collectedDateTime": "2030-03-04T15:00:00Z",
                                      "collector": {"reference": world.doctor}}
    assert world.chronicle.read("ServiceRequest", order).resource["status"] == "active"
    assert lab.collect_specimen(world.clinic, world.order()).resource["accessionIdentifier"]["value"] == "L30-000002"
    first = lab.worklist(world.clinic)[0]  # the stat order first
    assert (first.accession, first.stage, first.priority) == (accession, "collected", "stat")
    world.clock.moment += timedelta(minutes=40)
    received = lab.receive_specimen(world.clinic, accession)
    assert received.resource["receivedTime"] == "2030-03-04T15:40:00Z"
    assert tag_code(received.resource, STAGE_TAG) == "received"
    assert [i.accession for i in lab.worklist(world.clinic, "received")] == [accession]


def test_results_flag_values_and_a_critical_value_sends_a_stat_task(world: Lab) -> None:
    accession = world.received()
    world.clock.moment += timedelta(hours=2)
    values = [*NORMAL_CBC[:2], V(code="718-7", value=6.1, unit="g/dL"), V(code="4544-3", value=47, unit="%"),
              V(code="777-3", value=120, unit="10*9/L")]
    filed = lab.file_results(world.clinic, accession, values, performer="Organization/lab-1")
    assert flags(filed) == {"6690-2": "N", "789-8": "N", "718-7": "LL", "4544-3": "H", "777-3": "L"}
    assert filed.critical
    hemoglobin = next(o.resource for o in filed.observations if code_of(o.resource) == "718-7")
    specimen = lab.find_specimen(world.clinic, accession)
    assert hemoglobin["status"] == "final" and hemoglobin["category"][0]["coding"][0]["code"] == "laboratory"
    assert hemoglobin["code"]["coding"][0] == {"system": terminology.LOINC, "code": "718-7",
                                               "display": "Hemoglobin [Mass/volume] in Blood"}
    assert hemoglobin["valueQuantity"] == {"value": 6.1, "unit": "g/dL", "system": terminology.UCUM, "code": "g/dL"}
    assert hemoglobin["referenceRange"][0]["low"]["value"] == 12.0  # the female range
    assert hemoglobin["subject"]["reference"] == world.patient and hemoglobin["encounter"]["reference"] == \
        world.encounter
    assert hemoglobin["specimen"]["reference"] == f"Specimen/{specimen.res_id}"
    assert hemoglobin["performer"] == [{"reference": "Organization/lab-1"}]
    assert hemoglobin["effectiveDateTime"] == "2030-03-04T15:00:00Z"
    assert hemoglobin["issued"] == "2030-03-04T17:00:00Z"
    report = filed.report.resource
    assert report["status"] == "final" and code_of(report) == CBC
    assert [r["reference"] for r in report["result"]] == [f"Observation/{o.res_id}" for o in filed.observations]
    assert "Hemoglobin 6.1 g/dL (LL)" in report["conclusion"]
    order = world.chronicle.read("ServiceRequest", report["basedOn"][0]["reference"].split("/")[1]).resource
    assert order["status"] == "completed" and tag_code(specimen.resource, STAGE_TAG) == "resulted"
    [task] = world.inbox_of(world.doctor, "critical-result")
    assert task["priority"] == "stat" and task["focus"]["reference"] == f"DiagnosticReport/{filed.report.res_id}"
    assert task["meta"]["tag"][0] == {"system": STATE_TAG, "code": "unread"} and "Hemoglobin 6.1" in \
        task["description"]
    # Everything was written by one transaction: one lastUpdated for all of it.
    written = [filed.report, *filed.observations, filed.task, *filed.messages]
    assert len({s.last_updated for s in written}) == 1
    assert lab.worklist(world.clinic) == []


def test_a_normal_result_is_a_routine_review_released_to_the_patient_at_once(world: Lab) -> None:
    filed = lab.file_results(world.clinic, world.received(), NORMAL_CBC)
    assert set(flags(filed).values()) == {"N"} and not filed.critical
    assert filed.report.resource["conclusion"] == "All results within the reference range."
    [task] = world.inbox_of(world.doctor, "result")
    assert task["priority"] == "routine" and world.inbox_of(world.doctor, "critical-result") == []
    [message] = world.inbox_of(world.patient, "result-released")
    assert message["about"][0]["reference"] == f"DiagnosticReport/{filed.report.res_id}"
    assert "CBC result from March 04, 2030 is available" in message["payload"][0]["contentString"]
    assert tag_code(filed.report.resource, RELEASE_TAG) == "released"


def test_a_sensitive_result_is_held_then_released_with_the_clinicians_comment(world: Lab) -> None:
    filed = lab.file_results(world.clinic, world.received(HIV), [V(code=HIV, value="Nonreactive")])
    assert tag_code(filed.report.resource, RELEASE_TAG) == "held" and filed.messages == []
    assert world.inbox_of(world.patient, "result-released") == []
    lab.add_result_comment(world.clinic, filed.report.res_id, "Negative screen, no follow-up needed.",
                           author=world.doctor)
    world.clock.moment += timedelta(hours=71)
    assert lab.release_due_results(world.clinic) == []
    world.clock.moment += timedelta(hours=1)
    [released] = lab.release_due_results(world.clinic)
    assert "Negative screen, no follow-up needed." in released.resource["payload"][0]["contentString"]
    report = world.chronicle.read("DiagnosticReport", filed.report.res_id).resource
    assert tag_code(report, RELEASE_TAG) == "released"
    assert lab.release_due_results(world.clinic) == []  # released once


def test_the_release_job_runs_from_the_reactor(world: Lab) -> None:
    filed = lab.file_results(world.clinic, world.received(HIV), [V(code=HIV, value="Reactive")])
    assert flags(filed) == {HIV: "A"}
    world.clock.moment += timedelta(days=4)
    reactor = Reactor(world.chronicle)
    lab.register_lab(reactor, world.clinic)
    assert reactor.run_once() == 1
    assert len(world.inbox_of(world.patient, "result-released")) == 1


def test_a_comment_after_release_is_a_follow_up_message(world: Lab) -> None:
    filed = lab.file_results(world.clinic, world.received(LIPID), [
        V(code="2093-3", value=240, unit="mg/dL"), V(code="2085-9", value=1.2, unit="mmol/L")])
    assert flags(filed) == {"2093-3": "H", "2085-9": "N"}  # 1.2 mmol/L = 46 mg/dL
    commented = lab.add_result_comment(world.clinic, filed.report.res_id, "Let's talk about a statin.",
                                       author=world.doctor)
    assert commented.report.version == 2 and commented.message is not None
    assert "Let's talk about a statin." in commented.message.resource["payload"][0]["contentString"]
    assert len(world.inbox_of(world.patient, "result-released")) == 2


def test_a_correction_writes_new_versions_and_keeps_the_history(world: Lab) -> None:
    filed = lab.file_results(world.clinic, world.received(), NORMAL_CBC)
    world.clock.moment += timedelta(hours=3)
    corrected = lab.correct_results(world.clinic, filed.report.res_id, [
        V(code="718-7", value=6.5, unit="g/dL"), V(code="6690-2", value=7.2, unit="10*3/uL")],
        reason="specimen mix-up on the analyzer")
    assert [code_of(o.resource) for o in corrected.observations] == ["718-7"]  # WBC was unchanged
    observation = corrected.observations[0]
    assert observation.version == 2 and observation.resource["status"] == "corrected"
    assert observation.resource["interpretation"][0]["coding"][0]["code"] == "LL"
    assert "specimen mix-up" in observation.resource["note"][0]["text"]
    original = world.chronicle.vread("Observation", observation.res_id, 1).resource
    assert original["status"] == "final" and original["valueQuantity"]["value"] == 13.1
    report = corrected.report
    assert report.version == 2 and report.resource["status"] == "corrected"
    assert "Hemoglobin 6.5 g/dL (LL)" in report.resource["conclusion"]
    history = world.chronicle.history("DiagnosticReport", report.res_id)
    assert [e.stored.resource["status"] for e in history.entries] == ["corrected", "final"]
    [task] = world.inbox_of(world.doctor, "critical-result")
    assert task["priority"] == "stat" and "Corrected CBC result" in task["description"]
    assert len(world.inbox_of(world.patient, "result-released")) == 2  # released, then corrected


def test_a_correction_before_release_tells_only_the_clinician(world: Lab) -> None:
    filed = lab.file_results(world.clinic, world.received(HIV), [V(code=HIV, value="Reactive")])
    lab.correct_results(world.clinic, filed.report.res_id, [V(code=HIV, value="Nonreactive")],
                        reason="repeat testing nonreactive")
    assert world.inbox_of(world.patient, "result-released") == []
    assert len(world.inbox_of(world.doctor, "result")) == 2


def test_accession_numbers_are_unique_under_concurrent_collection(world: Lab) -> None:
    orders = [world.order(POTASSIUM) for _ in range(12)]
    numbers: list[str] = []
    errors: list[Exception] = []

    def collect(chunk: list[str]) -> None:
        for order in chunk:
            try:
                numbers.append(lab.collect_specimen(world.clinic, order).resource["accessionIdentifier"]["value"])
            except Exception as error:  # reported by the assertion below
                errors.append(error)

    threads = [threading.Thread(target=collect, args=(orders[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == [f"L30-{n:06d}" for n in range(1, 13)]


def test_results_filed_twice_at_once_are_written_once(world: Lab) -> None:
    accession = world.received()
    outcomes: list[str] = []

    def file() -> None:
        try:
            lab.file_results(world.clinic, accession, NORMAL_CBC)
            outcomes.append("filed")
        except FhirError as error:
            outcomes.append(str(error.status))

    threads = [threading.Thread(target=file) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["409", "409", "filed"]
    assert world.chronicle.search("DiagnosticReport", [("_summary", "count")]).total == 1


def test_a_specimen_stored_by_another_system_is_found_by_its_accession(world: Lab) -> None:
    order = world.order("2345-7")
    specimen = {"resourceType": "Specimen", "meta": {"tag": [{"system": STAGE_TAG, "code": "received"}]},
                "accessionIdentifier": {"system": "urn:osler:lab:accession", "value": "L30-777777"},
                "subject": {"reference": world.patient}, "request": [{"reference": f"ServiceRequest/{order}"}],
                "collection": {"collectedDateTime": "2030-03-04T14:00:00Z"}}
    world.chronicle.create(specimen)
    filed = lab.file_results(world.clinic, "L30-777777", [V(code="2345-7", value=130, unit="mg/dL")])
    assert flags(filed) == {"2345-7": "H"}


# ------------------------------------------------------------------------------ bad input


def refused(world: Lab, status: int, text: str, action) -> FhirError:  # type: ignore[no-untyped-def]
    """Run ``action``; it must fail with ``status`` naming ``text`` and write nothing."""
    before = world.chronicle.last_sequence()
    with pytest.raises(FhirError) as caught:
        action()
    assert caught.value.status == status, caught.value.message
    assert text in caught.value.message
    assert world.chronicle.last_sequence() == before
    return caught.value


def test_bad_results_are_refused_and_nothing_is_written(world: Lab) -> None:
    accession = world.received()
    clinic = world.clinic

    def file(*values: lab.ResultValue) -> None:
        lab.file_results(clinic, accession, [NORMAL_CBC[0], *values])

    refused(world, 404, "L30-999999", lambda: lab.file_results(clinic, "L30-999999", NORMAL_CBC))
    error = refused(world, 422, "not a component of CBC", lambda: file(V(code="2093-3", value=180, unit="mg/dL")))
    assert error.issues[0].expression == ["results[1].code"]
    error = refused(world, 422, "accepted units: g/dL, g/L", lambda: file(V(code="718-7", value=13, unit="mg/dL")))
    assert error.issues[0].expression == ["results[1].unit"]
    refused(world, 422, "accepted units", lambda: file(V(code="718-7", value=13)))
    refused(world, 422, "'high' is not a number", lambda: file(V(code="718-7", value="high", unit="g/dL")))
    refused(world, 422, "not a number", lambda: file(V(code="718-7", value=float("nan"), unit="g/dL")))
    refused(world, 422, "given twice", lambda: file(NORMAL_CBC[0]))
    hiv = world.received(HIV)
    refused(world, 422, "takes no unit", lambda: lab.file_results(clinic, hiv, [V(code=HIV, value="Reactive",
                                                                                   unit="%")]))
    refused(world, 422, "answers: Nonreactive", lambda: lab.file_results(clinic, hiv, [V(code=HIV, value="maybe")]))


def test_results_out_of_order_or_twice_are_conflicts(world: Lab) -> None:
    specimen = lab.collect_specimen(world.clinic, world.order())
    accession = specimen.resource["accessionIdentifier"]["value"]
    refused(world, 409, "not been received", lambda: lab.file_results(world.clinic, accession, NORMAL_CBC))
    lab.receive_specimen(world.clinic, accession)
    refused(world, 409, "already received", lambda: lab.receive_specimen(world.clinic, accession))
    lab.file_results(world.clinic, accession, NORMAL_CBC)
    refused(world, 409, "send a correction", lambda: lab.file_results(world.clinic, accession, NORMAL_CBC))


def test_collecting_needs_a_known_active_lab_order(world: Lab) -> None:
    refused(world, 404, "ServiceRequest/nope", lambda: lab.collect_specimen(world.clinic, "nope"))
    revoked, vital_sign = world.order(status="revoked"), world.order("8867-4")
    refused(world, 409, "is revoked", lambda: lab.collect_specimen(world.clinic, revoked))
    refused(world, 422, "does not perform", lambda: lab.collect_specimen(world.clinic, vital_sign))
    order = world.order()
    lab.collect_specimen(world.clinic, order)
    refused(world, 409, "already has a specimen", lambda: lab.collect_specimen(world.clinic, order))
