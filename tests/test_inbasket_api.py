"""In Basket's HTTP API (``/api/inbasket``) in-process, on SQLite and PostgreSQL: pools, inboxes,
read/done, messages and replies, delegation, and the patient portal's limits (her own inbox only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from osler.apps import inbasket
from osler.apps.clinic import Clinic
from osler.apps.inbasket.vocabulary import item_state
from osler.chronicle.store import Chronicle
from osler.config import load_settings
from osler.interfaces.fhir_api import create_app
from tests.test_lab_api import assert_outcome

API = "/api/inbasket"
STAFF = {"X-Osler-User": "nurse@clinic"}


class Env:
    def __init__(self, client: TestClient, chronicle: Chronicle) -> None:
        self.client = client
        self.chronicle = chronicle
        self.lopez, self.nurse, self.outsider = (self.create("Practitioner") for _ in range(3))
        self.patient = self.create("Patient", generalPractitioner=[{"reference": self.lopez}])
        self.other_patient = self.create("Patient")
        answer = client.post(f"{API}/pools", headers=STAFF, json={
            "code": "lopez-team", "name": "Dr. Lopez's care team", "members": [self.lopez, self.nurse],
            "lead": self.lopez})
        assert answer.status_code == 200, answer.text
        self.team = f"Group/{answer.json()['id']}"

    def create(self, res_type: str, **fields: object) -> str:
        return f"{res_type}/{self.chronicle.create({'resourceType': res_type, **fields}).stored.res_id}"

    def as_patient(self, who: str | None = None) -> dict[str, str]:
        return {"X-Osler-Acting-Patient": (who or self.patient).split("/")[1]}

    def inbox(self, owner: str, headers: dict[str, str] | None = None, **params: str):  # type: ignore[no-untyped-def]
        return self.client.get(f"{API}/{owner}", params=params, headers=headers or STAFF)


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Iterator[Env]:
    chronicle = Chronicle.open(db_url)
    settings = load_settings(home=tmp_path, database_url=db_url)
    with TestClient(create_app(settings, chronicle), raise_server_exceptions=False) as client:
        yield Env(client, chronicle)
    chronicle.close()


def test_pools_over_http(env: Env) -> None:
    pools = env.client.get(f"{API}/pools", headers=STAFF).json()
    assert pools == [{"code": "lopez-team", "id": env.team.split("/")[1], "name": "Dr. Lopez's care team",
                      "active": True, "lead": env.lopez, "members": [env.lopez, env.nurse]}]
    group = env.client.get(f"{API}/pools/lopez-team", headers=STAFF)
    assert group.status_code == 200 and group.json()["resourceType"] == "Group"
    assert_outcome(env.client.get(f"{API}/pools/nope", headers=STAFF), 404, "no in-basket pool 'nope'")
    assert_outcome(env.client.post(f"{API}/pools", headers=STAFF, json={
        "code": "ghosts", "name": "Ghosts", "members": ["Practitioner/ghost"]}), 422, "Practitioner/ghost")
    assert_outcome(env.client.get(f"{API}/pools", headers=env.as_patient()), 403, "staff function")


def test_a_patient_message_reaches_the_pool_and_is_answered(env: Env) -> None:
    sent = env.client.post(f"{API}/messages", headers=env.as_patient(), json={
        "sender": env.patient, "recipient": "care-team", "subject": "Migraine", "text": "It is back."})
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert message["recipient"] == [{"reference": env.team}]
    box = env.inbox(env.nurse).json()
    assert box["counts"] == {"unread": 1, "read": 0, "done": 0} and box["items"][0]["pool"]
    assert box["items"][0]["id"] == message["id"] and box["items"][0]["sender"] == env.patient
    read = env.client.post(f"{API}/items/Communication/{message['id']}/read", json={"by": env.nurse}, headers=STAFF)
    assert read.status_code == 200 and item_state(read.json()) == "read"
    answer = env.client.post(f"{API}/messages/{message['id']}/reply", headers=STAFF,
                             json={"sender": env.lopez, "text": "Take your rescue medication; call if no better."})
    assert answer.status_code == 201 and answer.json()["recipient"] == [{"reference": env.patient}]
    assert env.inbox(env.lopez, state="done").json()["items"][0]["id"] == message["id"]
    portal = env.inbox(env.patient, headers=env.as_patient())
    assert portal.status_code == 200 and [i["id"] for i in portal.json()["items"]] == [answer.json()["id"]]
    done = env.client.post(f"{API}/items/Communication/{answer.json()['id']}/done", headers=env.as_patient())
    assert done.status_code == 200
    assert env.inbox(env.patient, headers=env.as_patient(), state="done").json()["counts"]["done"] == 1


def test_a_patient_sees_and_acts_on_her_own_inbox_only(env: Env) -> None:
    task = env.chronicle.create(inbasket.compose_task(
        inbasket_clinic(env), category="refill-request", owner=env.lopez, description="Refill?",
        patient=env.patient)).stored
    before = env.chronicle.last_sequence()
    mine = env.as_patient()
    assert_outcome(env.inbox(env.other_patient, headers=mine), 403, "her own inbox")
    assert_outcome(env.inbox(env.lopez, headers=mine), 403, "her own inbox")
    assert_outcome(env.client.post(f"{API}/items/Task/{task.res_id}/done", headers=mine), 403, "not a recipient")
    assert_outcome(env.client.post(f"{API}/items/Task/{task.res_id}/done", json={"by": env.lopez}, headers=mine),
                   403, "only act as herself")
    assert_outcome(env.client.post(f"{API}/messages", headers=mine, json={
        "sender": env.other_patient, "recipient": "care-team", "subject": "Hi", "text": "Hi"}), 403, "herself")
    assert_outcome(env.client.post(f"{API}/delegations", headers=mine, json={
        "practitioner": env.lopez, "covering": env.nurse}), 403, "staff function")
    assert env.chronicle.last_sequence() == before


def test_staff_inbox_filters_and_refusals(env: Env) -> None:
    task = env.chronicle.create(inbasket.compose_task(
        inbasket_clinic(env), category="refill-request", owner=env.lopez, description="Refill?",
        patient=env.patient)).stored
    assert [i["id"] for i in env.inbox(env.lopez, category="refill-request").json()["items"]] == [task.res_id]
    assert env.inbox(env.lopez, category="result").json()["items"] == []
    assert_outcome(env.inbox(env.lopez, state="archived"), 400, "malformed request")
    assert_outcome(env.inbox(env.lopez, category="gossip"), 400, "category 'gossip'")
    assert_outcome(env.inbox("Practitioner/ghost"), 404, "Practitioner/ghost")
    before = env.chronicle.last_sequence()
    assert_outcome(env.client.post(f"{API}/items/Task/{task.res_id}/done", json={"by": env.outsider},
                                   headers=STAFF), 403, "not a recipient")
    assert_outcome(env.client.post(f"{API}/items/Task/ghost/done", headers=STAFF), 404, "Task/ghost")
    assert_outcome(env.client.post(f"{API}/messages", headers=STAFF, json={
        "sender": env.nurse, "recipient": "Practitioner/ghost", "subject": "Hi", "text": "Hi"}), 422, "ghost")
    assert env.chronicle.last_sequence() == before
    done = env.client.post(f"{API}/items/Task/{task.res_id}/done", json={"by": env.lopez}, headers=STAFF)
    assert done.status_code == 200 and done.json()["status"] == "completed"


def test_delegation_over_http(env: Env) -> None:
    set_ = env.client.post(f"{API}/delegations", headers=STAFF,
                           json={"practitioner": env.lopez, "covering": env.outsider})
    assert set_.status_code == 200, set_.text
    sent = env.client.post(f"{API}/messages", headers=STAFF, json={
        "sender": env.nurse, "recipient": env.lopez, "subject": "Covering?", "text": "Who sees her patients?"})
    assert sent.json()["recipient"] == [{"reference": env.outsider}]
    [item] = env.inbox(env.outsider).json()["items"]
    assert item["delegated_from"] == env.lopez
    lopez_type, lopez_id = env.lopez.split("/")
    assert env.client.delete(f"{API}/delegations/{lopez_type}/{lopez_id}", headers=STAFF).status_code == 204
    assert_outcome(env.client.delete(f"{API}/delegations/{lopez_type}/{lopez_id}", headers=STAFF), 404,
                   "no delegation")


def inbasket_clinic(env: Env) -> Clinic:
    return Clinic(env.chronicle)
