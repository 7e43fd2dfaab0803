"""Double booking is impossible: 50 concurrent bookings of one slot through the HTTP API of a real
``osler serve --workers 2``, on SQLite and on PostgreSQL — exactly one wins, the others get 409."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.live_server import running_server
from tests.test_scheduling_helpers import setup_request

CLIENTS = 50


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The base URL of a fresh two-worker server on an empty database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'osler.db'}"
        with running_server(tmp_path, workers=2, extra_env={"OSLER_DATABASE_URL": url}) as base:
            yield base.removesuffix("/fhir")
        return
    cluster = request.getfixturevalue("postgres_cluster")
    name = f"osler_cadence_race_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    url = cluster.create_database(name)
    try:
        with running_server(tmp_path, workers=2, extra_env={"OSLER_DATABASE_URL": url}) as base:
            yield base.removesuffix("/fhir")
    finally:
        cluster.drop_database(name)


def race(client: httpx.Client, bodies: list[dict]) -> list[httpx.Response]:
    """POST every booking at once: the threads wait at a barrier, then all fire together."""
    barrier = threading.Barrier(len(bodies))

    def post(body: dict) -> httpx.Response:
        barrier.wait()
        return client.post("/api/scheduling/appointments", json=body)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


def test_fifty_concurrent_bookings_of_one_slot_exactly_one_wins(server: str) -> None:
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    with httpx.Client(base_url=server, timeout=60, limits=limits, headers={"X-Osler-User": "race"}) as client:
        everyday = [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "08:00", "end": "12:00"}]
        body = setup_request(hours=everyday).model_dump(mode="json")
        for provider in body["providers"]:
            provider["hours"] = everyday
        dept = client.post("/api/scheduling/departments", json=body).json()
        day = datetime.now(ZoneInfo("America/New_York")).date() + timedelta(days=2)
        made = client.post(f"/api/scheduling/departments/{dept['department']}/slots",
                           json={"start": str(day), "end": str(day)})
        assert made.status_code == 200, made.text
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"request": {"method": "POST", "url": "Patient"}, "resource": {"resourceType": "Patient"}}
            for _ in range(CLIENTS)]}
        stored = client.post("/fhir", json=bundle, headers={"Content-Type": "application/fhir+json"}).json()
        patients = [entry["response"]["location"].split("/")[1] for entry in stored["entry"]]
        options = client.get("/api/scheduling/availability", params={
            "department": dept["department"], "visit_type": "NEW30", "start": str(day), "end": str(day),
            "provider": next(p["PractitionerRole"] for p in dept["providers"] if p["code"] == "P1")}).json()["options"]

        # Round 1: everyone wants the very same 30-minute visit.
        answers = race(client, [{"patient": p, "visit_type": "NEW30", "slot": options[0]["slot"]} for p in patients])
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] + [409] * (CLIENTS - 1), [a.text for a in answers if a.status_code not in (201, 409)]
        assert all("already taken" in a.json()["issue"][0]["diagnostics"] for a in answers if a.status_code == 409)
        winner = next(a.json() for a in answers if a.status_code == 201)
        assert client.get(f"/fhir/Slot/{options[0]['slot']}").json()["status"] == "busy"
        holders = client.get("/fhir/Appointment", params={"slot": f"Slot/{options[0]['slot']}"}).json()
        assert holders["total"] == 1 and holders["entry"][0]["resource"]["id"] == winner["id"]

        # Round 2: overlapping visits (10:00 and 10:15, 30 minutes each) share the 10:15 quarter: one wins.
        at = {o["start_local"][11:16]: o["slot"] for o in options}
        bodies = [{"patient": p, "visit_type": "NEW30", "slot": at["10:00" if n % 2 else "10:15"]}
                  for n, p in enumerate(patients)]
        statuses = sorted(a.status_code for a in race(client, bodies))
        assert statuses == [201] + [409] * (CLIENTS - 1)
        total = client.get("/fhir/Appointment", params={"_summary": "count"}).json()["total"]
        assert total == 2  # the two winners, nothing half-written by the 98 losers
