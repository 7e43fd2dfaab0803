"""Foundation benchmark: the FHIR API on 100 Synthea patients.

(a) ingest the 100 transaction bundles over 2 connections; (b) reads by id, (c) a mix of typical
US Core searches, (d) ``GET /bench/blob`` (one stored Patient served from memory through the same
FastAPI stack: the ceiling of what the HTTP layer allows), each with wrk. (b)/(d) tells how much of
that ceiling a real read keeps.
"""

from __future__ import annotations

import itertools
import json
import queue
import random
import statistics
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    BenchOptions,
    BenchSkipped,
    Row,
    WrkResult,
    osler_server,
    run_in_child,
    run_threads,
    run_wrk,
    verdict,
)
from osler.reference_data import SYNTHEA_ARCHIVE, extract_json_members

NAME = "foundation"
TITLE = "Foundation: FHIR API on 100 Synthea patients"

INGEST_CONNECTIONS = 2
OBSERVATION_IDS_WANTED = 2000
SEARCH_PATIENTS = 20
FHIR_JSON = "application/fhir+json"

TARGET_INGEST_PER_S = 1000.0
TARGET_READS_PER_S = 2000.0
TARGET_SEARCHES_PER_S = 500.0
TARGET_P99_MS = 50.0
TARGET_READ_TO_CEILING = 0.5


def run(options: BenchOptions) -> dict[str, Any]:
    """Run the four phases against a fresh server; the figures and the results table."""
    if not SYNTHEA_ARCHIVE.is_file():
        raise BenchSkipped(f"../shared/data not present: {SYNTHEA_ARCHIVE} is missing")
    with tempfile.TemporaryDirectory(prefix="osler-bench-synthea-") as scratch:
        bundle_dir = Path(scratch)
        bundle_count = extract_json_members(SYNTHEA_ARCHIVE, bundle_dir)
        with osler_server(workers=options.server_workers) as server:
            ingest = measure_ingest(server.base_url, bundle_dir)
            with httpx.Client(base_url=server.base_url, timeout=60.0, headers={"Accept": FHIR_JSON}) as client:
                patient_ids = collect_ids(client, "/fhir/Patient?_count=1000&_elements=id", limit=None)
                observation_ids = collect_ids(
                    client, "/fhir/Observation?_count=200&_elements=id", limit=OBSERVATION_IDS_WANTED
                )
                if not patient_ids or not observation_ids:
                    raise RuntimeError(
                        f"after ingest the server lists {len(patient_ids)} Patient and "
                        f"{len(observation_ids)} Observation ids: nothing to read"
                    )
                read_paths = read_by_id_paths(patient_ids, observation_ids)
                search_paths = us_core_search_paths(client, patient_ids[:SEARCH_PATIENTS])
                read_check = check_paths(client, read_paths[:50])
                search_check = check_paths(client, search_paths)
                blob_check = check_paths(client, ["/bench/blob"])
            reads, reads_text = run_wrk(server.base_url, read_paths, options)
            searches, searches_text = run_wrk(server.base_url, search_paths, options)
            ceiling, ceiling_text = run_wrk(server.base_url, ["/bench/blob"], options)

    figures: dict[str, Any] = {
        "bundles_in_archive": bundle_count,
        "ingest": ingest,
        "ids": {"patients": len(patient_ids), "observations": len(observation_ids)},
        "reads": {**reads.as_dict(), "paths": len(read_paths), "check": read_check},
        "searches": {**searches.as_dict(), "paths": len(search_paths), "check": search_check},
        "ceiling": {**ceiling.as_dict(), "check": blob_check},
        "read_to_ceiling": reads.requests_per_second / ceiling.requests_per_second
        if ceiling.requests_per_second
        else None,
        "wrk": {
            "threads": options.wrk_threads,
            "connections": options.wrk_connections,
            "duration_s": options.wrk_duration_s,
            "warmup_s": options.wrk_warmup_s,
            "outputs": {"reads": reads_text, "searches": searches_text, "ceiling": ceiling_text},
        },
        "server_workers": options.server_workers,
    }
    return {"name": NAME, "title": TITLE, "figures": figures, "rows": table_rows(figures, reads, searches, ceiling)}


# ---------------------------------------------------------------------------------------------------
# (a) ingest
# ---------------------------------------------------------------------------------------------------


def measure_ingest(base_url: str, bundle_dir: Path) -> dict[str, Any]:
    """Run the ingest load from its own process, so that the client's work does not count as ours.

    A plain process rather than a pool: on an interrupt it can be terminated at once, where a pool
    would first wait for the whole ingest to finish.
    """
    return run_in_child("ingest", ingest_bundles, base_url, str(bundle_dir), INGEST_CONNECTIONS)


