"""A worker process: DBOS configured and launched over the pipeline's system database, the queues
registered, and the poller that asks each source what is new and enqueues it (workflow id = the
idempotency key, so enqueuing the same item again is a no-op).

Queue tuning: DBOS's default 1 s queue polling drains ~2 workflows/s on SQLite; polling every 50 ms
with 4 workflows at once per worker keeps a text-layer order well under the 2 s latency target (see
``bench/dme_latency.py``). The route queue has a global concurrency of 1: routing faxed documents to
cases is serialized across all workers.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from dbos import DBOS, SetWorkflowID

from osler.dme.config import DmeSettings
from osler.dme.pipeline import workflows
from osler.dme.pipeline.runtime import Runtime, build_runtime, install
from osler.dme.sources import FhirSource

ACTIVE = ["ENQUEUED", "PENDING"]
STOP_GRACE_SECONDS = 5
PIPELINE_WORKFLOWS = ["intake", "route", "deliver_fax_case", "replay"]


@dataclass
class Counts:
    discovered: int = 0
    in_progress: int = 0
    delivered: int = 0
    quarantined: int = 0
    needs_review: int = 0
    failed: int = 0


class Worker:
    def __init__(self, settings: DmeSettings) -> None:
        self.settings = settings
        self.runtime: Runtime = build_runtime(settings)
        self.launched = False

    def start(self) -> None:
        install(self.runtime)
        executor = self.settings.executor_id or (f"{socket.gethostname()}-{os.getpid()}" if self.settings.database_url
                                                 else "local")
        DBOS(config={"name": "osler-dme", "system_database_url": self.settings.system_database_url,
                     "executor_id": executor, "log_level": "WARNING", "application_version": "osler-dme-1",
                     "notification_listener_polling_interval_sec": 0.05})
        with self.runtime.ledger.schema_lock():
            DBOS.launch()
            DBOS.register_queue(workflows.INTAKE_QUEUE, worker_concurrency=self.settings.concurrency,
                                polling_interval_sec=self.settings.queue_polling_seconds, on_conflict="always_update")
            DBOS.register_queue(workflows.ROUTE_QUEUE, global_concurrency=1,
                                polling_interval_sec=self.settings.queue_polling_seconds, on_conflict="always_update")
        self.launched = True

    def stop(self) -> None:
        if self.launched:
            # in-flight steps get a moment to finish; what does not resumes at the next start
            DBOS.destroy(destroy_registry=False, workflow_completion_timeout_sec=STOP_GRACE_SECONDS)
            self.launched = False
        for source in self.runtime.sources.values():
            if isinstance(source, FhirSource):
                source.close()
        self.runtime.ledger.close()

    # ------------------------------------------------------------------------------ polling

    def discover(self) -> list[str]:
        """Enqueue what every source reports; the keys not seen before."""
        new: list[str] = []
        intake_queue = DBOS.retrieve_queue(workflows.INTAKE_QUEUE)
        for source in self.runtime.sources.values():
            for item in source.discover():
                if DBOS.get_workflow_status(item.key) is None:
                    new.append(item.key)
                with SetWorkflowID(item.key):
                    intake_queue.enqueue(workflows.intake, asdict(item))
            if isinstance(source, FhirSource) and source.watermark:
                # only after every item up to it is durably enqueued
                self.runtime.ledger.set_watermark(source.base_url, source.watermark)
        return new

    def sweep(self) -> None:
        """Route once more and deliver the cases past their deadline."""
        with SetWorkflowID(f"route:sweep:{time.time():.3f}"):
            DBOS.retrieve_queue(workflows.ROUTE_QUEUE).enqueue(workflows.route, True)

    def active(self) -> int:
        return len(DBOS.list_workflows(status=ACTIVE, name=PIPELINE_WORKFLOWS, load_input=False, load_output=False,
                                       executor_id=None))

    def wait_idle(self, on_tick: Callable[[], None] | None = None, tick: float = 0.1) -> None:
        while self.active():
            if on_tick:
                on_tick()
            time.sleep(tick)

    def drain(self, on_tick: Callable[[], None] | None = None) -> None:
        """Process everything the sources hold now, then return (``run --once``)."""
        while True:
            found = self.discover()
            self.wait_idle(on_tick)
            self.sweep()
            self.wait_idle(on_tick)
            if not found:
                return

    def run_forever(self, on_tick: Callable[[], None] | None = None) -> None:
        next_route = 0.0
        while True:
            self.discover()
            if time.monotonic() >= next_route:
                self.sweep()
                next_route = time.monotonic() + 60
            deadline = time.monotonic() + self.settings.discover_seconds
            while time.monotonic() < deadline:
                if on_tick:
                    on_tick()
                time.sleep(0.25)

    def counts(self) -> Counts:
        ledger_counts = self.runtime.ledger.counts()
        return counts_from(ledger_counts, self.active() if self.launched else 0)


def counts_from(ledger_counts: dict[str, dict[str, int]], in_progress: int) -> Counts:
    stages, documents = ledger_counts["stages"], ledger_counts["documents"]
    return Counts(discovered=ledger_counts["items"]["fetched"], in_progress=in_progress,
                  delivered=stages.get("delivered", 0), quarantined=ledger_counts["quarantined"]["documents"],
                  needs_review=documents.get("needs-review", 0) + ledger_counts["decisions"].get("needs-review", 0),
                  failed=stages.get("failed", 0))
