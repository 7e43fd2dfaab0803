"""Beaker's HTTP API (``/api/lab``) in-process, on SQLite and PostgreSQL: the whole flow, and every
kind of bad input answered with an OperationOutcome and nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from osler.chronicle.store import Chronicle
from osler.config import load_settings
from osler.interfaces.fhir_api import create_app
from tests.outcomes import assert_outcome
from tests.test_lab import CBC, HIV, Lab, make_lab

API = "/api/lab"
STAFF = {"X-Osler-User": "tech@lab"}
CBC_RESULTS = [{"code": "6690-2", "value": 7.2, "unit": "10*3/uL"}, {"code": "718-7", "value": 13.1, "unit": "g/dL"},
               {"code": "777-3", "value": 250, "unit": "10*3/uL"}]


class Env:
    def __init__(self, client: TestClient, world: Lab) -> None:
        self.client = client
        self.world = world
        self.chronicle = world.chronicle

    def collect(self, code: str = CBC) -> str:
        answer = self.client.post(f"{API}/orders/{self.world.order(code)}/collect",
                                  json={"collector": self.world.doctor}, headers=STAFF)
        assert answer.status_code == 201, answer.text
        return answer.json()["accessionIdentifier"]["value"]

    def received(self, code: str = CBC) -> str:
        accession = self.collect(code)
        assert self.client.post(f"{API}/specimens/{accession}/receive", headers=STAFF).status_code == 200
        return accession

    def results(self, accession: str, results: list[dict], **extra: object):  # type: ignore[no-untyped-def]
        return self.client.post(f"{API}/specimens/{accession}/results", json={"results": results, **extra},
                                headers=STAFF)


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Iterator[Env]:
    chronicle = Chronicle.open(db_url)
    settings = load_settings(home=tmp_path, database_url=db_url)
    with TestClient(create_app(settings, chronicle), raise_server_exceptions=False) as client:
        yield Env(client, make_lab(chronicle))
    chronicle.close()



def test_the_whole_flow_over_http(env: Env) -> None:
    client = env.client
    accession = env.collect()
    assert [i["accession"] for i in client.get(f"{API}/worklist", params={"stage": "collected"}).json()["items"]] \
        == [accession]
    received = client.post(f"{API}/specimens/{accession}/receive", json={}, headers=STAFF)
    assert received.status_code == 200 and received.json()["receivedTime"]
    critical = [*CBC_RESULTS[:1], {"code": "718-7", "value": 19.5, "unit": "g/dL"},
                {"code": "777-3", "value": 1200, "unit": "10*9/L"}]
    filed = env.results(accession, critical, performer="Organization/lab-1")
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert body["interpretation"] == {"6690-2": "N", "718-7": "H", "777-3": "HH"}
    assert body["critical"] and body["released"] and body["status"] == "final" and len(body["observations"]) == 3
    task = client.get(f"/fhir/Task/{body['task']}").json()
    assert task["priority"] == "stat" and task["owner"]["reference"] == env.world.doctor
    report = client.get(f"/fhir/DiagnosticReport/{body['report']}").json()
    assert report["status"] == "final" and len(report["result"]) == 3
    assert client.get(f"{API}/worklist").json()["items"] == []

    comment = client.post(f"{API}/reports/{body['report']}/comment",
                          json={"text": "Repeat the platelet count.", "author": env.world.doctor}, headers=STAFF)
    assert comment.status_code == 200 and comment.json()["message"] and comment.json()["version"] == 2
    corrected = client.post(f"{API}/reports/{body['report']}/correct", headers=STAFF, json={
        "results": [{"code": "777-3", "value": 420, "unit": "10*9/L"}], "reason": "clumped platelets"})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["interpretation"] == {"777-3": "N"} and corrected.json()["status"] == "corrected"
    platelets = corrected.json()["observations"][0]
    history = client.get(f"/fhir/Observation/{platelets}/_history").json()
    assert [e["resource"]["status"] for e in history["entry"]] == ["corrected", "final"]


def test_a_sensitive_result_is_held(env: Env) -> None:
    filed = env.results(env.received(HIV), [{"code": HIV, "value": "Nonreactive"}])
    assert filed.status_code == 201 and filed.json()["released"] is False and filed.json()["messages"] == []


def test_the_catalog_lists_the_tests(env: Env) -> None:
    tests = {t["code"]: t for t in env.client.get(f"{API}/catalog").json()}
    assert tests[CBC]["display"] == "CBC panel - Blood by Automated count" and tests[HIV]["sensitive"]
    assert "g/dL" in next(c["units"] for c in tests[CBC]["components"] if c["code"] == "718-7")


def test_bad_input_is_an_operation_outcome_and_nothing_is_written(env: Env) -> None:
    received, collected = env.received(), env.collect()
    done = env.received()
    assert env.results(done, CBC_RESULTS).status_code == 201
    revoked = env.world.order(status="revoked")
    post = env.client.post
    cases = [
        (lambda: env.results("L30-999999", CBC_RESULTS), 404, "no specimen has accession number"),
        (lambda: env.results(received, [{"code": "2093-3", "value": 180, "unit": "mg/dL"}]), 422,
         "not a component of CBC"),
        (lambda: env.results(received, [{"code": "718-7", "value": 13, "unit": "mmol/L"}]), 422,
         "accepted units: g/dL, g/L"),
        (lambda: env.results(received, [{"code": "718-7", "value": "lots", "unit": "g/dL"}]), 422, "is not a number"),
        (lambda: env.results(collected, CBC_RESULTS), 409, "not been received"),
        (lambda: env.results(done, CBC_RESULTS), 409, "send a correction"),
        (lambda: env.results(received, []), 400, "malformed request"),
        (lambda: env.results(received, [{"code": "718-7", "value": True, "unit": "g/dL"}]), 400, "malformed request"),
        (lambda: env.results("not-an-accession", CBC_RESULTS), 400, "malformed request"),
        (lambda: post(f"{API}/specimens/{collected}/receive", json={"received": "2000-01-01T00:00:00Z"},
                      headers=STAFF), 422, "before it was collected"),
        (lambda: post(f"{API}/orders/nope/collect", headers=STAFF), 404, "ServiceRequest/nope"),
        (lambda: post(f"{API}/orders/{revoked}/collect", headers=STAFF), 409, "is revoked"),
        (lambda: post(f"{API}/reports/nope/correct", headers=STAFF, json={"results": CBC_RESULTS, "reason": "x"}),
         404, "DiagnosticReport/nope"),
    ]
    for request, status, text in cases:
        before = env.chronicle.last_sequence()
        assert_outcome(request(), status, text)
        assert env.chronicle.last_sequence() == before, text


def test_bad_corrections_and_comments_are_refused(env: Env) -> None:
    filed = env.results(env.received(), CBC_RESULTS[:2])
    report = filed.json()["report"]
    outside = env.chronicle.create({"resourceType": "DiagnosticReport", "status": "final",
                                    "code": {"text": "from another lab"}}).stored.res_id

    def correct(report_id: str, results: list[dict]):  # type: ignore[no-untyped-def]
        return env.client.post(f"{API}/reports/{report_id}/correct", json={"results": results, "reason": "typo"},
                               headers=STAFF)

    cases = [
        (lambda: correct(report, CBC_RESULTS[:1]), 422, "nothing to correct"),
        (lambda: correct(report, [{"code": "777-3", "value": 100, "unit": "10*3/uL"}]), 422, "was not reported"),
        (lambda: correct(report, [{"code": "718-7", "value": 10, "unit": "%"}]), 422, "accepted units"),
        (lambda: correct(outside, CBC_RESULTS[:1]), 404, "not a lab report"),
        (lambda: env.client.post(f"{API}/reports/{outside}/comment", json={"text": "hi", "author": env.world.doctor},
                                 headers=STAFF), 404, "not a lab report"),
    ]
    for request, status, text in cases:
        before = env.chronicle.last_sequence()
        assert_outcome(request(), status, text)
        assert env.chronicle.last_sequence() == before, text


def test_patients_cannot_use_the_lab_api(env: Env) -> None:
    accession = env.received()
    before = env.chronicle.last_sequence()
    answer = env.client.post(f"{API}/specimens/{accession}/results", json={"results": CBC_RESULTS},
                             headers={"X-Osler-Acting-Patient": env.world.patient.split("/")[1]})
    assert_outcome(answer, 403, "staff function")
    assert env.chronicle.last_sequence() == before
