"""PostgreSQL as the warehouse: what dbt-postgres cannot do itself — load the extract and the vocabulary.

``OSLER_ANALYTICS_TARGET=postgres`` (with ``OSLER_ANALYTICS_PG_HOST``, ``_PORT``, ``_USER``, ``_PASSWORD``,
``_DATABASE``; the same variables the dbt profile reads) makes ``osler etl`` build there instead of DuckDB.
Staging then reads ``extract.fhir_resource`` (one row per row of the Parquet parts, the JSON as ``jsonb``),
which ``load_extract`` fills: everything on a full build, else only the rows of changes it does not hold yet.
The OMOP vocabulary is the shipped subset unless one was loaded (``vocab`` schema), as on DuckDB.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from osler.analytics.layout import AnalyticsLayout
from osler.analytics.vocabulary.loader import SHIPPED_SUBSET, VOCABULARY_SCHEMA, VOCABULARY_TABLES, read_vocabulary

TARGET_VARIABLE = "OSLER_ANALYTICS_TARGET"
EXTRACT_TABLE = "extract.fhir_resource"
COPY_BATCH = 10_000


@dataclass(frozen=True)
class PostgresWarehouse:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_environment(cls) -> PostgresWarehouse | None:
        """The warehouse the dbt profile's ``postgres`` target names, when ``OSLER_ANALYTICS_TARGET`` picks it."""
        if os.environ.get(TARGET_VARIABLE, "duckdb") != "postgres":
            return None
        return cls(os.environ.get("OSLER_ANALYTICS_PG_HOST", "127.0.0.1"),
                   int(os.environ.get("OSLER_ANALYTICS_PG_PORT", "5432")),
                   os.environ.get("OSLER_ANALYTICS_PG_USER", "osler"),
                   os.environ.get("OSLER_ANALYTICS_PG_PASSWORD", ""),
                   os.environ.get("OSLER_ANALYTICS_PG_DATABASE", "osler_analytics"))

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=self.database)

    def describe(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"


def load_extract(layout: AnalyticsLayout, warehouse: PostgresWarehouse, *, full: bool) -> int:
    """Copy the Parquet parts into ``extract.fhir_resource`` (all of them when ``full``, else the rows of changes
    newer than it holds), in one transaction; the number of rows copied."""
    copied = 0
    with warehouse.connect() as connection:
        connection.execute("create schema if not exists extract")
        connection.execute(f"create table if not exists {EXTRACT_TABLE} (res_type text not null, res_id text not null, "
                           "version integer not null, last_updated timestamptz not null, deleted boolean not null, "
                           "seq bigint not null, resource jsonb)")
        connection.execute(f"create index if not exists fhir_resource_type_seq on {EXTRACT_TABLE} (res_type, seq)")
        if full:
            connection.execute(f"truncate {EXTRACT_TABLE}")
        held = connection.execute(f"select coalesce(max(seq), 0) from {EXTRACT_TABLE}").fetchone()[0]
        for part in sorted(layout.extract_dir("parquet").glob("*/part-*.parquet")):
            if int(part.stem.split("-")[-1]) <= held:
                continue
            copied += _copy_part(connection, part, held)
        connection.execute(f"analyze {EXTRACT_TABLE}")
    return copied


def _copy_part(connection: Any, part: Path, newer_than: int) -> int:
    res_type, copied = part.parent.name, 0
    columns = ["res_id", "version", "last_updated", "deleted", "seq", "resource"]
    with connection.cursor().copy(f"copy {EXTRACT_TABLE} (res_type, {', '.join(columns)}) from stdin") as copy:
        for batch in pq.ParquetFile(part).iter_batches(COPY_BATCH, columns=columns):
            for row in zip(*(batch.column(name).to_pylist() for name in columns), strict=True):
                if row[4] > newer_than:
                    copy.write_row((res_type, *row))
                    copied += 1
    return copied


def ensure_vocabulary(warehouse: PostgresWarehouse) -> bool:
    """Load the shipped vocabulary subset when the warehouse has none yet; True when it did."""
    with warehouse.connect() as connection:
        found = connection.execute("select count(*) from information_schema.tables where table_schema = %s "
                                   "and table_name = 'concept'", [VOCABULARY_SCHEMA]).fetchone()[0]
        if found:
            return False
        connection.execute(f"create schema if not exists {VOCABULARY_SCHEMA}")
        for table, (columns, _) in VOCABULARY_TABLES.items():
            types = {"varchar": "text"}
            connection.execute(f"create table {VOCABULARY_SCHEMA}.{table} "
                               f"({', '.join(f'{name} {types.get(kind, kind)}' for name, kind in columns.items())})")
            copying = f"copy {VOCABULARY_SCHEMA}.{table} ({', '.join(columns)}) from stdin"
            with connection.cursor().copy(copying) as copy:
                for row in read_vocabulary(SHIPPED_SUBSET, table):
                    copy.write_row(row)
    return True


def count_rejects(warehouse: PostgresWarehouse) -> int:
    """Rows in ``reporting.rejects`` (0 when it was not built)."""
    with warehouse.connect() as connection:
        if connection.execute("select to_regclass('reporting.rejects')").fetchone()[0] is None:
            return 0
        return int(connection.execute("select count(*) from reporting.rejects").fetchone()[0])
