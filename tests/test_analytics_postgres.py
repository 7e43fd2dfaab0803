"""The whole dbt project on PostgreSQL: the extract loaded into it, then staging → reporting → warehouse → OMOP
built there by ``build`` (``OSLER_ANALYTICS_TARGET=postgres``) with every dbt test passing, giving the same
tables as the DuckDB build of the same extract — the hand-built clinic of tests/warehouse_population.py,
type-2 patient history included. Then a second night's part goes through the incremental build there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy.engine import make_url

from osler.analytics.layout import AnalyticsLayout
from osler.analytics.parts import PARQUET_SCHEMA
from osler.analytics.transform import TransformReport, build
from tests.conftest import PostgresCluster
from tests.warehouse_population import built_warehouse, patient, write_parts

DATABASE = "osler_analytics_postgres"
BUILT_SCHEMAS = ("staging", "intermediate", "reporting", "warehouse", "omop")


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> tuple[AnalyticsLayout, TransformReport]:
    """The clinic's DuckDB build (shared with the warehouse tests), made before the target switches."""
    layout, report = built_warehouse(tmp_path_factory.mktemp("clinic"))
    assert report is not None and report.ok, report
    return layout, report


@pytest.fixture
def on_postgres(postgres_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh database, named to ``build`` (and the dbt profile) by the OSLER_ANALYTICS_* variables."""
    import psycopg

    url = make_url(postgres_cluster.create_database(DATABASE))
    for name, value in {"OSLER_ANALYTICS_TARGET": "postgres", "OSLER_ANALYTICS_PG_HOST": url.host or "127.0.0.1",
                        "OSLER_ANALYTICS_PG_PORT": str(url.port or 5432), "OSLER_ANALYTICS_PG_USER": url.username or "",
                        "OSLER_ANALYTICS_PG_PASSWORD": url.password or "",
                        "OSLER_ANALYTICS_PG_DATABASE": url.database or ""}.items():
        monkeypatch.setenv(name, value)
    try:
        with psycopg.connect(url.set(drivername="postgresql").render_as_string(False), autocommit=True) as connection:
            yield connection
    finally:
        postgres_cluster.drop_database(DATABASE)


def duckdb_rows(layout: AnalyticsLayout, sql: str) -> list[tuple]:
    """``sql`` on the DuckDB warehouse; its tables are named ``{db}schema.table`` (the file is also a catalog
    named warehouse, so DuckDB needs it spelled out)."""
    with duckdb.connect(str(layout.warehouse), read_only=True) as connection:
        return connection.execute(sql.format(db="warehouse.")).fetchall()


def postgres_rows(connection: Any, sql: str) -> list[tuple]:
    return connection.execute(sql.format(db="")).fetchall()


def test_the_project_builds_and_passes_its_tests_on_postgres(clinic: tuple[AnalyticsLayout, TransformReport],
                                                              on_postgres: Any, tmp_path: Path) -> None:
    on_duckdb, duckdb_report = clinic
    layout = AnalyticsLayout(tmp_path / "postgres" / "analytics")
    write_parts(layout)

    report = build(layout)
    assert report.ok, report.failures
    assert (report.models_built, report.tests_passed, report.tests_warned, report.rejects) == (
        duckdb_report.models_built, duckdb_report.tests_passed, 0, 0)
    tables = duckdb_rows(on_duckdb, "select table_schema, table_name from information_schema.tables "
                                   f"where table_schema in {BUILT_SCHEMAS} order by 1, 2")
    assert len(tables) == report.models_built
    counting = {f"{schema}.{name}": f'select count(*) from {{db}}{schema}."{name}"' for schema, name in tables}
    counts = {table: postgres_rows(on_postgres, sql)[0][0] for table, sql in counting.items()}
    assert counts == {table: duckdb_rows(on_duckdb, sql)[0][0] for table, sql in counting.items()}
    # The same keys (md5 → bigint on both engines), the same type-2 history, calendar and OMOP ids.
    for sql in ("select PatientKey, DurableKey, PatientEpicId, City, StartDate, EndDate, IsCurrent "
                'from {db}warehouse."PatientDim" order by 1',
                'select DateKey, IsoWeekName, DayName, IsWeekend from {db}warehouse."DateDim" order by 1',
                "select EncounterKey, PatientKey, DepartmentKey, ProviderKey, DateKey "
                'from {db}warehouse."EncounterFact" order by 1',
                "select person_id, person_source_value, gender_concept_id, race_concept_id from {db}omop.person "
                "order by 1",
                'select PAT_ID, PAT_MRN_ID, PAT_NAME, SEX, BIRTH_DATE from {db}reporting."PATIENT" order by 1'):
        assert postgres_rows(on_postgres, sql) == duckdb_rows(on_duckdb, sql), sql
    assert on_postgres.execute('select City, StartDate, IsCurrent from warehouse."PatientDim" '
                               "where PatientEpicId = 'f01' order by StartDate").fetchall() == [
        ("Boston", dt.date(2026, 1, 5), False), ("Somerville", dt.date(2026, 3, 10), False),
        ("Boston", dt.date(2026, 8, 1), True)]

    # The next night on PostgreSQL: a new patient and f00 moved — only that part is loaded and staged.
    loaded = on_postgres.execute("select count(*) from extract.fhir_resource").fetchone()[0]
    write_night(layout, [patient("n01", "female", "18-34"), patient("f00", "female", "0-17", city="Salem")])
    again = build(layout)
    assert again.ok, again.failures
    assert on_postgres.execute("select count(*) from extract.fhir_resource").fetchone()[0] == loaded + 2
    assert on_postgres.execute("select extract_seq, count(*) from staging.stg_fhir__patient group by 1 "
                               "order by 1 desc limit 1").fetchall() == [(9999, 2)]
    assert on_postgres.execute('select PAT_ID, CITY from reporting."PATIENT" '
                               "where PAT_ID in ('n01', 'f00') order by 1").fetchall() == [
        ("f00", "Salem"), ("n01", "Boston")]
    assert on_postgres.execute('select count(*) from staging.stg_fhir__patient').fetchone()[0] == counts[
        "staging.stg_fhir__patient"] + 1


def write_night(layout: AnalyticsLayout, patients: list[dict[str, Any]]) -> None:
    """A part as the next night's extract writes it: these patients, at change 9999, version 2."""
    folder = layout.extract_dir("parquet") / "Patient"
    table = pa.Table.from_pydict({
        "res_id": [p["id"] for p in patients], "version": [2] * len(patients),
        "last_updated": [dt.datetime(2026, 11, 23, 8, tzinfo=dt.UTC)] * len(patients),
        "deleted": [False] * len(patients), "seq": [9999] * len(patients),
        "resource": [orjson.dumps(p).decode() for p in patients]}, schema=PARQUET_SCHEMA)
    pq.write_table(table, folder / "part-009999-009999.parquet")
