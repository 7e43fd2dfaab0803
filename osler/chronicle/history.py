"""History queries: one version, the current version by pk, and instance/type/system history pages.

A history page is anchored at the newest version when its first page was read, so later writes
never shift the pages a client is walking through.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, or_, select

from osler.chronicle.records import HistoryEntry, Stored
from osler.chronicle.schema import resource, resource_history

H = resource_history.c


@dataclass
class HistoryPage:
    entries: list[HistoryEntry]
    total: int
    offset: int
    count: int
    anchor: int  # the last_updated instant the pages are frozen at


def _stored(row) -> Stored:  # type: ignore[no-untyped-def]
    return Stored(row.res_type, row.res_id, row.version, row.last_updated, row.content, row.deleted, row.res_pk)


def version_of(conn: Connection, res_type: str, res_id: str, version: int) -> Stored | None:
    row = conn.execute(select(resource_history).where(H.res_type == res_type, H.res_id == res_id,
                                                      H.version == version)).first()
    return _stored(row) if row else None


def current_by_pk(conn: Connection, pk: int) -> Stored | None:
    row = conn.execute(select(resource).where(resource.c.pk == pk)).first()
    if row is None:
        return None
    return Stored(row.res_type, row.res_id, row.version, row.last_updated, row.content, row.deleted, row.pk)


def history_page(conn: Connection, *, res_type: str | None, res_id: str | None, since: int | None,
                 anchor: int | None, offset: int, count: int) -> HistoryPage:
    """Versions newest first, filtered to a type or one instance, optionally ``_since`` an instant."""
    conditions = []
    if res_type is not None:
        conditions.append(H.res_type == res_type)
    if res_id is not None:
        conditions.append(H.res_id == res_id)
    if since is not None:
        conditions.append(H.last_updated >= since)
    if anchor is None:
        anchor = conn.execute(select(func.max(H.last_updated)).where(*conditions)).scalar() or 0
    conditions.append(H.last_updated <= anchor)
    where = and_(*conditions) if conditions else or_(True)
    total = conn.execute(select(func.count()).select_from(resource_history).where(where)).scalar_one()
    rows = conn.execute(select(resource_history).where(where)
                        .order_by(H.last_updated.desc(), H.res_pk.desc(), H.version.desc())
                        .offset(offset).limit(count)).all()
    entries = [HistoryEntry(_stored(row), row.method) for row in rows]
    return HistoryPage(entries, total, offset, count, anchor)
