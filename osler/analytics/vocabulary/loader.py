"""Load an OMOP vocabulary (Athena's tab-separated files) into the DuckDB warehouse's ``vocab`` schema.

Each table is replaced whole, in one transaction: a failed load leaves the previous vocabulary in place.
Dates come as Athena writes them (``YYYYMMDD``). CONCEPT, CONCEPT_RELATIONSHIP and CONCEPT_ANCESTOR are
required; VOCABULARY, DOMAIN and CONCEPT_CLASS are loaded when present (an empty table otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

VOCABULARY_SCHEMA = "vocab"
SHIPPED_SUBSET = Path(__file__).resolve().parent / "data"
# table → (columns with their CDM 5.4 types, required file)
VOCABULARY_TABLES: dict[str, tuple[dict[str, str], bool]] = {
    "concept": ({"concept_id": "integer", "concept_name": "varchar", "domain_id": "varchar",
                 "vocabulary_id": "varchar", "concept_class_id": "varchar", "standard_concept": "varchar",
                 "concept_code": "varchar", "valid_start_date": "date", "valid_end_date": "date",
                 "invalid_reason": "varchar"}, True),
    "concept_relationship": ({"concept_id_1": "integer", "concept_id_2": "integer", "relationship_id": "varchar",
                              "valid_start_date": "date", "valid_end_date": "date", "invalid_reason": "varchar"},
                             True),
    "concept_ancestor": ({"ancestor_concept_id": "integer", "descendant_concept_id": "integer",
                          "min_levels_of_separation": "integer", "max_levels_of_separation": "integer"}, True),
    "vocabulary": ({"vocabulary_id": "varchar", "vocabulary_name": "varchar", "vocabulary_reference": "varchar",
                    "vocabulary_version": "varchar", "vocabulary_concept_id": "integer"}, False),
    "domain": ({"domain_id": "varchar", "domain_name": "varchar", "domain_concept_id": "integer"}, False),
    "concept_class": ({"concept_class_id": "varchar", "concept_class_name": "varchar",
                       "concept_class_concept_id": "integer"}, False),
}


class VocabularyError(Exception):
    """The folder is not an Athena download (a required file is missing or unreadable)."""


def _select(path: Path, columns: dict[str, str]) -> str:
    reader = (f"read_csv('{path}', delim='\t', header=true, quote='', escape='', all_varchar=true, "
              f"null_padding=true)")
    casts = ", ".join(
        f"strptime(nullif({name}, ''), '%Y%m%d')::date as {name}" if kind == "date"
        else f"nullif({name}, '')::{kind} as {name}" if kind != "varchar"
        else (f"coalesce({name}, '') as {name}" if name == "concept_name" else f"nullif({name}, '') as {name}")
        for name, kind in columns.items())
    return f"select {casts} from {reader}"


def load_vocabulary(warehouse: Path, folder: Path,
                    on_table: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Replace the warehouse's vocabulary tables with the files of ``folder``; rows loaded per table.

    ``on_table(name, rows)`` is called as each table is loaded, for a progress display.
    """
    files = {table: folder / f"{table.upper()}.csv" for table in VOCABULARY_TABLES}
    missing = [path.name for table, path in files.items() if VOCABULARY_TABLES[table][1] and not path.is_file()]
    if missing:
        raise VocabularyError(f"{folder} is not an Athena vocabulary download: {', '.join(missing)} missing")
    loaded: dict[str, int] = {}
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("begin")
        connection.execute(f"create schema if not exists {VOCABULARY_SCHEMA}")
        for table, (columns, _) in VOCABULARY_TABLES.items():
            target = f"{VOCABULARY_SCHEMA}.{table}"
            if files[table].is_file():
                try:
                    connection.execute(f"create or replace table {target} as {_select(files[table], columns)}")
                except duckdb.Error as error:
                    connection.execute("rollback")
                    raise VocabularyError(f"{files[table].name} could not be read: {error}") from error
            else:
                empty = ", ".join(f"null::{kind} as {name}" for name, kind in columns.items())
                connection.execute(f"create or replace table {target} as select {empty} where false")
            row = connection.execute(f"select count(*) from {target}").fetchone()
            loaded[table] = int(row[0]) if row else 0
            if on_table is not None:
                on_table(table, loaded[table])
        connection.execute("commit")
    return loaded


def read_vocabulary(folder: Path, table: str) -> list[tuple]:
    """The rows of one vocabulary table's file in ``folder``, typed as the table's columns (none when absent)."""
    path = folder / f"{table.upper()}.csv"
    if not path.is_file():
        return []
    with duckdb.connect() as connection:
        return connection.execute(_select(path, VOCABULARY_TABLES[table][0])).fetchall()


def ensure_vocabulary(warehouse: Path) -> bool:
    """Load the shipped subset when the warehouse has no vocabulary yet; True when it did."""
    if warehouse.exists():
        with duckdb.connect(str(warehouse)) as connection:
            found = connection.execute("select count(*) from information_schema.tables where table_schema = ? "
                                       "and table_name = 'concept'", [VOCABULARY_SCHEMA]).fetchone()
        if found and found[0]:
            return False
    load_vocabulary(warehouse, SHIPPED_SUBSET)
    return True
