"""The ETL benchmark's populations: the 100 Synthea bundles, and copies of them with fresh ids, loaded once.

A copy rewrites every UUID of a bundle (its ``urn:uuid`` fullUrls, the references to them, the identifiers
Synthea derives from them) through ``uuid5(copy number, old uuid)``: the same old id always becomes the same
new one within a copy, so every reference still points where it did, and no two copies share an id, a
patient identifier or a bundle hash (the bulk loader's ledger would skip an identical bundle). The loaded
store is kept under ``var/bench/etl-<patients>/`` (ignored by git) with a ``loaded.json`` written last, so a
re-run of the benchmark reuses it instead of loading again.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.common import REPO_ROOT
from osler.chronicle.bulk_load import LoadReport, find_files, load_files_parallel
from osler.chronicle.store import Chronicle
from osler.reference_data import SYNTHEA_ARCHIVE, extract_json_members

CACHE_ROOT = REPO_ROOT / "var" / "bench"
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class LoadedStore:
    """A SQLite Chronicle holding ``patients`` patients, ``resources`` resources in all."""

    root: Path
    patients: int
    resources: int
    load_s: float  # how long the bulk load took when the store was made (kept in loaded.json)

    @property
    def url(self) -> str:
        return f"sqlite:///{self.root / 'osler.db'}"


def replicate(bundle: bytes, copy: int) -> bytes:
    """``bundle`` with every UUID replaced by ``uuid5(namespace of copy, uuid)`` (copy 0: unchanged)."""
    if copy == 0:
        return bundle
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:osler:bench:etl-copy:{copy}")
    return UUID.sub(lambda found: str(uuid.uuid5(namespace, found.group().decode())).encode(), bundle)


def write_copies(originals: Path, copies: int, target: Path) -> list[Path]:
    """Write ``copies`` copies of every bundle in ``originals`` into ``target``; the files written."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(originals.glob("*.json")):
        data = source.read_bytes()
        for copy in range(copies):
            path = target / f"{copy:03}-{source.name}"
            path.write_bytes(replicate(data, copy))
            written.append(path)
    return written


def loaded_store(copies: int, jobs: int = 2) -> LoadedStore:
    """The store of ``copies`` times the 100 Synthea bundles: the cached one, else loaded now with the bulk loader."""
    root = CACHE_ROOT / f"etl-{copies * 100}"
    marker = root / "loaded.json"
    if marker.is_file():
        facts = orjson.loads(marker.read_bytes())
        return LoadedStore(root, facts["patients"], facts["resources"], facts["load_s"])
    shutil.rmtree(root, ignore_errors=True)
    bundles = root / "bundles"
    originals = root / "originals"
    originals.mkdir(parents=True)
    extract_json_members(SYNTHEA_ARCHIVE, originals)
    write_copies(originals, copies, bundles)
    shutil.rmtree(originals)
    store = LoadedStore(root, copies * 100, 0, 0.0)
    chronicle = Chronicle.open(store.url)
    report = LoadReport()
    started = time.perf_counter()
    try:
        load_files_parallel(chronicle, store.url, find_files([bundles]), report, jobs=jobs)
    finally:
        chronicle.close()
    if report.failures:
        raise RuntimeError(f"{len(report.failures)} bundle(s) failed to load, the first: {report.failures[0]}")
    load_s = time.perf_counter() - started
    shutil.rmtree(bundles)
    marker.write_bytes(orjson.dumps({"patients": store.patients, "resources": report.resources, "load_s": load_s}))
    return LoadedStore(root, store.patients, report.resources, load_s)
