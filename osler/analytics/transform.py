"""The transform: ``dbt build`` of the project in ``dbt/`` over the extract (Epic: Clarity's ETL, Caboodle's packages).

Runs dbt in-process through ``dbtRunner``, against DuckDB by default (``OSLER_HOME/analytics/warehouse.duckdb``),
or PostgreSQL when ``OSLER_ANALYTICS_TARGET=postgres`` (``osler.analytics.postgres`` loads the extract there
first). Staging is incremental (each model re-reads only the changes after the newest it holds);
``full_refresh`` rebuilds every table. dbt's ``target/`` and ``logs/`` go
under ``OSLER_HOME/analytics/dbt``, never into the package. The report counts models built and tests passed,
and the rows of the ``rejects`` table (what could not be mapped).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from osler.analytics import postgres
from osler.analytics.layout import AnalyticsLayout
from osler.analytics.vocabulary import ensure_vocabulary
from osler.config import Settings

PROJECT_DIR = Path(__file__).resolve().parent / "dbt"
# No phoning home, no update checks: a nightly job must run offline.
DBT_ENVIRONMENT = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_VERSION_CHECK": "false", "DO_NOT_TRACK": "1"}


class TransformFailed(Exception):
    """dbt could not run at all (a broken project or an unreachable warehouse), or a model or test failed."""


@dataclass
class TransformReport:
    models_built: int = 0
    tests_passed: int = 0
    tests_warned: int = 0
    failures: list[str] = field(default_factory=list)  # "<node>: <message>" of each failed model or test
    rejects: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


@contextmanager
def _environment(values: dict[str, str]) -> Any:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def build(layout: AnalyticsLayout, *, mrn_system: str = Settings.mrn_system, full_refresh: bool = False,
          changed_types: Collection[str] | None = None,
          on_node: Callable[[str, str], None] | None = None) -> TransformReport:
    """``dbt build`` the models and their tests over ``layout``'s Parquet extract into its warehouse.

    ``mrn_system`` is the identifier system of the MRNs (``Settings.mrn_system``) that PATIENT.PAT_MRN_ID shows.
    ``full_refresh`` rebuilds every table (else staging re-reads only what changed since it was built).
    ``changed_types``: the resource types with new parts since the last build, when known; only the staging
    models that read them (tagged ``fhir_<Type>``) and what is downstream of those are built and tested —
    the rest read nothing new (dbt's "build what is fresher" pattern). None or empty builds everything.
    ``on_node(name, status)`` is called as each model or test finishes, for a progress display.
    """
    layout.dbt_target.mkdir(parents=True, exist_ok=True)
    layout.dbt_logs.mkdir(parents=True, exist_ok=True)
    on_postgres = postgres.PostgresWarehouse.from_environment()
    if on_postgres is None:
        _ensure_vocabulary(layout)
    else:
        _prepare_postgres(layout, on_postgres, full_refresh)
    # The results come back in-process: no run_results.json/manifest.json to write (~2 s of every run).
    arguments = [*dbt_arguments("build", layout, mrn_system), "--no-write-json"]
    if full_refresh:
        arguments.append("--full-refresh")
    elif changed_types:
        arguments += ["--select", *(f"tag:fhir_{res_type}+" for res_type in sorted(changed_types))]
    report = _invoke(arguments, layout, on_postgres is None, on_node)
    if report.models_built:
        report.rejects = count_rejects(layout) if on_postgres is None else postgres.count_rejects(on_postgres)
    return report


def run_tests(layout: AnalyticsLayout, *, select: list[str] | None = None,
              mrn_system: str = Settings.mrn_system) -> TransformReport:
    """``dbt test`` over the warehouse as it stands (only the tests of the ``select`` models if given)."""
    arguments = [*dbt_arguments("test", layout, mrn_system), "--no-write-json",
                 *(["--select", *select] if select else [])]
    return _invoke(arguments, layout, postgres.PostgresWarehouse.from_environment() is None, None)


def _invoke(arguments: list[str], layout: AnalyticsLayout, on_duckdb: bool,
            on_node: Callable[[str, str], None] | None) -> TransformReport:
    """Run dbt in-process and count what it built, passed and failed."""
    from dbt.cli.main import dbtRunner

    report = TransformReport()

    def listen(event: Any) -> None:
        if on_node is not None and event.info.name in ("LogModelResult", "LogTestResult"):
            on_node(event.data.node_info.node_name, event.data.status)

    with _environment({**DBT_ENVIRONMENT, "OSLER_ANALYTICS_DUCKDB": str(layout.warehouse)}):
        try:
            outcome = dbtRunner(callbacks=[listen]).invoke(arguments)
        finally:
            if on_duckdb:
                _release_warehouse()
    if outcome.exception is not None:
        raise TransformFailed(f"dbt could not run: {outcome.exception}")
    for result in outcome.result or []:
        kind, status = result.node.resource_type, str(result.status)
        if kind == "model" and status == "success":
            report.models_built += 1
        elif kind == "test" and status == "pass":
            report.tests_passed += 1
        elif kind == "test" and status == "warn":
            report.tests_warned += 1
        elif status in ("error", "fail", "skipped"):
            report.failures.append(f"{result.node.name}: {status}{': ' + result.message if result.message else ''}")
    return report


def dbt_arguments(command: str, layout: AnalyticsLayout, mrn_system: str = Settings.mrn_system) -> list[str]:
    """The command line of ``dbt <command>`` over ``layout`` (its extract, target and log directories)."""
    variables = {"extract_dir": str(layout.extract_dir("parquet")), "mrn_system": mrn_system}
    return [command, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
            "--target-path", str(layout.dbt_target), "--log-path", str(layout.dbt_logs),
            "--vars", orjson.dumps(variables).decode(), "--log-level", "none", "--no-use-colors"]


def parse(layout: AnalyticsLayout, *, mrn_system: str = Settings.mrn_system) -> None:
    """``dbt parse`` into ``layout``'s target directory, so that the next build reuses the parsed project."""
    from dbt.cli.main import dbtRunner

    with _environment({**DBT_ENVIRONMENT, "OSLER_ANALYTICS_DUCKDB": str(layout.warehouse)}):
        outcome = dbtRunner().invoke(dbt_arguments("parse", layout, mrn_system))
    if outcome.exception is not None or not outcome.success:
        raise TransformFailed(f"dbt could not parse the project: {outcome.exception}")


def _prepare_postgres(layout: AnalyticsLayout, warehouse: postgres.PostgresWarehouse, full_refresh: bool) -> None:
    """Load the extract's new rows (all of them for a full refresh) and, the first time, the vocabulary."""
    try:
        postgres.load_extract(layout, warehouse, full=full_refresh)
        postgres.ensure_vocabulary(warehouse)
    except Exception as error:  # psycopg.Error, an unreachable server: one line for the command
        raise TransformFailed(f"cannot load the extract into {warehouse.describe()}: {error}") from error


def _ensure_vocabulary(layout: AnalyticsLayout) -> None:
    """The OMOP models map codes through the warehouse's vocabulary: load the shipped subset if it has none."""
    import duckdb

    try:
        ensure_vocabulary(layout.warehouse)
    except duckdb.Error as error:  # the warehouse is locked by another process
        raise TransformFailed(f"cannot load the OMOP vocabulary into {layout.warehouse}: {error}") from error


def _release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the life of the process, so that this
    process (a test, the web app) can open the warehouse file again, read-only or not."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    try:
        environment = DuckDBConnectionManager.env()
    except Exception:  # dbt never opened it (it failed before connecting)
        return
    environment.close()
    DuckDBConnectionManager.close_all_connections()


def count_rejects(layout: AnalyticsLayout) -> int:
    """Rows in ``reporting.rejects``: resources the transform could not map (0 when it was not built)."""
    import duckdb

    with duckdb.connect(str(layout.warehouse), read_only=True) as connection:
        found = connection.execute("select count(*) from information_schema.tables "
                                   "where table_schema = 'reporting' and table_name = 'rejects'").fetchone()
        if not found or not found[0]:
            return 0
        row = connection.execute("select count(*) from reporting.rejects").fetchone()
        return int(row[0]) if row else 0
