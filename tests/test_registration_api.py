"""Prelude over HTTP, in-process on SQLite and PostgreSQL: /api/registration and FHIR Patient/$match, and
an OperationOutcome with the right 4xx — and nothing written — for every kind of bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from osler.config import load_settings
from osler.interfaces.fhir_api import create_app
from osler.interfaces.payers.simulator import PayerSimulator

API = "/api/registration"
FHIR = {"Content-Type": "application/fhir+json"}
MARIA = {"family": "Rivera", "given": "Maria", "birth_date": "1985-07-14", "sex": "female",
         "phone": "(555) 201-4567", "address": {"line": ["12 Elm Street"], "city": "Springfield", "state": "MA",
                                                "postal_code": "01101"}}
ACME = {"payer_id": "acme-health", "payer_name": "Acme Health Plans", "member_id": "ACM100200301",
        "plan": "acme-ppo-gold", "start": "2024-01-01", "copays": {"gpvisit": "25.00"}}


@pytest.fixture
def client(tmp_path: Path, db_url: str) -> Iterator[TestClient]:
    settings = load_settings(home=tmp_path, database_url=db_url, payer_timeout_seconds=0.05)
    with TestClient(create_app(settings), raise_server_exceptions=False,
                    headers={"X-Osler-User": "clerk.adams"}) as test_client:
        yield test_client


def assert_outcome(response, status: int, text: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome" and text in response.text, response.text
    return body


def count(client: TestClient, res_type: str) -> int:
    return client.get(f"/fhir/{res_type}", params={"_summary": "count"}).json()["total"]


def register(client: TestClient, **changes: object) -> dict:
    response = client.post(f"{API}/patients", json={**MARIA, **changes})
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_register_then_find_the_same_person(client: TestClient) -> None:
    created = client.post(f"{API}/patients", json=MARIA)
    assert created.status_code == 201
    body = created.json()
    assert body["outcome"] == "created" and len(body["mrn"]) == 8 and body["work_items"] == []
    patient = client.get(f"/fhir/Patient/{body['patient_id']}").json()
    assert patient["identifier"][0]["value"] == body["mrn"] and patient["telecom"][0]["value"] == "555-201-4567"
    assert client.get(f"/fhir/Account/{body['account_id']}").status_code == 200

    again = client.post(f"{API}/patients", json={**MARIA, "phone": "555.201.4567"})
    assert again.status_code == 200
    assert (again.json()["outcome"], again.json()["patient_id"]) == ("existing", body["patient_id"])
    assert again.json()["matches"][0]["grade"] == "certain" and count(client, "Patient") == 1


@pytest.mark.parametrize(("changes", "text"), [
    ({"phone": "555-12"}, "phone: a phone number must be a 10-digit US number"),
    ({"birth_date": "14/07/1985"}, "birth_date: Input should be a valid date"),
    ({"birth_date": "2999-01-01"}, "birth_date: a birth date cannot be in the future"),
    ({"family": None}, "family: Field required"),
    ({"sex": "f"}, "sex: Input should be"),
    ({"address": {"line": ["1 Main St"], "city": "X", "state": "Massachusetts", "postal_code": "0110"}},
     "address.state: String should match pattern"),
    ({"favourite_colour": "blue"}, "favourite_colour: Extra inputs are not permitted"),
])
def test_bad_demographics_are_refused_and_nothing_is_written(client: TestClient, changes: dict, text: str) -> None:
    body = {k: v for k, v in {**MARIA, **changes}.items() if v is not None}
    outcome = assert_outcome(client.post(f"{API}/patients", json=body), 400, text)
    assert outcome["issue"][0]["expression"]
    assert count(client, "Patient") == 0 and count(client, "Account") == 0


def test_unknown_patients_and_work_items_are_404(client: TestClient) -> None:
    for method, path, body in (("post", "/patients/nobody/coverages", ACME), ("post", "/patients/nobody/eligibility",
                                                                               None),
                               ("get", "/patients/nobody/account", None), ("get", "/patients/nobody/eligibility", None),
                               ("post", "/duplicates/nothing/resolve", {"resolution": "duplicate"})):
        assert_outcome(client.request(method, f"{API}{path}", json=body), 404, "is not known")
    assert_outcome(client.get(f"{API}/patients/bad id!/account"), 400, "patient_id")


def test_coverage_ending_before_it_starts_is_400_and_writes_nothing(client: TestClient) -> None:
    patient_id = register(client)["patient_id"]
    outcome = assert_outcome(client.post(f"{API}/patients/{patient_id}/coverages",
                                         json={**ACME, "start": "2024-06-01", "end": "2024-05-31"}),
                             400, "the coverage ends before it starts")
    assert outcome["issue"][0]["expression"] == ["Coverage.period"]
    assert count(client, "Coverage") == 0 and count(client, "Organization") == 0
    assert_outcome(client.post(f"{API}/patients/{patient_id}/coverages", json={**ACME, "relationship": "child"}),
                   400, "a subscriber is required")


def test_coverage_eligibility_and_the_account(client: TestClient) -> None:
    patient_id = register(client)["patient_id"]
    added = client.post(f"{API}/patients/{patient_id}/coverages", json=ACME)
    assert added.status_code == 201 and added.json()["created"] is True
    coverage = client.get(f"/fhir/Coverage/{added.json()['coverage_id']}").json()
    assert coverage["subscriberId"] == "ACM100200301"
    assert client.post(f"{API}/patients/{patient_id}/coverages", json=ACME).status_code == 200

    assert client.get(f"{API}/patients/{patient_id}/eligibility").json() == {"last_check": None,
                                                                             "needs_reverification": True}
    checked = client.post(f"{API}/patients/{patient_id}/eligibility", json={})
    assert checked.status_code == 200, checked.text
    answer = checked.json()
    assert answer["status"] == "active" and answer["copays"]["gpvisit"] == "25.00"
    assert answer["deductible_remaining"] == "1180.00" and answer["needs_reverification"] is False
    last = client.get(f"{API}/patients/{patient_id}/eligibility").json()
    assert last["last_check"]["request_id"] == answer["request_id"] and last["needs_reverification"] is False
    response = client.get(f"/fhir/CoverageEligibilityResponse/{answer['response_id']}").json()
    assert response["request"]["reference"] == f"CoverageEligibilityRequest/{answer['request_id']}"

    assert client.get(f"{API}/patients/{patient_id}/account").json()["balance"] == "0.00"
    charged = client.post(f"{API}/patients/{patient_id}/account/postings", json={"kind": "charge", "amount": "80.00"})
    paid = client.post(f"{API}/patients/{patient_id}/account/postings", json={"kind": "payment", "amount": 25})
    assert (charged.json()["balance"], paid.json()["balance"]) == ("80.00", "55.00")
    assert paid.json()["coverages"] == [f"Coverage/{added.json()['coverage_id']}"]
    assert_outcome(client.post(f"{API}/patients/{patient_id}/account/postings",
                               json={"kind": "refund", "amount": "1"}), 400, "kind")


def test_an_unreachable_payer_answers_202_and_the_retry_completes_it(client: TestClient) -> None:
    patient_id = register(client)["patient_id"]
    client.post(f"{API}/patients/{patient_id}/coverages", json=ACME)
    gateway = PayerSimulator.from_file()
    gateway.set_available("acme-health", False)
    client.app.state.payer_gateway = gateway  # type: ignore[attr-defined]
    pending = client.post(f"{API}/patients/{patient_id}/eligibility")
    assert pending.status_code == 202 and pending.json()["status"] == "pending"
    gateway.set_available("acme-health", True)
    retried = client.post(f"{API}/eligibility/retry").json()
    assert retried == {"answered": [pending.json()["request_id"]], "still_pending": [], "gave_up": []}
    assert client.get(f"{API}/patients/{patient_id}/eligibility").json()["last_check"]["status"] == "active"


def test_possible_duplicates_are_listed_and_resolved(client: TestClient) -> None:
    first = register(client)
    second = register(client, given="Marie", phone=None, address=None)
    assert second["outcome"] == "possible-duplicate" and second["matches"][0]["grade"] == "probable"
    [item] = client.get(f"{API}/duplicates").json()["work_items"]
    assert (item["patient_id"], item["candidate_id"]) == (second["patient_id"], first["patient_id"])
    assert item["task_id"] == second["work_items"][0]
    task = client.get(f"/fhir/Task/{item['task_id']}").json()
    assert task["focus"]["reference"] == f"Patient/{second['patient_id']}"
    resolved = client.post(f"{API}/duplicates/{item['task_id']}/resolve", json={"resolution": "duplicate"})
    assert resolved.status_code == 200 and resolved.json()["resolution"] == "duplicate"
    assert client.get(f"/fhir/Patient/{second['patient_id']}").json()["active"] is False
    assert client.get(f"{API}/duplicates").json()["work_items"] == []
    assert len(client.get(f"{API}/duplicates", params={"status": "all"}).json()["work_items"]) == 1
    assert_outcome(client.post(f"{API}/duplicates/{item['task_id']}/resolve", json={"resolution": "duplicate"}),
                   409, "already resolved")
    assert_outcome(client.post(f"{API}/duplicates/{item['task_id']}/resolve", json={"resolution": "maybe"}),
                   400, "resolution")


def parameters(patient: dict, **extra: object) -> dict:
    params: list[dict] = [{"name": "resource", "resource": {"resourceType": "Patient", **patient}}]
    params += [{"name": name, **value} for name, value in extra.items()]  # type: ignore[dict-item]
    return {"resourceType": "Parameters", "parameter": params}


def test_patient_match_operation(client: TestClient) -> None:
    maria = register(client)["patient_id"]
    marie = register(client, given="Marie", phone=None, address=None)["patient_id"]
    register(client, family="Okafor", given="Grace", birth_date="1950-03-02", phone=None, address=None)
    wanted = {"name": [{"family": "Rivera", "given": ["Maria"]}], "birthDate": "1985-07-14", "gender": "female",
              "telecom": [{"system": "phone", "value": "5552014567"}]}
    bundle = client.post("/fhir/Patient/$match", json=parameters(wanted), headers=FHIR)
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("application/fhir+json")
    entries = bundle.json()["entry"]
    assert bundle.json()["type"] == "searchset" and [e["resource"]["id"] for e in entries] == [maria, marie]
    grades = [e["search"]["extension"][0]["valueCode"] for e in entries]
    assert grades == ["certain", "probable"] and entries[0]["search"]["score"] == 1.0
    assert all(e["search"]["mode"] == "match" and 0 < e["search"]["score"] <= 1 for e in entries)
    assert entries[0]["fullUrl"].endswith(f"/fhir/Patient/{maria}")

    only = client.post("/fhir/Patient/$match", json=parameters(wanted, onlyCertainMatches={"valueBoolean": True}),
                       headers=FHIR).json()
    assert [e["resource"]["id"] for e in only["entry"]] == [maria]
    capped = client.post("/fhir/Patient/$match", json=parameters(wanted, count={"valueInteger": 1}),
                         headers=FHIR).json()
    assert capped["total"] == 1
    nobody = client.post("/fhir/Patient/$match", json=parameters({"name": [{"family": "Zzyzx", "given": ["Q"]}]}),
                         headers=FHIR).json()
    assert nobody["total"] == 0 and "entry" not in nobody  # FHIR JSON has no empty arrays

    assert_outcome(client.post("/fhir/Patient/$match", json={"resourceType": "Parameters"}, headers=FHIR),
                   400, "needs a Patient")
    assert_outcome(client.post("/fhir/Patient/$match", json=wanted, headers=FHIR), 400, "takes a Parameters")
    assert_outcome(client.post("/fhir/Patient/$match", json=parameters({"birthDate": "yesterday"}), headers=FHIR),
                   422, "birthDate")
    assert_outcome(client.post("/fhir/Patient/$match", content=b"{}", headers={"Content-Type": "text/plain"}),
                   415, "Content-Type")


def test_openapi_documents_the_registration_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {f"{API}/patients", f"{API}/patients/{{patient_id}}/coverages", f"{API}/duplicates",
            "/fhir/Patient/$match"} <= set(paths)
    schema = paths[f"{API}/patients"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/PatientForm")
