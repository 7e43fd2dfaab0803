"""Running a parsed ``SearchQuery`` against the Chronicle's tables (SQLite and PostgreSQL alike).

Owns the top-level statement: type restriction, tombstone exclusion, the choice of the driving
filter, the AND of the filters (built in ``filters.py``) and ``_sort``; ``_include`` /
``_revinclude`` live in ``includes.py``. Everything is SQLAlchemy Core with bound parameters, so
statements of one shape share one compiled form (SQLAlchemy's cache) and one server-side plan.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, FromClause, Select, false, func, select

from osler.chronicle.schema import INDEX_TABLES, resource
from osler.chronicle.search.filters import (
    can_drive,
    condition,
    drive_rank,
    needs_type_column,
    param_rows,
    type_clause,
)
from osler.chronicle.search.model import SearchQuery
from osler.fhir import search_parameters as registry
from osler.fhir.indexing import RESOURCE_TABLE_PARAMS


def match_pks(conn: Connection, query: SearchQuery) -> list[int]:
    """Every matching, non-deleted resource pk, ordered by ``query.sort`` then pk."""
    return list(conn.execute(match_statement(query, conn.dialect.name)).scalars())


def match_statement(query: SearchQuery, dialect: str) -> Select:
    """The ``SELECT pk`` for ``query``; separate from ``match_pks`` so plans can be inspected."""
    res = resource
    drivers = [f for f in query.filters if can_drive(f)]
    driver = min(drivers, key=drive_rank) if drivers else None
    where: list[ColumnElement[bool]] = [res.c.deleted == false()]
    if driver is None or needs_type_column(driver):
        # With an index-table driver the type is implied, and testing it would lure SQLite into
        # scanning every resource of the type through ix_resource_type_updated instead.
        where.extend(type_clause(res.c.res_type, query.types))
    where.extend(condition(f, res, query.types, dialect, drive=f is driver) for f in query.filters)
    order = [*_sort_keys(query, res), res.c.pk]
    return select(res.c.pk).where(*where).order_by(*order)


def _sort_keys(query: SearchQuery, res: FromClause) -> list[ColumnElement]:
    """One ORDER BY term per _sort key: the smallest (ascending) or largest (descending) indexed value.

    A correlated scalar subquery per key reads the few index rows of each matched resource through
    the ``res_pk`` index; resources without a value sort last either way.
    """
    keys: list[ColumnElement] = []
    for code, descending in query.sort:
        if code in RESOURCE_TABLE_PARAMS:
            column: ColumnElement = res.c.res_id if code == "_id" else res.c.last_updated
        else:
            kind = _kind(query.types, code)
            if kind is None:
                continue
            table = INDEX_TABLES[kind]
            aggregate = func.max if descending else func.min
            column = select(aggregate(_sort_column(kind, table, descending))).where(
                table.c.res_pk == res.c.pk, param_rows(table, code, query.types)).scalar_subquery()
        keys.append(column.desc().nulls_last() if descending else column.asc().nulls_last())
    return keys


def _kind(types: tuple[str, ...] | None, code: str) -> str | None:
    for res_type in types or ("Patient",):  # any type has the common parameters a system sort may use
        found = registry.param(res_type, code)
        if found is not None and found.type in INDEX_TABLES:
            return found.type
    return None


def _sort_column(kind: str, table: FromClause, descending: bool) -> ColumnElement:
    c = table.c
    if kind == "string":
        return c.value_norm
    if kind == "token":
        return c.code
    if kind == "date":
        return c.high if descending else c.low  # a range sorts by its start going up, its end going down
    if kind in ("number", "quantity", "uri"):
        return c.value
    return func.coalesce(c.target_type + "/" + c.target_id, c.url)  # reference
