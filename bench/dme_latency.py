"""DME pipeline benchmark: how long a clean EHR order takes from discovery to delivery, and how fast a
worker drains a fax inbox on SQLite with DBOS's default queue polling and with ours.

(a) latency: a fresh ``osler serve`` (SQLite) is seeded, one order at a time, with a synthetic case as
    an EHR would hold it — patient with MBI, coverage, prescriber with NPI, an open visit, the supporting
    documents as DocumentReferences (text-layer PDFs: no OCR), the signed DME order placed through
    ``/api/charting``. A worker with the FHIR source polls every 0.1 s; for each order we take the time
    the poller asked the EHR the question that found it (discovery; DBOS's own timestamps on SQLite are
    whole seconds) and the time the delivery record was written (the packet, JSON and request letter in
    the output folder). Target: p50 ≤ 2 s over 20 orders. We also report signed →
    delivered, which adds the polling wait.
(b) drain: the same kind of cases' paperwork (digital, text layers) mixed into one fax folder, drained by
    ``Worker.drain`` once with DBOS's default 1 s queue polling and once with the 50 ms we configure;
    orders and documents per second.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import BenchOptions, Row, osler_server, verdict

NAME = "dme_latency"
TITLE = "DME order intake: discovery → delivery latency and fax-inbox drain rate"

ORDERS = 20
DRAIN_CASES = 12
TARGET_P50_S = 2.0
POLL_SECONDS = 0.1


def run(options: BenchOptions) -> dict[str, Any]:
    from osler.dme.corpus import generate

    with tempfile.TemporaryDirectory(prefix="osler-dme-bench-") as folder:
        work = Path(folder)
        corpus = generate(work / "corpus", cases=ORDERS, seed=23, scanned_share=0.0)
        with osler_server(workers=1) as server:
            latency = measure_latency(f"{server.base_url}/fhir", corpus, work / "latency")
        drain_corpus = generate(work / "drain-corpus", cases=DRAIN_CASES, seed=29, scanned_share=0.0)
        drains = {label: measure_drain(drain_corpus, work / f"drain-{label}", polling)
                  for label, polling in (("default 1 s polling", 1.0), ("tuned 50 ms polling", 0.05))}
    figures = {"latency": latency, "drain": drains}
    return {"name": NAME, "title": TITLE, "figures": figures, "rows": table_rows(figures)}


def measure_latency(fhir_url: str, corpus: Any, home: Path) -> dict[str, Any]:
    from osler.dme.config import load_dme_settings
    from osler.dme.demo import EhrSeeder, seed_case
    from osler.dme.pipeline.runner import Worker

    seeder = EhrSeeder(fhir_url)
    supplier = seeder.supplier("Bench Home Medical")
    department = seeder.create({"resourceType": "Organization", "name": "Bench Sleep Clinic"})
    settings = load_dme_settings(home=str(home / "dme"), fhir_url=fhir_url, supplier=supplier,
                                 output_folder=str(home / "out"), case_deadline_hours=0)
    worker = Worker(settings)
    worker.start()
    stop = threading.Event()
    discovered_at: dict[str, float] = {}

    def poll() -> None:
        while not stop.is_set():
            asked = time.time()  # the search's start: counts the EHR's answer time as pipeline time
            for key in worker.discover():
                discovered_at[key] = asked
            stop.wait(POLL_SECONDS)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    discovery_to_delivery, signed_to_delivery, skipped = [], [], 0
    try:
        for key in sorted(corpus.cases):
            order = seed_case(seeder, corpus, key, supplier, department)
            signed = time.time()
            if order is None:
                skipped += 1
                continue
            workflow = f"fhir:{fhir_url}/DeviceRequest/{order}"
            delivered = _wait_for_delivery(worker, workflow)
            discovery_to_delivery.append(delivered - discovered_at[workflow])
            signed_to_delivery.append(delivered - signed)
    finally:
        stop.set()
        poller.join()
        worker.stop()
        seeder.close()
    return {"orders": len(discovery_to_delivery), "skipped": skipped, **_stats("", discovery_to_delivery),
            **_stats("signed_", signed_to_delivery)}


def _wait_for_delivery(worker: Any, key: str, timeout: float = 120.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = worker.runtime.ledger.order(key)
        if row is not None and row.stage == "delivered":
            return worker.runtime.ledger.deliveries(key)[-1]["at"]
        time.sleep(0.02)
    raise RuntimeError(f"{key} was not delivered within {timeout:.0f} s")


def _stats(prefix: str, seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {f"{prefix}p50_s": statistics.median(ordered), f"{prefix}p90_s": ordered[int(0.9 * (len(ordered) - 1))],
            f"{prefix}max_s": ordered[-1]}


def measure_drain(corpus: Any, home: Path, polling: float) -> dict[str, Any]:
    from osler.dme.config import load_dme_settings
    from osler.dme.pipeline.runner import Worker

    fax = home / "fax"
    fax.mkdir(parents=True)
    documents = 0
    for document in corpus.documents:
        for name in document.files:
            (fax / name.replace("/", "-")).write_bytes((corpus.root / name).read_bytes())
            documents += 1
    settings = load_dme_settings(home=str(home / "dme"), fax_folder=str(fax), output_folder=str(home / "out"),
                                 case_deadline_hours=0, queue_polling_seconds=polling)
    worker = Worker(settings)
    worker.start()
    try:
        started = time.perf_counter()
        worker.drain()
        seconds = time.perf_counter() - started
        delivered = worker.counts().delivered
    finally:
        worker.stop()
    return {"polling_s": polling, "concurrency": settings.concurrency, "documents": documents, "orders": delivered,
            "seconds": seconds, "orders_per_s": delivered / seconds, "documents_per_s": documents / seconds}


def table_rows(figures: dict[str, Any]) -> list[Row]:
    latency = figures["latency"]
    rows = [
        Row(f"EHR order, discovery → delivery, p50 ({latency['orders']} orders, text layers)",
            f"{latency['p50_s']:.2f} s", f"≤ {TARGET_P50_S:.0f} s", verdict(latency["p50_s"] <= TARGET_P50_S)),
        Row("discovery → delivery, p90 / max", f"{latency['p90_s']:.2f} s / {latency['max_s']:.2f} s"),
        Row(f"signed in the EHR → delivered, p50 (polling every {POLL_SECONDS:g} s)",
            f"{latency['signed_p50_s']:.2f} s"),
    ]
    for label, drain in figures["drain"].items():
        rows.append(Row(f"fax inbox drain, {label}, {drain['concurrency']} at once",
                        f"{drain['orders_per_s']:.2f} orders/s ({drain['documents_per_s']:.1f} documents/s, "
                        f"{drain['orders']} orders in {drain['seconds']:.1f} s)"))
    return rows
