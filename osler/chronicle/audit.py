"""The audit trail: who read or searched what, when and why.

Writes are audited inside their own transaction (``rows.apply_write``). Reads and searches are
audited here, in batches from a background thread: putting one INSERT inside every read would make
each read a write transaction and serialize all readers behind SQLite's single writer. A batch is
flushed every ``flush_seconds`` and on close, so at most that much read-audit is at risk if the
process is killed — the trade-off is stated in the README.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, insert

from osler.chronicle.database import begin_write
from osler.chronicle.records import Actor
from osler.chronicle.schema import audit_event
from osler.fhir.instants import now_us


class AuditTrail:
    def __init__(self, engine: Engine, flush_seconds: float = 0.25) -> None:
        self._engine = engine
        self._flush_seconds = flush_seconds
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def record(self, actor: Actor, action: str, res_type: str | None = None, res_id: str | None = None,
               version: int | None = None, detail: str | None = None, outcome: str = "success") -> None:
        entry = {"ts": now_us(), "actor": actor.name, "action": action, "res_type": res_type,
                 "res_id": res_id, "version": version, "purpose": actor.purpose, "outcome": outcome,
                 "detail": detail}
        with self._lock:
            self._pending.append(entry)
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="osler-audit", daemon=True)
                self._thread.start()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            with begin_write(self._engine) as conn:
                conn.execute(insert(audit_event), batch)
        except Exception:
            with self._lock:  # keep the rows for the next attempt rather than drop them
                self._pending[:0] = batch
            raise

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._flush_seconds)
            try:
                self.flush()
            except Exception:
                continue  # rows were put back; the next tick retries them
