"""Cadence's HTTP API (``/api/scheduling``) in-process, on SQLite and PostgreSQL: the whole flow, the
patient portal's limits, and every kind of bad input answered with an OperationOutcome and nothing
written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from osler.chronicle.store import Chronicle
from osler.config import load_settings
from osler.interfaces.fhir_api import create_app
from tests.outcomes import assert_outcome
from tests.test_scheduling_helpers import setup_request

API = "/api/scheduling"
STAFF = {"X-Osler-User": "scheduler@clinic"}
ZONE = ZoneInfo("America/New_York")


class Env:
    def __init__(self, client: TestClient, chronicle: Chronicle) -> None:
        self.client = client
        self.chronicle = chronicle
        # Every day of the week and real dates: the API runs on the real clock.
        hours = [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "08:00", "end": "12:00"}]
        body = setup_request(hours=hours).model_dump(mode="json")
        for provider in body["providers"]:
            provider["hours"] = hours
        created = client.post(f"{API}/departments", json=body, headers=STAFF)
        assert created.status_code == 200, created.text
        self.dept = created.json()
        self.today = datetime.now(ZONE).date()
        self.day = self.today + timedelta(days=2)
        generated = client.post(f"{API}/departments/{self.dept['department']}/slots",
                                json={"start": str(self.today - timedelta(days=1)), "end": str(self.day)})
        assert generated.status_code == 200 and generated.json()["created"] > 0, generated.text
        self.patients = [chronicle.create({"resourceType": "Patient"}).stored.res_id for _ in range(2)]

    def local(self, hour: int) -> str:
        return datetime.combine(self.day, time(hour), ZONE).isoformat()

    def role(self, code: str) -> str:
        return next(p["PractitionerRole"] for p in self.dept["providers"] if p["code"] == code)

    def options(self, visit: str = "NEW30", day: date | None = None, **params: object) -> list[dict]:
        day = day or self.day
        answer = self.client.get(f"{API}/availability", params={
            "department": self.dept["department"], "visit_type": visit, "start": str(day), "end": str(day),
            **params})
        assert answer.status_code == 200, answer.text
        return answer.json()["options"]


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Iterator[Env]:
    chronicle = Chronicle.open(db_url)
    settings = load_settings(home=tmp_path, database_url=db_url)
    with TestClient(create_app(settings, chronicle), raise_server_exceptions=False) as client:
        yield Env(client, chronicle)
    chronicle.close()



def test_the_whole_flow_over_http(env: Env) -> None:
    client = env.client
    assert client.get(f"{API}/departments/{env.dept['department']}").json() == env.dept
    first = env.options(limit=2)[0]
    assert first["start_local"].startswith(f"{env.day}T08:00") and first["end"] > first["start"]
    booked = client.post(f"{API}/appointments", headers=STAFF,
                         json={"patient": env.patients[0], "visit_type": "NEW30", "slot": first["slot"]})
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    assert booked.headers["Location"].endswith(f"/fhir/Appointment/{appointment['id']}/_history/1")
    assert client.get(f"/fhir/Appointment/{appointment['id']}").json()["status"] == "booked"
    assert client.get(f"/fhir/Slot/{first['slot']}").json()["status"] == "busy"
    assert_outcome(client.post(f"{API}/appointments", json={"patient": env.patients[1], "visit_type": "NEW30",
                                                              "slot": first["slot"]}), 409, "already taken")

    later = next(o for o in env.options(provider=first["provider_role"], limit=20)
             if o["start_local"].startswith(f"{env.day}T10:00"))
    moved = client.post(f"{API}/appointments/{appointment['id']}/reschedule", json={"slot": later["slot"]})
    assert moved.status_code == 200 and moved.json()["start"] == later["start"]
    assert client.get(f"/fhir/Slot/{first['slot']}").json()["status"] == "free"
    days = client.get(f"{API}/appointments", params={"patient": env.patients[0], "day": str(env.day)}).json()
    assert [(a["id"], a["start"], a["visit_type"]) for a in days] == [(appointment["id"], later["start"], "NEW30")]
    assert_outcome(client.post(f"{API}/appointments/{appointment['id']}/no-show"), 409, "day of the visit")
    cancelled = client.post(f"{API}/appointments/{appointment['id']}/cancel", json={"reason": "better"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.get(f"/fhir/Slot/{later['slot']}").json()["status"] == "free"

    waiting = client.post(f"{API}/waitlist", json={"patient": env.patients[1], "department": env.dept["department"],
                                                   "visit_type": "FU15", "earliest": str(env.today),
                                                   "latest": str(env.day)})
    assert waiting.status_code == 201 and waiting.json()["status"] == "waitlist"
    off = client.post(f"{API}/waitlist/{waiting.json()['id']}/cancel")
    assert off.status_code == 200 and off.json()["status"] == "cancelled"

    blocked = client.post(f"{API}/providers/{env.role('P1')}/time-off", json={
        "start": env.local(8), "end": env.local(9), "reason": "meeting"})
    assert blocked.status_code == 200, blocked.text
    assert all(o["provider_role"] != env.role("P1") for o in env.options("FU15", limit=30)
               if o["start_local"] < f"{env.day}T09:00")
    visit_types = client.get(f"{API}/visit-types").json()
    assert [t["code"] for t in visit_types] == ["ECG30", "FU15", "NEW30", "TELE15"]
    redefined = client.post(f"{API}/visit-types", json=[{"code": "FU15", "name": "Follow-up", "minutes": 20,
                                                         "patient_bookable": True}])
    assert redefined.status_code == 200 and redefined.json()[0]["minutes"] == 20
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/departments", "/departments/{department_id}/slots", "/availability", "/appointments",
                 "/appointments/{appointment_id}/cancel", "/appointments/{appointment_id}/reschedule",
                 "/appointments/{appointment_id}/no-show", "/waitlist", "/offers/{task_id}/accept"):
        assert API + path in paths


def test_the_patient_portal_books_only_for_its_patient_and_only_open_visit_types(env: Env) -> None:
    client = env.client
    me = {"X-Osler-Acting-Patient": env.patients[0]}
    assert [t["code"] for t in client.get(f"{API}/visit-types", headers=me).json()] == ["FU15", "TELE15"]
    slot = env.options("FU15")[0]["slot"]
    assert_outcome(client.get(f"{API}/availability", headers=me, params={
        "department": env.dept["department"], "visit_type": "NEW30", "start": str(env.day), "end": str(env.day)}),
        403, "cannot be booked by patients")
    assert_outcome(client.post(f"{API}/appointments", headers=me, json={
        "patient": env.patients[1], "visit_type": "FU15", "slot": slot}), 403, "own record")
    assert_outcome(client.post(f"{API}/appointments", headers=me, json={
        "patient": env.patients[0], "visit_type": "NEW30", "slot": slot}), 403, "cannot be booked by patients")
    mine = client.post(f"{API}/appointments", headers=me, json={"patient": env.patients[0], "visit_type": "FU15",
                                                                "slot": slot})
    assert mine.status_code == 201, mine.text
    other = {"X-Osler-Acting-Patient": env.patients[1]}
    assert_outcome(client.post(f"{API}/appointments/{mine.json()['id']}/cancel", headers=other), 403, "own")
    assert_outcome(client.get(f"{API}/appointments", headers=other, params={"patient": env.patients[0]}), 403, "own")
    assert_outcome(client.post(f"{API}/departments/{env.dept['department']}/slots", headers=me,
                               json={"start": str(env.day), "end": str(env.day)}), 403, "staff")
    assert_outcome(client.post(f"{API}/appointments/{mine.json()['id']}/no-show", headers=me), 403, "staff")
    cancelled = client.post(f"{API}/appointments/{mine.json()['id']}/cancel", headers=me)
    assert cancelled.status_code == 200
    assert cancelled.json()["cancelationReason"]["coding"][0]["code"] == "pat"


def test_bad_input_is_refused_with_an_outcome_and_nothing_is_written(env: Env) -> None:
    client = env.client
    dept = env.dept["department"]
    slot = env.options("FU15")[0]["slot"]
    taken = env.options("FU15")[1]["slot"]
    assert client.post(f"{API}/appointments", json={"patient": env.patients[0], "visit_type": "FU15",
                                                    "slot": taken}).status_code == 201
    yesterday = env.today - timedelta(days=1)
    past = env.options("FU15", day=yesterday)  # nothing is offered in the past…
    assert past == []
    past_slot = env.chronicle.search("Slot", [("_tag", f"urn:osler:cadence:provider-hour|CARD/{yesterday}T09")]
                                     ).matches[0].res_id  # …and booking a past slot directly is refused
    before = len(env.chronicle.changes_since(0, 1_000_000))

    def book(**changes: object):  # type: ignore[no-untyped-def]
        return client.post(f"{API}/appointments", json={"patient": env.patients[1], "visit_type": "FU15",
                                                        "slot": slot, **changes})

    def availability(**changes: object):  # type: ignore[no-untyped-def]
        return client.get(f"{API}/availability", params={"department": dept, "visit_type": "FU15",
                                                         "start": str(env.day), "end": str(env.day), **changes})

    assert_outcome(book(slot=past_slot), 422, "in the past")
    assert_outcome(book(slot=taken), 409, "already taken")
    assert_outcome(book(patient="ghost"), 422, "Patient/ghost is not known")
    assert_outcome(book(visit_type="GHOST"), 422, "visit type 'GHOST' is not known")
    assert_outcome(book(slot="ghost"), 422, "Slot/ghost is not known")
    assert_outcome(book(slot="Slot/x"), 400, "malformed request")
    assert_outcome(book(when="now"), 400, "malformed request")
    assert_outcome(client.post(f"{API}/appointments", content=b"{not json", headers={
        "Content-Type": "application/json"}), 400, "malformed request")
    assert_outcome(availability(provider="ghost"), 422, "PractitionerRole/ghost is not a provider")
    assert_outcome(availability(department="ghost"), 422, "department Organization/ghost is not known")
    assert_outcome(availability(visit_type="GHOST"), 422, "not known")
    assert_outcome(availability(start=str(env.day + timedelta(days=1))), 400, "before start")
    assert_outcome(availability(start="2030-02-30"), 400, "malformed request")
    assert_outcome(availability(end="tomorrow"), 400, "malformed request")
    assert_outcome(client.post(f"{API}/waitlist", json={
        "patient": env.patients[1], "department": dept, "visit_type": "FU15", "earliest": str(env.day),
        "latest": str(env.today)}), 400, "before earliest")
    assert_outcome(client.post(f"{API}/waitlist", json={
        "patient": env.patients[1], "department": dept, "visit_type": "FU15", "earliest": str(env.today),
        "latest": str(env.day), "provider": "ghost"}), 422, "provider PractitionerRole/ghost is not known")
    assert_outcome(client.post(f"{API}/providers/{env.role('P1')}/time-off", json={
        "start": f"{env.day}T10:00:00Z", "end": f"{env.day}T09:00:00Z"}), 400, "not after start")
    assert_outcome(client.post(f"{API}/providers/{env.role('P1')}/time-off", json={
        "start": f"{env.day}T09:00:00", "end": f"{env.day}T10:00:00"}), 400, "timezone")
    assert_outcome(client.post(f"{API}/providers/ghost/time-off", json={
        "start": f"{env.day}T09:00:00Z", "end": f"{env.day}T10:00:00Z"}), 422, "not known")
    assert_outcome(client.post(f"{API}/departments/{dept}/slots", json={"start": str(env.day),
                                                                        "end": str(env.today)}), 400, "before start")
    assert_outcome(client.post(f"{API}/departments/ghost/slots", json={"start": str(env.day),
                                                                       "end": str(env.day)}), 422, "not known")
    assert_outcome(client.post(f"{API}/appointments/ghost/cancel"), 404, "Appointment/ghost")
    assert_outcome(client.post(f"{API}/appointments/ghost/reschedule", json={"slot": slot}), 404, "Appointment/ghost")
    assert_outcome(client.post(f"{API}/offers/ghost/accept"), 404, "Task/ghost")
    bad_setup = setup_request().model_dump(mode="json") | {"slot_minutes": 7}
    assert_outcome(client.post(f"{API}/departments", json=bad_setup), 400, "malformed request")
    assert len(env.chronicle.changes_since(0, 1_000_000)) == before  # not one write among all of them
