"""Scheduling benchmark (Cadence): one department of 50 providers and 30 exam rooms, 90 days of templates.

Against a fresh ``osler serve --workers 2`` (embedded SQLite), all through HTTP:

(a) set-up: the department in one call, then its slots for 90 days (weekdays 08:00-12:00 and
    13:00-17:00 for providers, 08:00-17:00 for rooms, 20-minute grid: ~130,000 Slots), 2,000 patients;
(b) availability: a fixed, seeded mix of searches (one weekday or a week, 20- or 40-minute visits, a
    quarter of them for one provider), first one at a time (latency of a lone search), then with wrk
    at 16 connections (throughput, and latency when the server is saturated);
(c) bookings: 20 concurrent clients (threads in a separate process) competing for the same department
    (its 30 rooms are shared by all 50 providers) over the next ten weekdays, each behaving like a
    scheduler at a screen: search availability (a random day and visit type, up to 50 options; half
    of the time for one random provider), book a random option from the list; after a 409 (someone
    else got it first) try another option from the same list, and search again after three 409s in a
    row or when the list is used up. Searches run inside the measured loop and cost server time like
    the bookings do. bookings/s = successful bookings / wall time;
(d) double bookings: afterwards every booked Appointment and every busy Slot is read back and checked
    — no slot held twice, no provider or room in two visits at once, no busy slot without its
    appointment, no appointment holding a free slot.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bench.common import BenchOptions, Row, osler_server, run_in_child, run_threads, run_wrk, verdict

NAME = "scheduling"
TITLE = "Scheduling (Cadence): one department, 50 providers, 90 days"

PROVIDERS = 50
ROOMS = 30
DAYS = 90
SLOT_MINUTES = 20
PATIENTS = 2000
CLIENTS = 20
BOOKING_SECONDS = 20
BOOKING_WEEKDAYS = 10
SEARCHES = 400
OPTIONS_SHOWN = 50  # what a scheduler's screen lists
REFRESH_AFTER_CONFLICTS = 3
ZONE = ZoneInfo("America/New_York")  # the server's default clinic_timezone
API = "/api/scheduling"

TARGET_BOOKINGS_PER_S = 200.0
TARGET_P99_MS = 100.0


def run(options: BenchOptions) -> dict[str, Any]:
    with osler_server(workers=options.server_workers) as server:
        with httpx.Client(base_url=server.base_url, timeout=600.0) as client:
            setup = set_up(client)
            paths = availability_paths(setup, random.Random(7))
            lone = measure_lone_searches(client, paths)
        loaded, loaded_text = run_wrk(server.base_url, paths, options)
        bookings = measure_bookings(server.base_url, setup, CLIENTS, BOOKING_SECONDS)
        with httpx.Client(base_url=server.base_url, timeout=600.0) as client:
            audit = audit_bookings(client)
    figures = {"setup": {k: v for k, v in setup.items() if k not in ("patients", "roles")},
               "availability_lone": lone, "availability_loaded": {**loaded.as_dict(), "wrk_output": loaded_text},
               "bookings": bookings, "audit": audit, "server_workers": options.server_workers}
    return {"name": NAME, "title": TITLE, "figures": figures, "rows": table_rows(figures, loaded)}


# ---------------------------------------------------------------------------------------------- set-up


def weekdays_from(first: date, count: int) -> list[date]:
    days: list[date] = []
    day = first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def set_up(client: httpx.Client) -> dict[str, Any]:
    weekdays = ["mon", "tue", "wed", "thu", "fri"]
    template = [{"days": weekdays, "start": "08:00", "end": "12:00"},
                {"days": weekdays, "start": "13:00", "end": "17:00"}]
    department = {
        "code": "BENCH", "name": "Bench Family Medicine", "slot_minutes": SLOT_MINUTES,
        "hours": [{"days": weekdays, "start": "08:00", "end": "17:00"}],
        "providers": [{"code": f"P{n:03d}", "family": f"Provider{n:03d}", "hours": template} for n in range(PROVIDERS)],
        "rooms": [{"code": f"R{n:02d}", "name": f"Exam {n:02d}"} for n in range(ROOMS)],
        "visit_types": [{"code": "FU20", "name": "Follow-up", "minutes": 20, "patient_bookable": True},
                        {"code": "NEW40", "name": "New patient", "minutes": 40}]}
    started = time.perf_counter()
    dept = _ok(client.post(f"{API}/departments", json=department)).json()
    setup_s = time.perf_counter() - started
    first = datetime.now(ZONE).date() + timedelta(days=1)
    created = 0
    started = time.perf_counter()
    for offset in range(0, DAYS, 30):  # a month per call keeps each request's transaction count modest
        horizon = {"start": str(first + timedelta(days=offset)), "end": str(first + timedelta(days=offset + 29))}
        created += _ok(client.post(f"{API}/departments/{dept['department']}/slots", json=horizon)).json()["created"]
    generate_s = time.perf_counter() - started
    patients: list[str] = []
    for _ in range(0, PATIENTS, 500):
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"request": {"method": "POST", "url": "Patient"}, "resource": {"resourceType": "Patient", "active": True}}
            for _ in range(500)]}
        answer = _ok(client.post("/fhir", json=bundle, headers={"Content-Type": "application/fhir+json"})).json()
        patients += [entry["response"]["location"].split("/")[1] for entry in answer["entry"]]
    return {"department": dept["department"], "roles": [p["PractitionerRole"] for p in dept["providers"]],
            "patients": patients, "first_day": str(first), "slots_created": created, "setup_s": setup_s,
            "generate_s": generate_s, "slots_per_s": created / generate_s if generate_s else 0.0}


def _ok(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.request.url} answered {response.status_code}: "
                           f"{response.text[:500]}")
    return response


# ------------------------------------------------------------------------------------------ availability


def availability_paths(setup: dict[str, Any], rng: random.Random) -> list[str]:
    """A seeded mix of availability searches over the whole 90 days."""
    first = date.fromisoformat(setup["first_day"])
    weekdays = weekdays_from(first, 60)
    paths = []
    for _ in range(SEARCHES):
        day = rng.choice(weekdays)
        params = {"department": setup["department"], "visit_type": rng.choice(["FU20", "NEW40"]),
                  "start": str(day), "end": str(day + timedelta(days=6 if rng.random() < 0.4 else 0)), "limit": "50"}
        if rng.random() < 0.25:
            params["provider"] = rng.choice(setup["roles"])
        paths.append(f"{API}/availability?{urllib.parse.urlencode(params)}")
    return paths


def measure_lone_searches(client: httpx.Client, paths: list[str]) -> dict[str, Any]:
    """Each search alone (one client, one at a time): its latency without queueing behind others."""
    for path in paths[:20]:  # warm-up
        client.get(path)
    timings, found, failures = [], [], []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            failures.append(f"{response.status_code}: {response.text[:200]}")
        else:
            found.append(len(response.json()["options"]))
    timings.sort()
    return {"searches": len(paths), "p50_ms": statistics.median(timings),
            "p99_ms": timings[max(0, int(len(timings) * 0.99) - 1)], "max_ms": timings[-1],
            "mean_ms": statistics.fmean(timings), "with_options": sum(1 for n in found if n),
            "mean_options": statistics.fmean(found) if found else 0.0, "failures": failures[:5],
            "failed": len(failures)}


# --------------------------------------------------------------------------------------------- bookings


def measure_bookings(base_url: str, setup: dict[str, Any], clients: int, seconds: float) -> dict[str, Any]:
    """Run the booking clients in their own process, so that their work does not count as the server's."""
    return run_in_child("booking", book_concurrently, base_url, setup, clients, seconds)


