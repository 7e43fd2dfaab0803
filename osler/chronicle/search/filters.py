"""SQL for one parsed filter: the condition a ``resource`` row (or an alias of it) must meet.

Owns the per-type matching rules (string, token, date, number, quantity, reference, uri, composite,
``_id``, ``_lastUpdated``), ``:missing`` / ``:not``, chaining and ``_has``, and the two shapes a
condition takes: the *driving* one, ``pk IN (SELECT res_pk FROM idx_... WHERE res_type = ? AND
param = ? AND value ...)`` answered from the index table's ``(res_type, param, value)`` B-tree, and
the others, correlated ``EXISTS`` probes through the index tables' ``res_pk`` index. Index rows exist
only for current, non-deleted versions, so a positive filter never needs ``resource.deleted``.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, FromClause, Select, and_, false, or_, select, true, tuple_
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from osler.chronicle.schema import INDEX_TABLES, idx_reference, resource
from osler.chronicle.search.model import (
    ChainFilter,
    CompositeMatch,
    Filter,
    HasFilter,
    IdentifierMatch,
    Match,
    ParamFilter,
    RangeMatch,
    ReferenceMatch,
    StringMatch,
    TextMatch,
    TokenMatch,
    UriMatch,
)
from osler.fhir.derived_params import AnsweredFrom, answered_from

Types = tuple[str, ...] | None

# Subqueries use the tables themselves (uncorrelated ones say so with correlate(None), so a table
# repeated in an inner scope simply shadows the outer one, as SQL scoping does) and this one alias of
# ``resource`` for nested lookups: building a fresh alias per query costs more than the query itself.
_INNER = resource.alias("inner_res")
_HAS_REF = idx_reference.alias("has_ref")


def condition(f: Filter, res: FromClause, types: Types, dialect: str, *, drive: bool = False) \
        -> ColumnElement[bool]:
    """The condition on ``res`` (the ``resource`` table or an alias) for filter ``f``.

    The *driving* filter (``drive``) is an uncorrelated ``res.pk IN (SELECT res_pk ...)``: the
    database reads its few rows from the index table's ``(res_type, param, value)`` B-tree and probes
    the primary key. Every other filter is a correlated ``EXISTS (... WHERE res_pk = res.pk ...)``
    answered through the index tables' ``res_pk`` index for each candidate: SQLite would otherwise
    materialize every ``IN`` list in full (all 30,000 "laboratory" rows to find 20 of one patient).
    PostgreSQL plans both forms as semi-joins and picks its own order.

    ``types`` restricts ``res`` to those resource types (None: any) and keeps the index lookups on
    the leading ``res_type`` column.
    """
    if isinstance(f, ParamFilter):
        if f.kind == "_id":
            return _id_condition(f, res)
        if f.kind == "_lastUpdated":
            return _last_updated_condition(f, res)
        if f.missing is not None and not f.missing:
            return res.c.pk.in_(_index_rows(f, types, dialect)) if drive else _exists(f, res.c.pk, res, types, dialect)
        if f.missing or f.modifier == "not":
            # :missing=true and :not also match resources with no value at all: NOT EXISTS, not a NOT on rows.
            return ~_exists(f, res.c.pk, res, types, dialect)
        return res.c.pk.in_(_index_rows(f, types, dialect)) if drive else _exists(f, res.c.pk, res, types, dialect)
    if isinstance(f, ChainFilter):
        if drive:
            return res.c.pk.in_(_chain_rows(f, types, dialect))
        return _chain_rows(f, types, dialect, correlate_to=res).exists()
    return _has_condition(f, res, types, dialect, drive)


def can_drive(f: Filter) -> bool:
    """Whether ``f`` selects a bounded set of rows by itself (not a negation)."""
    if isinstance(f, ParamFilter):
        return not f.missing and f.modifier != "not" and not (f.kind == "_id" and f.missing is not None)
    return True


def drive_rank(f: Filter) -> int:
    """How selective ``f`` usually is (lower is more): the heuristic that picks the driving filter."""
    if isinstance(f, HasFilter):
        return 4
    if isinstance(f, ChainFilter):
        return 3
    if f.missing is not None:
        return 9
    if f.kind == "_id":
        return 0
    if f.kind == "reference" or f.code == "identifier":
        return 1
    return {"token": 2, "string": 2, "uri": 2, "composite": 3, "quantity": 5, "number": 5, "date": 6,
            "_lastUpdated": 7}.get(f.kind, 8)


def needs_type_column(f: Filter) -> bool:
    """Whether the driving filter ``f`` needs ``resource.res_type`` (index rows imply it otherwise)."""
    return isinstance(f, HasFilter) or (isinstance(f, ParamFilter) and f.kind in ("_id", "_lastUpdated"))


def matching_pks(f: Filter, res_type: str, dialect: str) -> Select:
    """``SELECT pk`` of the ``res_type`` resources that match ``f`` (for chains and ``_has``)."""
    if isinstance(f, ParamFilter) and f.kind not in ("_id", "_lastUpdated") and can_drive(f):
        return _index_rows(f, (res_type,), dialect)  # index rows imply a live resource of that type
    alias = _INNER
    return select(alias.c.pk).where(alias.c.res_type == res_type, alias.c.deleted == false(),
                                    condition(f, alias, (res_type,), dialect, drive=True)).correlate(None)


def type_clause(column: ColumnElement[str], types: Types) -> list[ColumnElement[bool]]:
    """``column`` restricted to ``types``: nothing for None (any type), false for none at all."""
    if types is None:
        return []
    if not types:
        return [false()]  # e.g. _type=Patient&_type=Observation: the intersection is empty
    return [column == types[0]] if len(types) == 1 else [column.in_(types)]


def param_rows(table: FromClause, code: str, types: Types) -> ColumnElement[bool]:
    """The rows of index table ``table`` that belong to parameter ``code`` of ``types``: its own rows, or
    for a derived parameter the rows of the parameters it is made of (``osler.fhir.derived_params``:
    ``patient`` from ``subject`` rows pointing at a Patient, ``combo-code`` from ``code`` and
    ``component-code``). Types that answer ``code`` differently each get their own branch."""
    sources: dict[AnsweredFrom, list[str]] = {}
    for res_type in types or ():
        sources.setdefault(answered_from(res_type, code), []).append(res_type)
    if len(sources) <= 1:
        return _source_rows(table, next(iter(sources), AnsweredFrom((code,))))
    return or_(*(and_(*type_clause(table.c.res_type, tuple(source_types)), _source_rows(table, source))
                 for source, source_types in sources.items()))


def _source_rows(table: FromClause, source: AnsweredFrom) -> ColumnElement[bool]:
    codes = source.codes
    rows = table.c.param == codes[0] if len(codes) == 1 else table.c.param.in_(codes)
    return rows if source.target_type is None else and_(rows, table.c.target_type == source.target_type)


# --------------------------------------------------------------------------- resource columns
def _id_condition(f: ParamFilter, res: FromClause) -> ColumnElement[bool]:
    if f.missing is not None:
        return false() if f.missing else true()  # every resource has an id
    ids = [v.code for v in f.values if isinstance(v, TokenMatch) and v.code]
    column = res.c.res_id
    if f.modifier == "not":
        return column.not_in(ids)
    return column == ids[0] if len(ids) == 1 else column.in_(ids)


def _last_updated_condition(f: ParamFilter, res: FromClause) -> ColumnElement[bool]:
    if f.missing is not None:
        return false() if f.missing else true()
    stamp = res.c.last_updated
    return or_(*(date_match(v, stamp, stamp) for v in f.values if isinstance(v, RangeMatch)))


# --------------------------------------------------------------------------- index tables
def _index_rows(f: ParamFilter, types: Types, dialect: str) -> Select:
    """Uncorrelated ``SELECT res_pk`` of the index rows of ``f``'s parameter matching one of its values.

    For ``:missing`` (no values), every row of the parameter: its presence.
    """
    table = INDEX_TABLES[f.kind]
    where = [*type_clause(table.c.res_type, types), param_rows(table, f.code, types),
             *_value_clause(f, table, dialect)]
    return select(table.c.res_pk).where(*where).correlate(None)


def _exists(f: ParamFilter, pk: ColumnElement[int], outer: FromClause, types: Types,
            dialect: str) -> ColumnElement[bool]:
    """Correlated ``EXISTS``: the resource ``pk`` (a column of ``outer``) has an index row of ``f``'s
    parameter matching one of its values."""
    table = INDEX_TABLES[f.kind]
    # On SQLite, leaving res_type out keeps its planner on the res_pk index (a handful of rows per
    # resource) instead of the (res_type, param, value) one; PostgreSQL costs both properly.
    typed = type_clause(table.c.res_type, types) if dialect != "sqlite" else []
    where = [table.c.res_pk == pk, *typed, param_rows(table, f.code, types), *_value_clause(f, table, dialect)]
    return select(table.c.res_pk).where(*where).correlate(outer).exists()


def _value_clause(f: ParamFilter, table: FromClause, dialect: str) -> list[ColumnElement[bool]]:
    if f.missing is not None:
        return []
    values = list(f.values)
    matches: list[ColumnElement[bool]] = []
    if f.kind == "token" and f.modifier is None:
        matches, values = _token_code_lists(values, table)
    matches += [value_match(f.kind, f.modifier, v, table, dialect) for v in values]
    return [matches[0] if len(matches) == 1 else or_(*matches)]


def _token_code_lists(values: list[Match], table: FromClause) -> tuple[list[ColumnElement[bool]], list[Match]]:
    """``code IN (…) AND system = ?`` for token values that share a system; the other values as they are.

    SQLite answers an OR of (code AND system) pairs by scanning every row of the parameter
    (measured: 31 ms for sixty identifiers); an IN list stays on the (param, code, system) index.
    """
    by_system: dict[str | None, list[str]] = {}
    rest: list[Match] = []
    for v in values:
        if isinstance(v, TokenMatch) and v.code is not None and v.system_given and v.system is not None:
            by_system.setdefault(v.system, []).append(v.code)
        else:
            rest.append(v)
    clauses: list[ColumnElement[bool]] = []
    for system, codes in by_system.items():
        if len(codes) == 1:
            rest.append(TokenMatch(system, codes[0], True))
        else:
            clauses.append(and_(table.c.code.in_(codes), table.c.system == system))
    return clauses, rest


def value_match(kind: str, modifier: str | None, v: Match, t: FromClause,
                dialect: str) -> ColumnElement[bool]:
    """One value against one row of index table (alias) ``t`` of type ``kind``."""
    c = t.c
    if kind == "string":
        assert isinstance(v, StringMatch)
        if modifier == "exact":
            # value_norm narrows through the index; value_exact decides (case, accents).
            return and_(c.value_norm == v.norm[:255], c.value_exact == v.exact)
        if modifier == "contains":
            return _like(c.value_norm, f"%{_like_escape(v.norm)}%", dialect)
        return starts_with(c.value_norm, v.norm[:255], dialect)
    if kind == "token":
        if isinstance(v, TextMatch):
            return starts_with(c.text, v.norm, dialect)
        assert isinstance(v, TokenMatch)
        return token_match(v, c.system, c.code)
    if kind == "date":
        assert isinstance(v, RangeMatch)
        return date_match(v, c.low, c.high)
    if kind == "number":
        assert isinstance(v, RangeMatch)
        return number_match(v, c.value)
    if kind == "quantity":
        assert isinstance(v, RangeMatch)
        return _quantity_match(v, c.value, c.system, c.code)
    if kind == "reference":
        if isinstance(v, IdentifierMatch):
            return token_match(TokenMatch(v.system, v.value, v.system_given), c.ident_system, c.ident_value)
        assert isinstance(v, ReferenceMatch)
        if v.url is not None:
            return c.url == v.url
        if v.target_type is None:
            return c.target_id == v.target_id
        return and_(c.target_id == v.target_id, c.target_type == v.target_type)
    if kind == "uri":
        assert isinstance(v, UriMatch)
        if modifier == "below":
            return starts_with(c.value, v.value, dialect)
        if modifier == "above":
            return c.value.in_(v.prefixes)
        return c.value == v.value
    assert kind == "composite" and isinstance(v, CompositeMatch)
    return and_(token_match(v.first, c.system, c.code), _composite_second(v, c, dialect))


def _composite_second(v: CompositeMatch, c: ReadOnlyColumnCollection, dialect: str) -> ColumnElement[bool]:
    second = v.second
    if v.second_kind == "quantity":
        assert isinstance(second, RangeMatch)
        return _quantity_match(second, c.value_number, c.value_system, c.value_code)
    if v.second_kind == "number":
        assert isinstance(second, RangeMatch)
        return number_match(second, c.value_number)
    if v.second_kind == "token":
        assert isinstance(second, TokenMatch)
        return token_match(second, c.value_system, c.value_code)
    if v.second_kind == "uri":
        assert isinstance(second, TokenMatch)
        return c.value_string == (second.code or "")[:255]
    if v.second_kind == "reference":
        assert isinstance(second, TokenMatch)
        return c.value_code == second.code
    if v.second_kind == "date":
        assert isinstance(second, RangeMatch)
        return date_match(second, c.value_low, c.value_high)
    assert isinstance(second, StringMatch)
    return starts_with(c.value_string, second.norm, dialect)


def token_match(v: TokenMatch, system: ColumnElement[str], code: ColumnElement[str]) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if v.code is not None:
        parts.append(code == v.code)
    if v.system_given:
        parts.append(system == v.system if v.system is not None else system.is_(None))
    return and_(*parts) if parts else true()


def date_match(v: RangeMatch, low: ColumnElement[int], high: ColumnElement[int]) -> ColumnElement[bool]:
    """The R4 prefix table, comparing the query's range [ql, qh] with the row's [low, high]."""
    ql, qh = int(v.low), int(v.high)
    contained = and_(low >= ql, high <= qh)
    match v.prefix:
        case "eq":
            return contained
        case "ne":
            return or_(low < ql, high > qh)
        case "gt":
            return high > qh
        case "lt":
            return low < ql
        case "ge":
            return or_(high > qh, contained)
        case "le":
            return or_(low < ql, contained)
        case "sa":
            return low > qh
        case "eb":
            return high < ql
        case _:  # ap: the query range was already widened by the parser; any overlap matches
            return and_(low <= qh, high >= ql)


def number_match(v: RangeMatch, value: ColumnElement[float]) -> ColumnElement[bool]:
    """Prefixes on a number; eq/ne/ap use the value's implicit precision range [low, high)."""
    match v.prefix:
        case "eq":
            return and_(value >= v.low, value < v.high)
        case "ne":
            return or_(value < v.low, value >= v.high)
        case "gt" | "sa":
            return value > v.value
        case "lt" | "eb":
            return value < v.value
        case "ge":
            return value >= v.value
        case "le":
            return value <= v.value
        case _:  # ap
            return and_(value >= v.low, value <= v.high)


