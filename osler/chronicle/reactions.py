"""Reactions: applications reacting to each other through the change feed.

A consumer is a name and a handler called once per change, in feed order; its cursor (the last
sequence number handled) is kept in ``feed_cursor``. A periodic job (``every``) is kept there too:
its "cursor" is the instant it last ran, so it runs once per interval across all processes.
Delivery is at-least-once — a crash between a handler's writes and the cursor's advance replays
that change — so handlers must be idempotent
(conditional creates keyed on what they react to make them so). A lease in the same row lets any
number of API workers run the ``Reactor`` while only one processes a given consumer at a time.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from osler.chronicle.database import begin_write
from osler.chronicle.records import Change
from osler.chronicle.schema import feed_cursor
from osler.chronicle.store import Chronicle
from osler.fhir.instants import now_us

log = logging.getLogger("osler.reactions")

Handler = Callable[[Change, Chronicle], None]
LEASE_US = 30_000_000


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_us: int
    job: Callable[[Chronicle], None]


@dataclass(frozen=True)
class Consumer:
    name: str
    handler: Handler
    resource_types: frozenset[str] | None = None  # None: every change


class Reactor:
    def __init__(self, chronicle: Chronicle, batch: int = 500) -> None:
        self.chronicle = chronicle
        self.batch = batch
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.consumers: list[Consumer] = []
        self.jobs: list[PeriodicJob] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def on(self, name: str, handler: Handler, *, resource_types: set[str] | None = None) -> None:
        self.consumers.append(Consumer(name, handler, frozenset(resource_types) if resource_types else None))

    def every(self, name: str, seconds: float, job: Callable[[Chronicle], None]) -> None:
        self.jobs.append(PeriodicJob(name, int(seconds * 1_000_000), job))

    @property
    def has_work(self) -> bool:
        return bool(self.consumers or self.jobs)

    def run_once(self) -> int:
        """Process every pending change of every consumer whose lease this reactor can take, and run the
        periodic jobs that are due; how many changes and jobs were handled."""
        handled = sum(self._drain(consumer) for consumer in self.consumers)
        return handled + sum(self._run_if_due(job) for job in self.jobs)

    def _run_if_due(self, job: PeriodicJob) -> int:
        last_run = self._lease(job.name)
        now = now_us()
        if last_run is None or now - last_run < job.interval_us:
            return 0
        job.job(self.chronicle)
        self._advance(job.name, now)
        return 1

    def run_forever(self, interval_seconds: float = 0.5) -> None:
        while not self._stop.is_set():
            try:
                handled = self.run_once()
            except Exception as error:  # keep reacting; the failed change is retried next round
                log.error("reaction round failed: %s", type(error).__name__)
                handled = 0
            if not handled:
                self._stop.wait(interval_seconds)

    def start(self, interval_seconds: float = 0.5) -> threading.Thread:
        self._thread = threading.Thread(target=self.run_forever, args=(interval_seconds,), name="osler-reactor",
                                        daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Stop after the round in progress (so the store is not closed under a running handler)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _drain(self, consumer: Consumer) -> int:
        handled = 0
        while (seq := self._lease(consumer.name)) is not None:
            # Read the feed's end first: everything up to it that the query skips is not this
            # consumer's, so the cursor may jump there once the matching changes are handled.
            end = self.chronicle.last_sequence()
            changes = [c for c in self.chronicle.changes_since(seq, self.batch, resource_types=consumer.resource_types)
                       if c.seq <= end]
            last_done: int | None = None
            try:
                for change in changes:
                    consumer.handler(change, self.chronicle)
                    handled += 1
                    last_done = change.seq
                if len(changes) < self.batch:
                    last_done = end
            finally:  # one cursor write per batch; after a failure, up to the last change handled
                if last_done is not None and last_done > seq:
                    self._advance(consumer.name, last_done)
            if len(changes) < self.batch:
                break
        return handled

    def _lease(self, name: str) -> int | None:
        """Take or renew the consumer's lease; its cursor, or None when another process holds it.

        Reads first and writes only to take the lease or renew it when half has run out, so an
        idle reactor costs each round a read, not a write transaction.
        """
        now = now_us()
        with self.chronicle.engine.connect() as conn:
            row = conn.execute(select(feed_cursor).where(feed_cursor.c.consumer == name)).first()
        if row is not None:
            if row.lease_owner not in (None, self.owner) and row.lease_until > now:
                return None
            if row.lease_owner == self.owner and row.lease_until - now > LEASE_US // 2:
                return row.seq
        with begin_write(self.chronicle.engine) as conn:
            row = conn.execute(select(feed_cursor).where(feed_cursor.c.consumer == name)).first()
            if row is None:
                try:
                    conn.execute(insert(feed_cursor).values(consumer=name, seq=0, lease_owner=self.owner,
                                                            lease_until=now + LEASE_US))
                except IntegrityError:
                    return None
                return 0
            if row.lease_owner not in (None, self.owner) and row.lease_until > now:
                return None
            conn.execute(update(feed_cursor).where(feed_cursor.c.consumer == name)
                         .values(lease_owner=self.owner, lease_until=now + LEASE_US))
            return row.seq

    def _advance(self, name: str, seq: int) -> None:
        with begin_write(self.chronicle.engine) as conn:
            conn.execute(update(feed_cursor).where(feed_cursor.c.consumer == name,
                                                   feed_cursor.c.lease_owner == self.owner)
                         .values(seq=seq))
