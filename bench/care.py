"""Care benchmark (EpicCare orders, Beaker results): orders placed/s and results filed/s over HTTP.

Against a fresh ``osler serve --workers 2`` (embedded SQLite):

(a) set-up: a clinician, ``PATIENTS`` patients with an open (in-progress) Encounter each, in FHIR
    transactions;
(b) orders: ``CLIENTS`` concurrent clients place and sign lipid-panel orders
    (``POST /api/charting/encounters/{id}/orders``): orders/s and latency;
(c) each order's specimen is collected and received (set-up for (d), not measured);
(d) results: ``CLIENTS`` concurrent clients file the four lipid components of one specimen each
    (``POST /api/lab/specimens/{accession}/results``): each filing writes four Observations, the
    DiagnosticReport, the clinician's review Task and the patient's release message, and completes the
    order and the specimen — results/s and latency;
(e) baseline, same run: the same seven resources (plus the two updates) written as a plain FHIR
    transaction Bundle to ``/fhir`` by the same clients — what the store alone costs, so that the
    lab's own share of each filing can be read off.

Afterwards every filed specimen is checked: one final DiagnosticReport with four Observations, a review
Task and a release message each, no order left active.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from bench.common import (
    Answer,
    BenchOptions,
    KeepAliveClient,
    Row,
    osler_server,
    run_in_child,
    run_threads,
    verdict,
)

NAME = "care"
TITLE = "Care (EpicCare orders, Beaker results) over HTTP"

PATIENTS = 300
ORDERS = 3000
CLIENTS = 8
LIPID_PANEL = "24331-1"
TARGET_RESULTS_PER_S = 300.0
TARGET_P99_MS = 100.0
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def run(options: BenchOptions) -> dict[str, Any]:
    with osler_server(workers=options.server_workers) as server:
        with httpx.Client(base_url=server.base_url, timeout=600.0) as client:
            setup = set_up(client)
        orders = run_in_child("orders", place_orders, server.base_url, setup, CLIENTS)
        with httpx.Client(base_url=server.base_url, timeout=600.0) as client:
            accessions = collect_and_receive(client, orders["orders"])
        results = run_in_child("results", file_results, server.base_url, accessions, CLIENTS)
        with httpx.Client(base_url=server.base_url, timeout=600.0) as client:
            audit = audit_results(client, len(accessions))  # before the baseline writes look-alikes
        baseline = run_in_child("baseline", write_baseline, server.base_url, setup, len(accessions), CLIENTS)
    figures = {"orders": {k: v for k, v in orders.items() if k != "orders"}, "results": results,
               "baseline": baseline, "audit": audit, "server_workers": options.server_workers,
               "patients": PATIENTS}
    return {"name": NAME, "title": TITLE, "figures": figures, "rows": table_rows(figures)}


# ---------------------------------------------------------------------------------------------- set-up


def _ok(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.request.url} answered {response.status_code}: "
                           f"{response.text[:500]}")
    return response


def _transaction(client: httpx.Client, resources: list[dict[str, Any]]) -> list[str]:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "request": {"method": "POST", "url": r["resourceType"]},
         "resource": r} for r in resources]}
    answer = _ok(client.post("/fhir", json=bundle, headers=FHIR_JSON)).json()
    return [entry["response"]["location"].split("/")[1] for entry in answer["entry"]]


def set_up(client: httpx.Client) -> dict[str, Any]:
    [doctor] = _transaction(client, [{"resourceType": "Practitioner", "name": [{"family": "Bench", "given": ["Lab"]}]}])
    patients = _transaction(client, [{"resourceType": "Patient", "active": True, "gender": "female",
                                      "birthDate": "1980-01-01"} for _ in range(PATIENTS)])
    encounters = _transaction(client, [{
        "resourceType": "Encounter", "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{patient}"},
        "participant": [{"individual": {"reference": f"Practitioner/{doctor}"}}]} for patient in patients])
    return {"doctor": doctor, "patients": patients, "encounters": encounters}


# ---------------------------------------------------------------------------------------- load helpers


def _concurrently(base_url: str, clients: int, jobs: list[Any],
                  call: Callable[[KeepAliveClient, Any], Answer]) -> dict[str, Any]:
    """Run ``call`` on every job from ``clients`` threads (each its own keep-alive connection); timings
    and answers."""
    pending = list(reversed(jobs))
    lock = threading.Lock()
    timings: list[float] = []
    answers: list[tuple[Any, int, Any]] = []
    barrier = threading.Barrier(clients)

    def worker() -> None:
        client = KeepAliveClient(base_url, headers={"X-Osler-User": "bench"})
        barrier.wait()
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    job = pending.pop()
                started = time.perf_counter()
                response = call(client, job)
                elapsed = time.perf_counter() - started
                body = response.json() if response.content_type.endswith("json") else None
                with lock:
                    timings.append(elapsed * 1000)
                    answers.append((job, response.status_code, body))
        finally:
            client.close()

    wall = run_threads([threading.Thread(target=worker) for _ in range(clients)])
    timings.sort()
    failures = [f"{status}: {str(body)[:300]}" for _, status, body in answers if status >= 300]
    return {"count": len(jobs), "clients": clients, "wall_s": wall, "per_s": len(jobs) / wall,
            "p50_ms": statistics.median(timings), "p99_ms": timings[max(0, int(len(timings) * 0.99) - 1)],
            "failed": len(failures), "failures": failures[:5], "answers": answers}


def place_orders(base_url: str, setup: dict[str, Any], clients: int) -> dict[str, Any]:
    encounters = setup["encounters"]
    jobs = [encounters[n % len(encounters)] for n in range(ORDERS)]

    def order(client: KeepAliveClient, encounter: str) -> Answer:
        return client.post(f"/api/charting/encounters/{encounter}/orders",
                           {"kind": "lab", "code": LIPID_PANEL, "sign": True, "reasons": ["E78.5"]})

    outcome = _concurrently(base_url, clients, jobs, order)
    orders = [body["id"] for _, status, body in outcome.pop("answers") if status == 201]  # the ServiceRequest
    return {**outcome, "orders": orders}


def collect_and_receive(client: httpx.Client, orders: list[str]) -> list[str]:
    accessions = []
    for order in orders:
        specimen = _ok(client.post(f"/api/lab/orders/{order}/collect", json={})).json()
        accession = specimen["accessionIdentifier"]["value"]
        _ok(client.post(f"/api/lab/specimens/{accession}/receive", json={}))
        accessions.append(accession)
    return accessions


def lipid_values(rng: random.Random) -> list[dict[str, Any]]:
    return [{"code": "2093-3", "value": rng.randint(140, 260), "unit": "mg/dL"},
            {"code": "2571-8", "value": rng.randint(60, 400), "unit": "mg/dL"},
            {"code": "2085-9", "value": rng.randint(30, 80), "unit": "mg/dL"},
            {"code": "13457-7", "value": rng.randint(70, 190), "unit": "mg/dL"}]


def file_results(base_url: str, accessions: list[str], clients: int) -> dict[str, Any]:
    rng = random.Random(11)
    values = {accession: lipid_values(rng) for accession in accessions}

    def filing(client: KeepAliveClient, accession: str) -> Answer:
        return client.post(f"/api/lab/specimens/{accession}/results", {"results": values[accession]})

    outcome = _concurrently(base_url, clients, accessions, filing)
    outcome.pop("answers")
    return outcome


def write_baseline(base_url: str, setup: dict[str, Any], count: int, clients: int) -> dict[str, Any]:
    """The same resources as a filing, as one plain FHIR transaction each (no lab logic)."""
    rng = random.Random(13)
    doctor = setup["doctor"]

    def bundle(patient: str) -> dict[str, Any]:
        subject = {"reference": f"Patient/{patient}"}
        observations = [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "request": {"method": "POST", "url": "Observation"},
                         "resource": {"resourceType": "Observation", "status": "final", "subject": subject,
                                      "code": {"coding": [{"system": "http://loinc.org", "code": v["code"]}]},
                                      "valueQuantity": {"value": v["value"], "unit": v["unit"],
                                                        "system": "http://unitsofmeasure.org", "code": v["unit"]}}}
                        for v in lipid_values(rng)]
        report = {"resourceType": "DiagnosticReport", "status": "final", "subject": subject,
                  "code": {"coding": [{"system": "http://loinc.org", "code": LIPID_PANEL}]},
                  "result": [{"reference": o["fullUrl"]} for o in observations]}
        task = {"resourceType": "Task", "status": "requested", "intent": "order", "for": subject,
                "owner": {"reference": f"Practitioner/{doctor}"}}
        message = {"resourceType": "Communication", "status": "completed", "subject": subject,
                   "recipient": [subject], "payload": [{"contentString": "Your results are available."}]}
        others = [{"request": {"method": "POST", "url": r["resourceType"]}, "resource": r}
                  for r in (report, task, message)]
        return {"resourceType": "Bundle", "type": "transaction", "entry": observations + others}

    patients = setup["patients"]
    jobs = [bundle(patients[n % len(patients)]) for n in range(count)]

    def write(client: KeepAliveClient, body: dict[str, Any]) -> Answer:
        return client.post("/fhir", body, headers=FHIR_JSON)

    outcome = _concurrently(base_url, clients, jobs, write)
    outcome.pop("answers")
    return outcome


# --------------------------------------------------------------------------------------------- audit


def audit_results(client: httpx.Client, filed: int) -> dict[str, Any]:
    def total(res_type: str, **params: str) -> int:
        # params, not a query string in the path: httpx replaces the path's query when params are given
        return _ok(client.get(f"/fhir/{res_type}", params={**params, "_summary": "count"})).json()["total"]

    return {"filed": filed,
            "reports_final": total("DiagnosticReport", code=LIPID_PANEL, status="final"),
            "lab_observations": total("Observation", category="laboratory"),
            "review_tasks": total("Task", code="urn:osler:inbasket:category|result"),
            "release_messages": total("Communication", category="urn:osler:inbasket:category|result-released"),
            "orders_still_active": total("ServiceRequest", status="active")}


# --------------------------------------------------------------------------------------------- table


def table_rows(figures: dict[str, Any]) -> list[Row]:
    orders, results, baseline, audit = figures["orders"], figures["results"], figures["baseline"], figures["audit"]
    consistent = (audit["reports_final"] == audit["review_tasks"] == audit["release_messages"] == audit["filed"]
                  and audit["lab_observations"] == 4 * audit["filed"] and audit["orders_still_active"] == 0)
    return [
        Row(f"lab orders placed and signed, {orders['clients']} clients", f"{orders['per_s']:,.0f} orders/s",
            met=f"({orders['failed']} failed)" if orders["failed"] else "—"),
        Row("order latency p50 / p99", f"{orders['p50_ms']:.1f} / {orders['p99_ms']:.1f} ms"),
        Row(f"results filed (4 Observations + report + Task + message), {results['clients']} clients",
            f"{results['per_s']:,.0f} results/s", f"≥ {TARGET_RESULTS_PER_S:,.0f} results/s",
            verdict(results["per_s"] >= TARGET_RESULTS_PER_S and not results["failed"],
                    f"{results['failed']} failed" if results["failed"] else "")),
        Row("result filing latency p50", f"{results['p50_ms']:.1f} ms"),
        Row("result filing latency p99", f"{results['p99_ms']:.1f} ms", f"≤ {TARGET_P99_MS:.0f} ms",
            verdict(results["p99_ms"] <= TARGET_P99_MS)),
        Row("baseline: the same resources as a plain FHIR transaction", f"{baseline['per_s']:,.0f} bundles/s, "
            f"p99 {baseline['p99_ms']:.1f} ms"),
        Row("results/s ÷ baseline bundles/s", f"{results['per_s'] / baseline['per_s']:.2f}"),
        Row("every filing complete (report, 4 results, Task, message, order done)",
            f"{audit['reports_final']:,} reports for {audit['filed']:,} filings", "all", verdict(consistent)),
    ]