def _quantity_match(v: RangeMatch, value: ColumnElement[float], system: ColumnElement[str],
                    code: ColumnElement[str]) -> ColumnElement[bool]:
    parts = [number_match(v, value)]
    if v.system is not None:
        parts.append(system == v.system)
    if v.code is not None:
        parts.append(code == v.code)
    return and_(*parts)


def starts_with(column: ColumnElement[str], prefix: str, dialect: str) -> ColumnElement[bool]:
    """A prefix match the B-tree can serve.

    SQLite compares text bytewise (BINARY), so ``[prefix, prefix⁺)`` is exactly the strings that
    start with ``prefix`` and is an index range (its LIKE is case-insensitive and skips the index).
    PostgreSQL's linguistic collations do not keep that range exact, so it gets a LIKE, which its
    planner turns into an index range itself when the collation allows.
    """
    if not prefix:
        return column.is_not(None)
    if dialect == "sqlite":
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1) if ord(prefix[-1]) < 0x10FFFF else None
        return and_(column >= prefix, column < upper) if upper else column >= prefix
    return _like(column, f"{_like_escape(prefix)}%", dialect)


def _like(column: ColumnElement[str], pattern: str, dialect: str) -> ColumnElement[bool]:
    # Backslash is PostgreSQL's default LIKE escape (a plain pattern keeps its prefix-to-index-range
    # rewrite simple); SQLite has no default, so it is named there.
    return column.like(pattern, escape="\\") if dialect == "sqlite" else column.like(pattern)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --------------------------------------------------------------------------- chains and _has
