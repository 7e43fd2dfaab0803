"""Row-level writes inside an open transaction: versions, index rows, the change feed, audit.

Nothing here validates or decides; ``store`` and ``transactions`` prepare each write (validated,
versioned, indexed) and call these inside the one database transaction that makes it durable.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from osler.chronicle.records import Actor, Stored
from osler.chronicle.schema import (
    INDEX_TABLES,
    audit_event,
    change_feed,
    resource,
    resource_history,
)
from osler.fhir.index_types import ENTRY_KINDS


class StaleVersion(Exception):
    """The current version moved between preparing a write and applying it."""


@dataclass
class PreparedWrite:
    """A write computed outside the transaction: the new version's JSON and its index rows."""

    res_type: str
    res_id: str
    version: int
    last_updated: int
    content: str | None
    index_rows: list[NamedTuple]
    method: str  # POST | PUT | PATCH | DELETE
    expected_version: int | None  # the current version this write replaces; None = creates


# Built once: constructing a SQLAlchemy statement costs more than running it against SQLite, and
# this is the read-by-id hot path (measured: 3,200 → 10,000 reads/s in-process).
_CURRENT = (select(resource.c.pk, resource.c.version, resource.c.last_updated, resource.c.content,
                   resource.c.deleted)
            .where(resource.c.res_type == bindparam("res_type"), resource.c.res_id == bindparam("res_id")))
_CURRENT_FOR_UPDATE = _CURRENT.with_for_update()


def current_row(conn: Connection, res_type: str, res_id: str, *, for_update: bool = False) -> Stored | None:
    """The current version; ``for_update`` locks its row on PostgreSQL until the transaction ends
    (SQLite's BEGIN IMMEDIATE already holds the whole database)."""
    statement = _CURRENT_FOR_UPDATE if for_update else _CURRENT
    row = conn.execute(statement, {"res_type": res_type, "res_id": res_id}).first()
    if row is None:
        return None
    return Stored(res_type, res_id, row.version, row.last_updated, row.content, row.deleted, row.pk)


def apply_write(conn: Connection, write: PreparedWrite, actor: Actor) -> Stored:
    """Store one prepared version: current row, history, index, change feed, audit."""
    return apply_writes(conn, [write], actor)[0]


def apply_writes(conn: Connection, writes: list[PreparedWrite], actor: Actor) -> list[Stored]:
    """Store prepared versions in bulk, one statement per table where possible.

    Bulk matters: a 344-resource Synthea bundle is ~4,000 single-row statements otherwise, most of
    the time SQLite's single write lock is held during ingest.
    """
    creates = [w for w in writes if w.expected_version is None]
    pks: dict[int, int] = {}
    if creates:
        inserted = conn.execute(
            insert(resource).returning(resource.c.pk, sort_by_parameter_order=True),
            [{"res_type": w.res_type, "res_id": w.res_id, "version": w.version, "last_updated": w.last_updated,
              "deleted": w.method == "DELETE", "content": w.content} for w in creates],
        ).all()
        pks.update((id(w), row.pk) for w, row in zip(creates, inserted, strict=True))
    for write in writes:
        if write.expected_version is not None:
            pks[id(write)] = _replace_current(conn, write)
    stored = [Stored(w.res_type, w.res_id, w.version, w.last_updated, w.content, w.method == "DELETE",
                     pks[id(w)]) for w in writes]
    conn.execute(insert(resource_history), [
        {"res_pk": s.pk, "version": s.version, "res_type": s.res_type, "res_id": s.res_id,
         "last_updated": s.last_updated, "method": w.method, "deleted": s.deleted, "content": s.content}
        for w, s in zip(writes, stored, strict=True)])
    insert_index(conn, [(s.pk, s.res_type, w.index_rows) for w, s in zip(writes, stored, strict=True)])
    ops = [{"POST": "create", "DELETE": "delete"}.get(w.method, "update") for w in writes]
    conn.execute(insert(change_feed), [
        {"res_type": s.res_type, "res_id": s.res_id, "version": s.version, "op": op, "ts": s.last_updated}
        for s, op in zip(stored, ops, strict=True)])
    conn.execute(insert(audit_event), [
        {"ts": s.last_updated, "actor": actor.name, "action": op, "res_type": s.res_type, "res_id": s.res_id,
         "version": s.version, "purpose": actor.purpose, "outcome": "success", "detail": None}
        for s, op in zip(stored, ops, strict=True)])
    return stored


def _replace_current(conn: Connection, write: PreparedWrite) -> int:
    row = conn.execute(
        update(resource)
        .where(resource.c.res_type == write.res_type, resource.c.res_id == write.res_id,
               resource.c.version == write.expected_version)
        .values(version=write.version, last_updated=write.last_updated, deleted=write.method == "DELETE",
                content=write.content)
        .returning(resource.c.pk)
    ).first()
    if row is None:
        raise StaleVersion(f"{write.res_type}/{write.res_id} changed since version {write.expected_version}")
    delete_index(conn, row.pk)
    return row.pk


def insert_index(conn: Connection, resources: list[tuple[int, str, list[NamedTuple]]]) -> None:
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for pk, res_type, rows in resources:
        for row in rows:
            values = row._asdict()
            values["res_pk"] = pk
            values["res_type"] = res_type
            by_kind[ENTRY_KINDS[type(row)]].append(values)
    for kind, values in by_kind.items():
        conn.execute(insert(INDEX_TABLES[kind]), values)


def delete_index(conn: Connection, pk: int) -> None:
    for table in INDEX_TABLES.values():
        conn.execute(delete(table).where(table.c.res_pk == pk))
