"""Write the de-identified OMOP tables as Parquet (one file per table) from the warehouse, read-only.

Pseudonyms: for each id pool (``person_id``, ``visit_occurrence_id``, …) every distinct id in any table gets
a number from a random permutation drawn for this export, in an in-memory database that is discarded; the
same person has the same pseudonym in every table of one export, and a different one in the next export.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from osler.analytics.deid.policy import AGE_CEILING, RESTRICTED_ZIP3, column_rule, id_pool

SOURCE_SCHEMA = "omop"


class DeidError(Exception):
    """The export cannot be written (no OMOP tables, or the output folder is not empty)."""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _columns(connection: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    rows = connection.execute("select table_name, column_name, data_type from information_schema.columns "
                              "where table_catalog = 'warehouse' and table_schema = ? "
                              "order by table_name, ordinal_position", [SOURCE_SCHEMA]).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, []).append((column, data_type))
    return tables


def _draw_pseudonyms(connection: duckdb.DuckDBPyConnection, tables: dict[str, list[tuple[str, str]]]) -> None:
    pools: dict[str, list[str]] = {}
    for table, columns in tables.items():
        for column, data_type in columns:
            if column_rule(column, data_type) == "pseudonym":
                pools.setdefault(id_pool(column), []).append(
                    f"select {column} as original from warehouse.{SOURCE_SCHEMA}.{table}")
    for pool, selects in pools.items():
        connection.execute(f"create temp table pool_{pool} as select original, "
                           f"row_number() over (order by shuffle) as pseudonym from "
                           f"(select original, random() as shuffle from (select distinct original from "
                           f"({' union '.join(selects)}) where original is not null))")


def _expressions(table: str, columns: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """The select list and joins that de-identify ``table`` (aliased t)."""
    selected, joins = [], []
    for column, data_type in columns:
        rule = column_rule(column, data_type)
        if rule in ("keep", "concept") and not (table == "person" and column == "year_of_birth"):
            selected.append(f"t.{column}")
        elif rule == "pseudonym":
            alias = f"p_{column}"
            joins.append(f"left join pool_{id_pool(column)} as {alias} on {alias}.original = t.{column}")
            selected.append(f"{alias}.pseudonym as {column}")
        elif rule == "year":
            selected.append(f"extract(year from t.{column}) as {column.removesuffix('_date')}_year")
        elif rule == "zip3":
            restricted = ", ".join(_quote(zip3) for zip3 in sorted(RESTRICTED_ZIP3))
            selected.append(f"case when t.zip is null or length(t.zip) < 3 then null "
                            f"when left(t.zip, 3) in ({restricted}) then '000' else left(t.zip, 3) end as zip3")
    if table == "person":
        age = (f"coalesce(extract(year from (select max(death_date) from warehouse.{SOURCE_SCHEMA}.death as d "
               f"where d.person_id = t.person_id)), extract(year from current_date)) - t.year_of_birth")
        selected.append(f"case when {age} > {AGE_CEILING} then null else t.year_of_birth end as year_of_birth")
        selected.append(f"coalesce({age} > {AGE_CEILING}, false) as age_90_or_older")
    return selected, joins


def export_deidentified(warehouse: Path, out_dir: Path) -> dict[str, int]:
    """Write ``<table>.parquet`` for each OMOP table of ``warehouse`` into ``out_dir``; rows written per table."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise DeidError(f"{out_dir} is not empty: choose a new folder for the export")
    written: dict[str, int] = {}
    with duckdb.connect(":memory:") as connection:
        connection.execute(f"attach {_quote(str(warehouse))} as warehouse (read_only)")
        tables = _columns(connection)
        if "person" not in tables:
            raise DeidError(f"{warehouse} has no OMOP tables: run `osler etl` first")
        _draw_pseudonyms(connection, tables)
        staging = out_dir.parent / f".{out_dir.name}.partial"
        staging.mkdir(parents=True, exist_ok=True)
        for table, columns in tables.items():
            selected, joins = _expressions(table, columns)
            query = (f"select {', '.join(selected)} from warehouse.{SOURCE_SCHEMA}.{table} as t {' '.join(joins)} "
                     f"order by random()")
            target = staging / f"{table}.parquet"
            connection.execute(f"copy ({query}) to {_quote(str(target))} (format parquet)")
            row = connection.execute(f"select count(*) from read_parquet({_quote(str(target))})").fetchone()
            written[table] = int(row[0]) if row else 0
    if out_dir.exists():
        out_dir.rmdir()
    os.replace(staging, out_dir)
    return written