def book_concurrently(base_url: str, setup: dict[str, Any], clients: int, seconds: float) -> dict[str, Any]:
    days = weekdays_from(date.fromisoformat(setup["first_day"]), BOOKING_WEEKDAYS)
    outcomes: list[tuple[int, float]] = []
    searches: list[float] = []
    problems: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)
    deadline: list[float] = []

    def client_loop(seed: int) -> None:
        rng = random.Random(seed)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(base_url=base_url, timeout=60.0, limits=limits,
                          headers={"X-Osler-User": f"bench-client-{seed}"}) as client:
            pool: list[tuple[str, str]] = []
            lost_in_a_row = 0
            barrier.wait()
            while time.perf_counter() < deadline[0]:
                if not pool or lost_in_a_row >= REFRESH_AFTER_CONFLICTS:
                    lost_in_a_row = 0
                    day, visit = rng.choice(days), rng.choice(["FU20", "NEW40"])
                    params = {"department": setup["department"], "visit_type": visit, "start": str(day),
                              "end": str(day), "limit": OPTIONS_SHOWN}
                    if rng.random() < 0.5:  # half look for one provider, half take whoever is free
                        params["provider"] = rng.choice(setup["roles"])
                    started = time.perf_counter()
                    found = client.get(f"{API}/availability", params=params)
                    with lock:
                        searches.append(time.perf_counter() - started)
                    pool = [(visit, option["slot"]) for option in found.json().get("options", [])]
                    rng.shuffle(pool)
                    continue
                visit, slot = pool.pop()
                started = time.perf_counter()
                answer = client.post(f"{API}/appointments", json={
                    "patient": rng.choice(setup["patients"]), "visit_type": visit, "slot": slot})
                lost_in_a_row = lost_in_a_row + 1 if answer.status_code == 409 else 0
                with lock:
                    outcomes.append((answer.status_code, time.perf_counter() - started))
                    if answer.status_code not in (201, 409) and len(problems) < 5:
                        problems.append(f"{answer.status_code}: {answer.text[:300]}")

    deadline.append(time.perf_counter() + seconds + 1.0)
    wall = run_threads([threading.Thread(target=client_loop, args=(n,)) for n in range(clients)])
    booked = sorted(seconds * 1000 for status, seconds in outcomes if status == 201)
    statuses = Counter(status for status, _ in outcomes)
    return {"clients": clients, "wall_s": wall, "attempts": len(outcomes), "booked": statuses.get(201, 0),
            "conflicts": statuses.get(409, 0), "errors": len(outcomes) - statuses.get(201, 0) - statuses.get(409, 0),
            "statuses": {str(k): v for k, v in statuses.items()}, "problems": problems,
            "bookings_per_s": statuses.get(201, 0) / wall if wall else 0.0,
            "booking_p50_ms": statistics.median(booked) if booked else None,
            "booking_p99_ms": booked[max(0, int(len(booked) * 0.99) - 1)] if booked else None,
            "availability_calls": len(searches), "weekdays": [str(d) for d in days]}


