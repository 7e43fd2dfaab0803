"""Bulk loading of transaction/batch Bundles and NDJSON files into the Chronicle.

Resumable: each unit of work (a Bundle file, or a chunk of an NDJSON file) is recorded in the
``load_ledger`` by content hash inside the same database transaction that stores it, so a re-run
skips exactly what is already in, even after a crash mid-way.

Parallel: units are loaded by worker processes, each with its own Chronicle. Validation and
indexing — most of the cost — then run on every core, and only the short apply step of each unit
waits for the database's write lock.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import tarfile
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select

from osler.chronicle.records import Actor
from osler.chronicle.schema import load_ledger
from osler.chronicle.store import Chronicle
from osler.fhir.instants import now_us
from osler.fhir.outcome import BadRequest, FhirError

NDJSON_CHUNK = 500
LOADER = Actor("osler-load", "bulk load")


@dataclass
class LoadUnit:
    key: str  # sha256 of the unit's bytes
    source: str
    bundle: dict[str, Any] | None  # None when the file could not be parsed
    error: str | None = None
    resources: int = 0


@dataclass
class LoadReport:
    loaded_units: int = 0
    skipped_units: int = 0
    resources: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


def file_kind(path: Path) -> str | None:
    """"json", "ndjson", "archive" or None. Stray quotes after the extension (seen in real archives)
    are tolerated."""
    name = path.name.rstrip("\"'").lower()
    if name.endswith((".tgz", ".tar.gz", ".tar")):
        return "archive"
    return {".json": "json", ".ndjson": "ndjson"}.get(Path(name).suffix)


def find_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if file_kind(p) and p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise BadRequest(f"{path} does not exist")
    return files


def count_units(path: Path) -> int:
    """How many units a file holds, for the progress bar (reads archives and NDJSON once more)."""
    kind = file_kind(path)
    if kind == "archive":
        try:
            with tarfile.open(path) as archive:
                return sum(1 for m in archive if m.isfile() and file_kind(Path(m.name)) in ("json", "ndjson"))
        except tarfile.TarError:
            return 1
    if kind == "ndjson":
        with path.open("rb") as handle:
            lines = sum(1 for line in handle if line.strip())
        return max(1, -(-lines // NDJSON_CHUNK))
    return 1


def units_of(path: Path) -> Iterator[LoadUnit]:
    """The units of one file; a tar archive yields the units of each JSON/NDJSON member in turn."""
    if file_kind(path) != "archive":
        yield from units_of_bytes(path, path.read_bytes())
        return
    try:
        with tarfile.open(path) as archive:
            for member in archive:
                if member.isfile() and file_kind(Path(member.name)) in ("json", "ndjson"):
                    handle = archive.extractfile(member)
                    if handle is not None:
                        yield from units_of_bytes(Path(f"{path}!{member.name}"), handle.read())
    except tarfile.TarError as error:
        yield LoadUnit(hashlib.sha256(path.read_bytes()).hexdigest(), str(path), None,
                       f"not a readable archive: {error}")


def units_of_bytes(path: Path, data: bytes) -> Iterator[LoadUnit]:
    if file_kind(path) == "ndjson":
        lines = [line for line in data.splitlines() if line.strip()]
        for start in range(0, len(lines), NDJSON_CHUNK):
            chunk = lines[start:start + NDJSON_CHUNK]
            key = hashlib.sha256(b"\n".join(chunk)).hexdigest()
            where = f"{path}:{start + 1}"
            try:
                resources = [orjson.loads(line) for line in chunk]
            except orjson.JSONDecodeError as error:
                yield LoadUnit(key, where, None, f"not valid NDJSON: {error}")
                continue
            yield LoadUnit(key, where, ndjson_bundle(resources), resources=len(resources))
        return
    key = hashlib.sha256(data).hexdigest()
    try:
        bundle = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        yield LoadUnit(key, str(path), None, f"not valid JSON: {error}")
        return
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        bundle = ndjson_bundle([bundle])
    yield LoadUnit(key, str(path), bundle, resources=len(bundle.get("entry") or []))


def ndjson_bundle(resources: list[Any]) -> dict[str, Any]:
    """Resources with ids are upserted (PUT Type/id, as Bulk Data exports carry ids); others created."""
    entries = []
    for resource in resources:
        res_type = resource.get("resourceType") if isinstance(resource, dict) else None
        res_id = resource.get("id") if isinstance(resource, dict) else None
        request = {"method": "PUT", "url": f"{res_type}/{res_id}"} if res_id else {"method": "POST",
                                                                                     "url": str(res_type)}
        entries.append({"resource": resource, "request": request})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def already_loaded(chronicle: Chronicle, key: str) -> bool:
    with chronicle.engine.connect() as conn:
        return conn.execute(select(load_ledger.c.sha256).where(load_ledger.c.sha256 == key)).first() is not None


def load_unit(chronicle: Chronicle, unit: LoadUnit) -> int:
    """Store one unit and record it; returns the number of resources written."""
    if unit.bundle is None:
        raise BadRequest(unit.error or "unreadable")

    def record(conn: Connection) -> None:
        conn.execute(insert(load_ledger).values(sha256=unit.key, source=unit.source[-1000:], loaded_at=now_us(),
                                                resources=unit.resources))

    if unit.bundle.get("type") == "batch":
        _, results = chronicle.process_bundle(unit.bundle, actor=LOADER)
        failed = [r for r in results if r.outcome is not None]
        with chronicle.engine.begin() as conn:
            record(conn)
        return len(results) - len(failed)
    _, results = chronicle.process_bundle(unit.bundle, actor=LOADER, also_in_transaction=record)
    return len(results)


_worker: Chronicle | None = None


def _start_worker(database_url: str) -> None:
    global _worker
    _worker = Chronicle.open(database_url, migrate=False)


def _load_in_worker(unit: LoadUnit) -> tuple[int, str | None]:
    assert _worker is not None
    try:
        return load_unit(_worker, unit), None
    except FhirError as error:
        return 0, error.message


def load_files_parallel(chronicle: Chronicle, database_url: str, files: list[Path], report: LoadReport,
                        jobs: int, on_unit: Callable[[LoadUnit], None] | None = None) -> None:
    """Load ``files`` with ``jobs`` worker processes; the same outcome as ``load_file`` on each."""
    seen: set[str] = set()
    # Spawned, not forked: a fork copies the parent's threads' locks (SQLite's own mutexes included, held
    # by a checkpoint or audit flush at that instant) into a child that can then never take them.
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                             initargs=(database_url,)) as pool:
        pending: dict[Future[tuple[int, str | None]], LoadUnit] = {}

        def settle(done: set[Future[tuple[int, str | None]]]) -> None:
            for future in done:
                unit = pending.pop(future)
                written, error = future.result()
                if error is None:
                    report.resources += written
                    report.loaded_units += 1
                else:
                    report.failures.append((unit.source, error))
                if on_unit is not None:
                    on_unit(unit)

        for path in files:
            for unit in units_of(path):
                if unit.key in seen or already_loaded(chronicle, unit.key):
                    report.skipped_units += 1
                    if on_unit is not None:
                        on_unit(unit)
                    continue
                seen.add(unit.key)
                pending[pool.submit(_load_in_worker, unit)] = unit
                if len(pending) >= 2 * jobs:  # bound memory: parsed bundles wait in the queue
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    settle(done)
        settle(wait(pending).done)


def load_file(chronicle: Chronicle, path: Path, report: LoadReport,
              on_unit: Callable[[LoadUnit], None] | None = None) -> None:
    """Load every unit of one file not yet in the ledger; failures are reported, not raised."""
    for unit in units_of(path):
        if already_loaded(chronicle, unit.key):
            report.skipped_units += 1
        else:
            try:
                report.resources += load_unit(chronicle, unit)
                report.loaded_units += 1
            except FhirError as error:
                report.failures.append((unit.source, error.message))
        if on_unit is not None:
            on_unit(unit)