def _chain_rows(f: ChainFilter, types: Types, dialect: str, correlate_to: FromClause | None = None) -> Select:
    """``SELECT res_pk`` of the reference rows of ``f.code`` pointing at a target matching a branch.

    Uncorrelated for a driving filter; correlated to ``correlate_to`` (its ``pk``) otherwise.
    """
    ref = idx_reference
    branches = []
    for target_type, inner in f.branches:
        target = _INNER
        # No res_type test on ``target``: the inner rows already belong to target_type resources, and
        # the test would tempt SQLite into scanning every resource of that type.
        ids = select(target.c.res_id).where(target.c.pk.in_(matching_pks(inner, target_type, dialect)))
        branches.append(and_(ref.c.target_type == target_type, ref.c.target_id.in_(ids.correlate(None))))
    where = [param_rows(ref, f.code, types), branches[0] if len(branches) == 1 else or_(*branches)]
    if correlate_to is None:
        return select(ref.c.res_pk).where(*type_clause(ref.c.res_type, types), *where).correlate(None)
    return select(ref.c.res_pk).where(ref.c.res_pk == correlate_to.c.pk, *where).correlate(correlate_to)


def _has_condition(f: HasFilter, res: FromClause, types: Types, dialect: str, drive: bool) -> ColumnElement[bool]:
    """Resources that some ``f.source_type`` matching ``f.inner`` refers to through ``f.code``."""
    if not drive:
        # Correlated: from this resource's incoming references (ix on target_id, target_type) to
        # their sources, rather than materializing every matching source up front.
        ref = _HAS_REF
        where = [ref.c.target_id == res.c.res_id, ref.c.target_type == res.c.res_type,
                 ref.c.res_type == f.source_type, param_rows(ref, f.code, (f.source_type,))]
        inner = f.inner
        if isinstance(inner, ParamFilter) and inner.kind in INDEX_TABLES and can_drive(inner):
            where.append(_exists(inner, ref.c.res_pk, ref, (f.source_type,), dialect))
        else:
            where.append(ref.c.res_pk.in_(matching_pks(inner, f.source_type, dialect)))
        return select(ref.c.res_pk).where(*where).correlate(res).exists()
    ref = idx_reference
    # On SQLite, no res_type test: then its planner walks the matching sources through the res_pk
    # index instead of every row of the parameter (the sources' pks imply their type anyway).
    typed = [ref.c.res_type == f.source_type] if dialect != "sqlite" else []
    where = [*typed, param_rows(ref, f.code, (f.source_type,)),
             ref.c.res_pk.in_(matching_pks(f.inner, f.source_type, dialect))]
    if types and len(types) == 1:
        ids = select(ref.c.target_id).where(*where, ref.c.target_type == types[0]).correlate(None)
        return res.c.res_id.in_(ids)
    pairs = select(ref.c.target_type, ref.c.target_id).where(*where, *type_clause(ref.c.target_type, types))
    return tuple_(res.c.res_type, res.c.res_id).in_(pairs.correlate(None))