# ------------------------------------------------------------------------------------ double-booking audit


def _all(client: httpx.Client, path: str) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    page: str | None = path
    while page:
        bundle = _ok(client.get(page)).json()
        resources += [entry["resource"] for entry in bundle.get("entry", []) if entry.get("search", {}).get(
            "mode", "match") == "match"]
        link = next((x["url"] for x in bundle.get("link", []) if x.get("relation") == "next"), None)
        page = None if link is None else urllib.parse.urlsplit(link).path + "?" + urllib.parse.urlsplit(link).query
    return resources


def audit_bookings(client: httpx.Client) -> dict[str, Any]:
    """Read every booked Appointment and busy Slot back and count what would betray a double booking."""
    appointments = _all(client, "/fhir/Appointment?status=booked&_count=1000")
    busy = {slot["id"] for slot in _all(client, "/fhir/Slot?status=busy&_count=1000")}
    holders = Counter(ref["reference"].split("/")[1] for a in appointments for ref in a.get("slot", []))
    shared_slots = sum(1 for count in holders.values() if count > 1)
    by_actor: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for appointment in appointments:
        for participant in appointment.get("participant", []):
            reference = participant.get("actor", {}).get("reference", "")
            if reference.startswith(("Practitioner/", "Location/")):
                by_actor[reference].append((appointment["start"], appointment["end"]))
    overlaps = 0
    for intervals in by_actor.values():
        latest_end = ""
        for start, end in sorted(intervals):  # instants in UTC ("…Z") compare as text
            overlaps += start < latest_end
            latest_end = max(latest_end, end)
    return {"appointments": len(appointments), "busy_slots": len(busy), "slots_held_twice": shared_slots,
            "overlapping_visits": overlaps, "double_bookings": shared_slots + overlaps,
            "busy_slots_without_appointment": len(busy - set(holders)),
            "held_slots_not_busy": len(set(holders) - busy)}


# ---------------------------------------------------------------------------------------------- the table


def table_rows(figures: dict[str, Any], loaded: Any) -> list[Row]:
    setup, lone, bookings, audit = figures["setup"], figures["availability_lone"], figures["bookings"], figures["audit"]
    lone_problem = f"{lone['failed']} failed" if lone["failed"] else ""
    booking_problem = f"{bookings['errors']} errors" if bookings["errors"] else ""
    inconsistent = audit["busy_slots_without_appointment"] + audit["held_slots_not_busy"]
    return [
        Row("slots generated (90 days, 50 providers + 30 rooms)",
            f"{setup['slots_created']:,} in {setup['generate_s']:.0f} s ({setup['slots_per_s']:,.0f}/s)"),
        Row("availability search, alone, p50", f"{lone['p50_ms']:.1f} ms"),
        Row("availability search, alone, p99", f"{lone['p99_ms']:.1f} ms", f"≤ {TARGET_P99_MS:.0f} ms",
            verdict(lone["p99_ms"] <= TARGET_P99_MS, lone_problem)),
        Row("availability searches with options", f"{lone['with_options']} of {lone['searches']}"),
        Row("availability under wrk (16 connections)", f"{loaded.requests_per_second:,.0f} req/s"),
        Row("availability under wrk, p99", f"{loaded.latency_p99_ms:.1f} ms",
            met=f"({loaded.problem})" if loaded.problem else "—"),
        Row(f"bookings, {bookings['clients']} concurrent clients", f"{bookings['bookings_per_s']:,.0f} bookings/s",
            f"≥ {TARGET_BOOKINGS_PER_S:,.0f} bookings/s",
            verdict(bookings["bookings_per_s"] >= TARGET_BOOKINGS_PER_S, booking_problem)),
        Row("booking attempts: booked / lost a race (409) / errors",
            f"{bookings['booked']:,} / {bookings['conflicts']:,} / {bookings['errors']:,}"),
        Row("booking latency p50 / p99",
            f"{bookings['booking_p50_ms'] or 0:.0f} / {bookings['booking_p99_ms'] or 0:.0f} ms"),
        Row("double bookings (slots held twice + overlapping visits)", f"{audit['double_bookings']}", "0",
            verdict(audit["double_bookings"] == 0)),
        Row("busy slots without appointment + held slots not busy", f"{inconsistent}", "0", verdict(inconsistent == 0)),
    ]
