"""SQLite write-ahead-log housekeeping for the Chronicle: who may write next, and checkpoints.

Two costs of SQLite under concurrent writes, both measured on the booking path (5.4 ms per booking,
single-threaded, before either change):

* **Waiting writers sleep.** A writer that finds SQLite's lock taken sleeps in growing steps (1, 2,
  5 … 100 ms) and retries, so under contention the lock sits idle while waiters sleep, and an unlucky
  one waits very long. Writers therefore queue at a ``WriteGate`` first — a thread lock plus an
  ``flock`` on a file beside the database — which the kernel hands to the next waiter the moment it
  is released. Only the write transaction itself is inside the gate; validation and indexing are not.
* **Checkpoints inside commits.** By default the commit that grows the WAL past 1,000 pages copies
  it back into the database and syncs, while it still holds the write lock: that was more than half
  of every commit's time. Each process instead checkpoints every file it writes from a background
  thread (``PRAGMA wal_checkpoint(PASSIVE)``, which never blocks readers or writers), a few times a
  second. The commit-time checkpoint remains as a safety net, at a far larger WAL size.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Engine

log = logging.getLogger(__name__)

CHECKPOINT_SAFETY_PAGES = 20_000  # ~80 MB of WAL: only reached when the background checkpoints fall behind
CHECKPOINT_INTERVAL_S = 0.25


class WriteGate:
    """One writer at a time for a SQLite file, across threads and processes.

    Reentrant within a thread. The lock file is opened per process, so a forked or spawned worker gets
    its own open file description (``flock`` locks belong to those, not to processes).
    """

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".write-lock")
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._threads:
            if self._depth == 0:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._file(), fcntl.LOCK_UN)

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd


_GATES: dict[str, WriteGate] = {}
_REGISTRY_LOCK = threading.Lock()


def write_gate(engine: Engine) -> AbstractContextManager[None]:
    """The ``WriteGate`` of a file-backed SQLite engine, held; nothing for PostgreSQL or memory."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        return nullcontext()
    gate = _GATES.get(database)
    if gate is None:
        with _REGISTRY_LOCK:  # one gate per file, however its path is spelled
            resolved = Path(database).resolve()
            gate = next((g for g in _GATES.values() if g.database == resolved), None) or WriteGate(resolved)
            _GATES[database] = gate
    return gate.held()


class _Checkpointer:
    """One daemon thread per process that checkpoints every registered database file in turn."""

    def __init__(self) -> None:
        self.paths: set[str] = set()
        self.thread: threading.Thread | None = None
        self.pid = 0

    def add(self, database: Path) -> None:
        with _REGISTRY_LOCK:
            self.paths.add(str(database.resolve()))
            if self.thread is None or self.pid != os.getpid() or not self.thread.is_alive():
                self.pid = os.getpid()
                self.thread = threading.Thread(target=self._run, name="osler-wal-checkpoints", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(CHECKPOINT_INTERVAL_S)
            with _REGISTRY_LOCK:
                paths = list(self.paths)
            for path in paths:
                if not checkpoint(path):
                    with _REGISTRY_LOCK:
                        self.paths.discard(path)


# Held while a checkpoint runs and across os.fork(): a child forked mid-checkpoint would inherit SQLite's
# internal mutexes locked by a thread it does not have, and hang on its first connection.
_CHECKPOINTING = threading.Lock()


def checkpoint(path: str) -> bool:
    """Copy what the WAL holds back into the database, without waiting; False once the file is gone."""
    if not os.path.exists(path):
        return False
    if not os.path.exists(path + "-wal") or os.path.getsize(path + "-wal") == 0:
        return True
    with _CHECKPOINTING:
        try:
            connection = sqlite3.connect(path, timeout=0)
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                connection.close()
        except sqlite3.Error as error:  # busy or locked: another process is checkpointing; try next round
            log.debug("checkpoint of %s skipped: %s", path, error)
    return True


def _forget_after_fork() -> None:
    """In a forked child: no gates or checkpoint thread inherited from the parent (their locks may be
    held by the parent's threads, which the child does not have)."""
    global _REGISTRY_LOCK
    _CHECKPOINTING.release()
    _REGISTRY_LOCK = threading.Lock()
    _GATES.clear()
    _CHECKPOINTER.paths.clear()
    _CHECKPOINTER.thread = None


os.register_at_fork(before=_CHECKPOINTING.acquire, after_in_parent=_CHECKPOINTING.release,
                    after_in_child=_forget_after_fork)


_CHECKPOINTER = _Checkpointer()


def start_checkpoints(database: Path) -> None:
    """Checkpoint ``database`` in the background from now on, in this process."""
    _CHECKPOINTER.add(database)
