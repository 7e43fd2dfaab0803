"""``_include`` / ``_revinclude`` (and their ``:iterate`` forms) for a page of search results.

Owns following references out of the page (include) and into it (revinclude) through
``idx_reference``, level by level. Each level first reads the (pk, type, id) of its resources, so
every statement can hand the database plain lists — ``res_pk IN (...)`` for includes,
``target_id IN (...)`` per target type for revincludes — that it answers from the reference table's
indexes, with no join order for the planner to get wrong.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection, Select, and_, false, select, union

from osler.chronicle.schema import idx_reference, resource
from osler.chronicle.search.filters import param_rows
from osler.chronicle.search.model import Include, SearchQuery

# How many levels :iterate follows beyond the first; the spec lets servers bound it, and one extra
# level covers the common cases (MedicationRequest -> Medication -> Organization; Encounter ->
# Patient -> Practitioner) without letting a request walk the whole graph.
ITERATE_LEVELS = 1

_Level = list[tuple[int, str, str]]  # (pk, res_type, res_id) of the resources a level starts from


def include_pks(conn: Connection, query: SearchQuery, page_pks: list[int]) -> list[int]:
    """The resources ``_include``d / ``_revinclude``d by the page, then the :iterate ones one level on.

    Excludes the page itself and deleted resources; no duplicates; each level in pk order.
    """
    if not page_pks or not (query.includes or query.revincludes):
        return []
    seen = set(page_pks)
    found: list[int] = []
    level = _new(conn, query.includes, query.revincludes, page_pks, seen)
    found.extend(level)
    iterating = [i for i in query.includes if i.iterate], [i for i in query.revincludes if i.iterate]
    for _ in range(ITERATE_LEVELS):
        if not level or not (iterating[0] or iterating[1]):
            break
        level = _new(conn, iterating[0], iterating[1], level, seen)
        found.extend(level)
    return found


def _new(conn: Connection, includes: Iterable[Include], revincludes: Iterable[Include], pks: list[int],
         seen: set[int]) -> list[int]:
    rows: _Level = [(r.pk, r.res_type, r.res_id) for r in conn.execute(
        select(resource.c.pk, resource.c.res_type, resource.c.res_id).where(resource.c.pk.in_(pks)))]
    selects = [s for i in includes if (s := _include_select(i, rows)) is not None]
    selects += [s for i in revincludes for s in _revinclude_selects(i, rows)]
    if not selects:
        return []
    statement = selects[0] if len(selects) == 1 else union(*selects)
    fresh = [pk for pk in conn.execute(statement.order_by("pk")).scalars() if pk not in seen]
    fresh = list(dict.fromkeys(fresh))
    seen.update(fresh)
    return fresh


def _include_select(include: Include, rows: _Level) -> Select | None:
    """Targets of the ``include.param`` references held by the level's ``source_type`` resources."""
    sources = [pk for pk, res_type, _ in rows if include.source_type in (None, res_type)]
    if not sources:
        return None
    ref, target = idx_reference, resource
    where = [ref.c.res_pk.in_(sources), target.c.deleted == false()]
    if include.param is not None:
        where.append(param_rows(ref, include.param, _source_types(include)))
    if include.target_type is not None:
        where.append(ref.c.target_type == include.target_type)
    joined = ref.join(target, and_(target.c.res_type == ref.c.target_type, target.c.res_id == ref.c.target_id))
    return select(target.c.pk.label("pk")).select_from(joined).where(*where)


def _revinclude_selects(include: Include, rows: _Level) -> list[Select]:
    """``source_type`` resources whose ``include.param`` refers to one of the level's resources.

    One statement per target type (not an OR of them) so each one is an index lookup on
    (res_type, param, target_id IN ..., target_type).
    """
    by_type: dict[str, list[str]] = defaultdict(list)
    for _, res_type, res_id in rows:
        if include.target_type in (None, res_type):
            by_type[res_type].append(res_id)
    ref = idx_reference
    selects = []
    for res_type, ids in by_type.items():
        where = [ref.c.res_type == include.source_type, ref.c.target_id.in_(ids), ref.c.target_type == res_type]
        if include.param is not None:
            where.append(param_rows(ref, include.param, _source_types(include)))
        selects.append(select(ref.c.res_pk.label("pk")).where(*where))
    return selects


def _source_types(include: Include) -> tuple[str, ...] | None:
    return (include.source_type,) if include.source_type is not None else None
