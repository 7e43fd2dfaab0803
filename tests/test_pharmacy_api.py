"""Willow's HTTP API (``/api/pharmacy``) in-process, on SQLite and PostgreSQL: a fill from the queue to
the patient, a verification refused and then overridden, refill requests answered by the prescriber,
and bad input answered with an OperationOutcome and nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from osler.chronicle.store import Chronicle
from osler.config import load_settings
from osler.interfaces.fhir_api import create_app
from tests.test_pharmacy import AMOXICILLIN, IBUPROFEN, TABLETS, UCUM, Pharmacy

API = "/api/pharmacy"
STAFF = {"X-Osler-User": "pharmacist@clinic"}


class Env:
    def __init__(self, client: TestClient, rx: Pharmacy) -> None:
        self.client = client
        self.rx = rx

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(f"{API}{path}", json=body, headers=STAFF)

    def states(self, **params: Any) -> list[tuple[str, str]]:
        answer = self.client.get(f"{API}/{self.rx.pharmacy}/queue", params=params, headers=STAFF)
        assert answer.status_code == 200, answer.text
        return [(item["medication_request"], item["state"]) for item in answer.json()["items"]]

    def dispense(self, order: str, **changes: Any) -> Any:
        body = {"pharmacist": self.rx.pharmacist, "quantity": 9, "days_supply": 30, "lot": "SUM2291A",
                "expiry": "2099-06-30", **changes}
        return self.post(f"/prescriptions/{order}/dispense", body)

    def refused(self, response_of: Any, status: int, text: str) -> dict[str, Any]:
        before = self.rx.chronicle.last_sequence()
        response = response_of()
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/fhir+json")
        body = response.json()
        assert body["resourceType"] == "OperationOutcome", body
        assert any(text in issue["diagnostics"] for issue in body["issue"]), body
        assert self.rx.chronicle.last_sequence() == before, "a refused request wrote something"
        return body


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Iterator[Env]:
    chronicle = Chronicle.open(db_url)
    settings = load_settings(home=tmp_path, database_url=db_url, background_reactions=0)
    with TestClient(create_app(settings, chronicle), raise_server_exceptions=False) as client:
        yield Env(client, Pharmacy.create(chronicle))
    chronicle.close()


def test_a_fill_over_http(env: Env) -> None:
    rx, order = env.rx, env.rx.prescribe()
    assert env.states() == [(order, "to-verify")]

    verified = env.post(f"/prescriptions/{order}/verify", {"pharmacist": rx.pharmacist})
    assert verified.status_code == 200, verified.text
    assert verified.json()["state"] == "verified" and verified.json()["issues"] == []

    dispensed = env.dispense(order)
    assert dispensed.status_code == 201, dispensed.text
    assert dispensed.headers["location"].split("/fhir/")[1].startswith("MedicationDispense/")
    dispense = dispensed.json()
    assert dispense["resourceType"] == "MedicationDispense" and dispense["status"] == "in-progress"
    assert dispense["contained"][0]["batch"]["lotNumber"] == "SUM2291A"
    assert env.states() == [(order, "dispensed")]

    ready = env.post(f"/prescriptions/{order}/ready", {"pharmacist": rx.pharmacist})
    assert ready.status_code == 200, ready.text
    message = env.client.get(f"/fhir/Communication/{ready.json()['message']}").json()
    assert message["recipient"] == [{"reference": f"Patient/{rx.patient}"}]
    assert message["category"][0]["coding"][0]["code"] == "rx-ready"

    picked = env.post(f"/prescriptions/{order}/picked-up", {"pharmacist": rx.pharmacist})
    assert picked.status_code == 200, picked.text
    assert picked.json()["status"] == "completed" and "whenHandedOver" in picked.json()
    assert env.states() == [] and env.states(include_completed="true") == [(order, "picked-up")]


def test_a_refused_verification_names_each_issue_and_an_override_records_them(env: Env) -> None:
    rx = env.rx
    rx.allergy(code="7980")  # penicillin G, as charting codes a penicillin allergy
    order = rx.prescribe(AMOXICILLIN, sig={"doseAndRate": [{"doseQuantity": {"value": 4000, "unit": "mg",
                                                                               "system": UCUM, "code": "mg"}}]})
    outcome = env.refused(lambda: env.post(f"/prescriptions/{order}/verify", {"pharmacist": rx.pharmacist}),
                          409, "allergy-class")
    assert [issue["severity"] for issue in outcome["issue"]] == ["error", "error"]
    assert "dose-single" in outcome["issue"][1]["diagnostics"]

    overridden = env.post(f"/prescriptions/{order}/verify", {"pharmacist": rx.pharmacist,
                                                             "override_reason": "desensitized; loading dose"})
    assert overridden.status_code == 200, overridden.text
    issues = overridden.json()["issues"]
    assert [i["resourceType"] for i in issues] == ["DetectedIssue", "DetectedIssue"]
    assert all(i["severity"] == "high" and i["mitigation"] for i in issues) and overridden.json()["overridden"]


def test_bad_input_is_an_outcome_and_writes_nothing(env: Env) -> None:
    rx = env.rx
    order, cancelled = rx.prescribe(quantity=9), rx.prescribe(status="cancelled")
    verify = {"pharmacist": rx.pharmacist}
    env.refused(lambda: env.post("/prescriptions/no-such-order/verify", verify), 404, "not known")
    env.refused(lambda: env.post(f"/prescriptions/{cancelled}/verify", verify), 409, "cancelled")
    env.refused(lambda: env.dispense(order), 409, "to verify")
    env.refused(lambda: env.post(f"/prescriptions/{order}/verify", {"pharmacist": "nobody"}), 422, "pharmacist")
    env.refused(lambda: env.post(f"/prescriptions/{order}/verify", {}), 400, "pharmacist")
    env.refused(lambda: env.post(f"/prescriptions/{order}/verify", {**verify, "force": True}), 400, "force")
    assert env.post(f"/prescriptions/{order}/verify", verify).status_code == 200
    env.refused(lambda: env.dispense(order, quantity=12), 422, "more than prescribed")
    env.refused(lambda: env.dispense(order, quantity=0), 422, "more than zero")
    env.refused(lambda: env.dispense(order, quantity="many"), 400, "quantity")
    env.refused(lambda: env.dispense(order, expiry="2020-01-01"), 422, "expired")
    env.refused(lambda: env.client.get(f"{API}/no-such-pharmacy/queue"), 404, "not known")
    env.refused(lambda: env.post(f"/prescriptions/{cancelled}/refill-requests",
                                 {"requested_by": f"Patient/{rx.patient}"}), 409, "cancelled")


def test_refill_requests_over_http(env: Env) -> None:
    rx = env.rx
    first = rx.prescribe()
    second = rx.prescribe(IBUPROFEN, sig={"doseAndRate": [{"doseQuantity": {"value": 2, **TABLETS}}],
                                          "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}}})
    for order in (first, second):
        rx.fill(order)
    asks = []
    for order in (first, second):
        asked = env.post(f"/prescriptions/{order}/refill-requests", {"requested_by": f"Patient/{rx.patient}"})
        assert asked.status_code == 201, asked.text
        assert asked.json()["routed_to"] == "prescriber"
        asks.append(asked.json()["task"]["id"])

    env.refused(lambda: env.post(f"/refill-requests/{asks[0]}/approve", {"prescriber": rx.pharmacist,
                                                                           "refills": 2}), 403, "another prescriber")
    approved = env.post(f"/refill-requests/{asks[0]}/approve", {"prescriber": rx.prescriber, "refills": 2})
    assert approved.status_code == 201, approved.text
    assert approved.json()["priorPrescription"] == {"reference": f"MedicationRequest/{first}"}
    assert (approved.json()["id"], "to-verify") in env.states()

    denied = env.post(f"/refill-requests/{asks[1]}/deny", {"prescriber": rx.prescriber, "reason": "See me first."})
    assert denied.status_code == 200, denied.text
    assert denied.json()["status"] == "completed" and denied.json()["statusReason"]["text"] == "See me first."
    env.refused(lambda: env.post(f"/refill-requests/{asks[1]}/deny", {"prescriber": rx.prescriber,
                                                                        "reason": "again"}), 409, "already answered")