def ingest_bundles(base_url: str, bundle_dir: str, connections: int) -> dict[str, Any]:
    """POST each transaction bundle to ``/fhir`` over ``connections`` concurrent connections.

    Bundles are read and counted before the clock starts. Entries of a bundle that failed do not
    count towards the throughput.
    """
    bundles: list[tuple[str, bytes, int]] = []
    for path in sorted(Path(bundle_dir).glob("*.json")):
        body = path.read_bytes()
        bundles.append((path.name, body, len(json.loads(body).get("entry", []))))
    work: queue.SimpleQueue[tuple[str, bytes, int]] = queue.SimpleQueue()
    for bundle in bundles:
        work.put(bundle)
    outcomes: list[dict[str, Any]] = []
    lock = threading.Lock()

    def post_bundles() -> None:
        # One client per thread, one connection per client: exactly ``connections`` connections.
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(base_url=base_url, timeout=600.0, limits=limits) as client:
            while True:
                try:
                    name, body, entries = work.get_nowait()
                except queue.Empty:
                    return
                started = time.perf_counter()
                problem = ""
                try:
                    response = client.post(
                        "/fhir", content=body, headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
                    )
                    seconds = time.perf_counter() - started
                    problem = _transaction_problem(response, entries)
                except httpx.HTTPError as error:
                    seconds = time.perf_counter() - started
                    problem = f"{type(error).__name__}: {error}"
                with lock:
                    outcomes.append({"bundle": name, "entries": entries, "seconds": seconds, "problem": problem})

    wall = run_threads([threading.Thread(target=post_bundles) for _ in range(connections)])

    succeeded = [outcome for outcome in outcomes if not outcome["problem"]]
    failed = [outcome for outcome in outcomes if outcome["problem"]]
    entries_stored = sum(outcome["entries"] for outcome in succeeded)
    return {
        "bundles": len(bundles),
        "bundles_failed": len(failed),
        "failures": [{"bundle": o["bundle"], "problem": o["problem"]} for o in failed[:5]],
        "entries_total": sum(entries for _, _, entries in bundles),
        "entries_stored": entries_stored,
        "wall_s": wall,
        "resources_per_s": entries_stored / wall if wall > 0 else 0.0,
        "median_s_per_bundle": statistics.median(o["seconds"] for o in succeeded) if succeeded else None,
        "max_s_per_bundle": max((o["seconds"] for o in succeeded), default=None),
        "connections": connections,
    }


def _transaction_problem(response: httpx.Response, entries: int) -> str:
    """Why a transaction's answer is not a success (``""`` when it is)."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    try:
        answer = response.json()
    except ValueError:
        return f"answer is not JSON: {response.text[:300]}"
    if answer.get("resourceType") != "Bundle" or answer.get("type") != "transaction-response":
        return f"answer is not a transaction-response Bundle: {response.text[:300]}"
    if len(answer.get("entry", [])) != entries:
        return f"{len(answer.get('entry', []))} response entries for {entries} request entries"
    return ""


# ---------------------------------------------------------------------------------------------------
# ids and request paths
# ---------------------------------------------------------------------------------------------------


def _local_path(link: str) -> str:
    """A Bundle link made relative to our server (it may name another host or port)."""
    parts = urllib.parse.urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def collect_ids(client: httpx.Client, first_page: str, limit: int | None) -> list[str]:
    """Resource ids from a searchset, following ``next`` links until ``limit`` ids or the last page."""
    ids: list[str] = []
    page: str | None = first_page
    while page is not None and (limit is None or len(ids) < limit):
        response = client.get(page)
        if response.status_code != 200:
            raise RuntimeError(f"GET {page} answered {response.status_code}: {response.text[:300]}")
        bundle = response.json()
        ids += [entry["resource"]["id"] for entry in bundle.get("entry", []) if "resource" in entry]
        page = next(
            (_local_path(link["url"]) for link in bundle.get("link", []) if link.get("relation") == "next"),
            None,
        )
    return ids if limit is None else ids[:limit]


def read_by_id_paths(patient_ids: list[str], observation_ids: list[str]) -> list[str]:
    """Every collected Patient and Observation, in a fixed shuffled order."""
    paths = [f"/fhir/Patient/{pid}" for pid in patient_ids]
    paths += [f"/fhir/Observation/{oid}" for oid in observation_ids]
    random.Random(20).shuffle(paths)  # fixed seed: the same order on every run
    return paths


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def us_core_search_paths(client: httpx.Client, patient_ids: list[str]) -> list[str]:
    """The seven US Core searches for each patient, with that patient's real name and identifier."""
    per_patient: list[list[str]] = []
    for pid in patient_ids:
        response = client.get(f"/fhir/Patient/{pid}")
        if response.status_code != 200:
            raise RuntimeError(f"GET /fhir/Patient/{pid} answered {response.status_code}")
        patient = response.json()
        family = next((name["family"] for name in patient.get("name", []) if name.get("family")), None)
        identifier = (patient.get("identifier") or [{}])[0]
        searches = [
            f"/fhir/Observation?patient={_q(pid)}&category=laboratory",
            f"/fhir/Observation?patient={_q(pid)}&code={_q('http://loinc.org|8302-2')}",
            f"/fhir/Observation?patient={_q(pid)}&date=ge2015-01-01&date=lt2020-01-01",
            f"/fhir/Condition?patient={_q(pid)}",
            f"/fhir/Encounter?patient={_q(pid)}&date=ge2010",
        ]
        if family:
            searches.append(f"/fhir/Patient?name={_q(family)}")
        if identifier.get("system") and identifier.get("value"):
            searches.append(f"/fhir/Patient?identifier={_q(identifier['system'] + '|' + identifier['value'])}")
        per_patient.append(searches)
    # Interleaved, so that every stretch of the load has every kind of search in it.
    return [path for group in itertools.zip_longest(*per_patient) for path in group if path is not None]


