"""ETL benchmark (Epic: the Clarity extract): change feed → Parquet/NDJSON, and the dbt build on DuckDB.

Over the 100 shared Synthea bundles loaded into a fresh SQLite Chronicle:

(a) baseline, same run: one ``SELECT res_type, res_id, content FROM resource`` of every current row —
    what reading the store alone costs, the ceiling of any extract;
(b) the full extract to Parquet and to NDJSON (``osler.analytics.extract``), median of 3 runs each:
    resources/s and the ratio to the baseline;
(c) an incremental extract after 100 updates: seconds for the delta;
(d) the dbt build (models + tests) over the Parquet extract, once.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.common import BenchOptions, BenchSkipped, Row, verdict
from osler.analytics.extract import extract
from osler.analytics.layout import AnalyticsLayout
from osler.analytics.transform import build
from osler.chronicle.bulk_load import LoadReport, find_files, load_files_parallel
from osler.chronicle.store import Chronicle
from osler.reference_data import SYNTHEA_ARCHIVE, extract_json_members

NAME = "etl"
TITLE = "ETL: Chronicle change feed → Parquet extract → dbt on DuckDB (100 Synthea bundles)"
REPEATS = 3
UPDATES = 100
TARGET_RESOURCES_PER_S = 10_000.0


def run(options: BenchOptions) -> dict[str, Any]:
    if not SYNTHEA_ARCHIVE.is_file():
        raise BenchSkipped(f"../shared/data not present: {SYNTHEA_ARCHIVE} is missing")
    with tempfile.TemporaryDirectory(prefix="osler-bench-etl-") as scratch:
        root = Path(scratch)
        bundles = root / "bundles"
        bundles.mkdir()
        extract_json_members(SYNTHEA_ARCHIVE, bundles)
        url = f"sqlite:///{root / 'osler.db'}"
        chronicle = Chronicle.open(url)
        loaded = LoadReport()
        load_files_parallel(chronicle, url, find_files([bundles]), loaded, jobs=2)
        try:
            figures = measure(chronicle, root, loaded.resources)
        finally:
            chronicle.close()
    return {"name": NAME, "title": TITLE, "figures": figures, "rows": table_rows(figures)}


def timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    outcome = action()
    return time.perf_counter() - started, outcome


def measure(chronicle: Chronicle, root: Path, resources: int) -> dict[str, Any]:
    def read_everything() -> int:
        with chronicle.engine.connect() as conn:
            return len(conn.execute(text("SELECT res_type, res_id, content FROM resource")).all())

    baseline_s = statistics.median(timed(read_everything)[0] for _ in range(REPEATS))
    figures: dict[str, Any] = {"resources": resources, "baseline_s": baseline_s}
    for output_format in ("parquet", "ndjson"):
        runs = [timed(lambda f=output_format, n=n: extract(
            chronicle, AnalyticsLayout(root / f"{f}-{n}"), output_format=f))[0] for n in range(REPEATS)]
        figures[f"{output_format}_s"] = statistics.median(runs)
    layout = AnalyticsLayout(root / "parquet-0")
    for stored in chronicle.read_current_many("Patient", _ids(chronicle, "Patient", UPDATES)):
        resource = stored.resource
        resource["gender"] = "unknown" if resource.get("gender") != "unknown" else "other"
        chronicle.update("Patient", stored.res_id, resource)
    figures["incremental_s"], delta = timed(lambda: extract(chronicle, layout))
    figures["incremental_resources"] = delta.total
    figures["dbt_s"], report = timed(lambda: build(layout))
    figures["dbt"] = {"models": report.models_built, "tests_passed": report.tests_passed,
                      "failures": report.failures, "rejects": report.rejects}
    return figures


def _ids(chronicle: Chronicle, res_type: str, limit: int) -> list[str]:
    with chronicle.engine.connect() as conn:
        rows = conn.execute(text("SELECT res_id FROM resource WHERE res_type = :t LIMIT :n"),
                            {"t": res_type, "n": limit}).all()
    return [row.res_id for row in rows]


def table_rows(figures: dict[str, Any]) -> list[Row]:
    count = figures["resources"]
    baseline_rate = count / figures["baseline_s"]
    rows = [Row("resources in the store", f"{count:,}"),
            Row("baseline: SELECT every current row", f"{baseline_rate:,.0f} resources/s")]
    for output_format in ("parquet", "ndjson"):
        rate = count / figures[f"{output_format}_s"]
        rows.append(Row(f"full extract to {output_format} (median of {REPEATS})",
                        f"{rate:,.0f} resources/s ({rate / baseline_rate:.2f} of the baseline)",
                        f"≥ {TARGET_RESOURCES_PER_S:,.0f}/s", verdict(rate >= TARGET_RESOURCES_PER_S)))
    rows.append(Row(f"incremental extract after {UPDATES} updates",
                    f"{figures['incremental_resources']} resources in {figures['incremental_s'] * 1000:.0f} ms"))
    dbt = figures["dbt"]
    rows.append(Row("dbt build on DuckDB", f"{dbt['models']} models, {dbt['tests_passed']} tests passed in "
                                           f"{figures['dbt_s']:.1f} s", "no failures",
                    verdict(not dbt["failures"], f"{len(dbt['failures'])} failed" if dbt["failures"] else "")))
    return rows