def check_paths(client: httpx.Client, paths: list[str]) -> dict[str, Any]:
    """GET each path once before loading it: how many answer 200, and how many searches find something."""
    ok = 0
    with_matches = 0
    failures: list[str] = []
    for path in paths:
        response = client.get(path)
        if response.status_code != 200:
            if len(failures) < 5:
                failures.append(f"{path} -> {response.status_code}")
            continue
        ok += 1
        body = response.json()
        if body.get("resourceType") != "Bundle" or body.get("entry"):
            with_matches += 1
    return {"paths": len(paths), "ok": ok, "with_matches": with_matches, "failures": failures}


# ---------------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------------


def _rate(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}"


def table_rows(figures: dict[str, Any], reads: WrkResult, searches: WrkResult, ceiling: WrkResult) -> list[Row]:
    ingest = figures["ingest"]
    ingest_problem = f"{ingest['bundles_failed']} bundles failed" if ingest["bundles_failed"] else ""
    median = ingest["median_s_per_bundle"]
    ratio = figures["read_to_ceiling"]
    ratio_problem = "; ".join(p for p in (reads.problem, ceiling.problem) if p)
    search_check = figures["searches"]["check"]
    return [
        Row(
            "ingest (100 Synthea bundles, 2 connections)",
            _rate(ingest["resources_per_s"], "resources/s"),
            f"≥ {TARGET_INGEST_PER_S:,.0f} resources/s",
            verdict(ingest["resources_per_s"] >= TARGET_INGEST_PER_S, ingest_problem),
        ),
        Row("ingest, median per bundle", f"{median:.2f} s" if median is not None else "n/a"),
        Row(
            "read by id",
            _rate(reads.requests_per_second, "req/s"),
            f"≥ {TARGET_READS_PER_S:,.0f} req/s",
            verdict(reads.requests_per_second >= TARGET_READS_PER_S, reads.problem),
        ),
        Row("read by id, p50", f"{reads.latency_p50_ms:.1f} ms"),
        Row(
            "read by id, p99",
            f"{reads.latency_p99_ms:.1f} ms",
            f"≤ {TARGET_P99_MS:.0f} ms",
            verdict(reads.latency_p99_ms <= TARGET_P99_MS, reads.problem),
        ),
        Row(
            "US Core search mix",
            _rate(searches.requests_per_second, "req/s"),
            f"≥ {TARGET_SEARCHES_PER_S:,.0f} req/s",
            verdict(searches.requests_per_second >= TARGET_SEARCHES_PER_S, searches.problem),
        ),
        Row("US Core search mix, p50", f"{searches.latency_p50_ms:.1f} ms"),
        Row(
            "US Core search mix, p99",
            f"{searches.latency_p99_ms:.1f} ms",
            f"≤ {TARGET_P99_MS:.0f} ms",
            verdict(searches.latency_p99_ms <= TARGET_P99_MS, searches.problem),
        ),
        # Shown so that a fast mix of searches that find nothing cannot pass unnoticed.
        Row("US Core searches finding ≥ 1 match", f"{search_check['with_matches']} of {search_check['paths']}"),
        Row(
            "ceiling: GET /bench/blob",
            _rate(ceiling.requests_per_second, "req/s"),
            met=f"({ceiling.problem})" if ceiling.problem else "—",
        ),
        Row("ceiling, p99", f"{ceiling.latency_p99_ms:.1f} ms"),
        Row(
            "read by id / ceiling",
            f"{ratio:.2f}" if ratio is not None else "n/a",
            f"≥ {TARGET_READ_TO_CEILING}",
            verdict(ratio is not None and ratio >= TARGET_READ_TO_CEILING, ratio_problem),
        ),
    ]
