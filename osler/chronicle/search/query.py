"""Parsing of FHIR R4 search requests into a ``SearchQuery`` — no I/O, no SQL.

Owns: turning raw query pairs into filters (AND across repeated names, OR across comma-separated
values, honouring the ``\\,`` ``\\|`` ``\\$`` ``\\\\`` escapes), checking names, modifiers and
prefixes against the search-parameter registry, chaining and ``_has``, and reading the result
parameters (``_sort``, ``_count``, ``_include``, ``_summary`` ...). ``engine.py`` turns the result
into SQL; the caller applies paging, ``_summary`` and ``_elements``.

Unknown or unsupported parameter *names* are ignored with a warning (or rejected when ``strict``),
as the spec allows; malformed *values* and unknown modifiers/prefixes are always a ``BadRequest``,
because silently dropping them would widen the result set.
"""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal, InvalidOperation
from functools import cache

from osler.chronicle.search.model import (
    ChainFilter,
    CompositeMatch,
    Filter,
    HasFilter,
    IdentifierMatch,
    Include,
    Match,
    ParamFilter,
    RangeMatch,
    ReferenceMatch,
    SearchQuery,
    StringMatch,
    TextMatch,
    TokenMatch,
    UriMatch,
    split_escaped,
    unescape,
)
from osler.fhir import search_parameters as registry
from osler.fhir.index_values import normalize, parse_fhir_date_range
from osler.fhir.indexing import RESOURCE_TABLE_PARAMS
from osler.fhir.instants import now_us
from osler.fhir.outcome import BadRequest, Issue
from osler.fhir.search_parameters import SearchParam

PREFIXES = frozenset({"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"})
SORTABLE = frozenset({"string", "token", "date", "number", "quantity", "uri", "reference"})
SUMMARY_VALUES = frozenset({"true", "text", "data", "count", "false"})
TOTAL_VALUES = frozenset({"none", "estimate", "accurate"})
# Parameters about the HTTP exchange or paging, not the result set: accepted and left to the caller.
PASSTHROUGH = frozenset({"_format", "_pretty", "_getpages", "_getpagesoffset", "_offset", "_page"})
# Modifiers the spec defines per type; a modifier outside these is unknown (400), one inside but not
# in _SUPPORTED is recognised but unsupported (also 400: the spec says servers SHALL reject those).
_KNOWN_MODIFIERS = {
    "string": {"missing", "exact", "contains", "text"},
    "token": {"missing", "text", "not", "above", "below", "in", "not-in", "of-type"},
    "date": {"missing"},
    "number": {"missing"},
    "quantity": {"missing"},
    "reference": {"missing", "identifier", "above", "below"},
    "uri": {"missing", "above", "below"},
    "composite": {"missing"},
}
_SUPPORTED_MODIFIERS = {
    "string": {"missing", "exact", "contains"},
    "token": {"missing", "text", "not"},
    "date": {"missing"},
    "number": {"missing"},
    "quantity": {"missing"},
    "reference": {"missing", "identifier"},
    "uri": {"missing", "above", "below"},
    "composite": {"missing"},
}

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]+")


# --------------------------------------------------------------------------- entry point
def parse_search(resource_type: str | None, params: list[tuple[str, str]], *, strict: bool = False,
                 default_count: int = 20, max_count: int = 1000) -> SearchQuery:
    """Parse the raw query pairs of a type-level (or, with ``resource_type`` None, system-level) search."""
    return _Parser(resource_type, strict, default_count, max_count).parse(params)


class _Parser:
    def __init__(self, resource_type: str | None, strict: bool, default_count: int, max_count: int) -> None:
        self.resource_type = resource_type
        self.strict = strict
        self.query = SearchQuery(resource_type, count=min(default_count, max_count))
        self.max_count = max_count

    # ------------------------------------------------------------ top level
    def parse(self, params: list[tuple[str, str]]) -> SearchQuery:
        query = self.query
        if self.resource_type is not None:
            query.types = (self.resource_type,)
        else:
            # _type narrows a system-level search, and decides which parameters are valid: read it first.
            for name, value in params:
                if name == "_type" and value:
                    types = tuple(dict.fromkeys(unescape(v).strip() for v in split_escaped(value, ",") if v))
                    for res_type in types:
                        if not _is_resource_type(res_type):
                            raise BadRequest(f"_type: {res_type!r} is not a resource type")
                    # Repeated _type parameters intersect, as repeated parameters do.
                    query.types = types if query.types is None else \
                        tuple(t for t in query.types if t in types)
        for name, value in params:
            base, _, modifier = name.partition(":")
            if base == "_type" and self.resource_type is None:
                continue
            if base in PASSTHROUGH:
                self._passthrough(base, value)
            elif base == "_sort":
                self._sort(name, modifier, value)
            elif base == "_count":
                query.count = min(_non_negative_int(name, value), self.max_count)
            elif base in ("_include", "_revinclude"):
                self._include(base, modifier, value)
            elif base == "_summary":
                query.summary = _choice(name, value, SUMMARY_VALUES)
            elif base == "_total":
                query.total = _choice(name, value, TOTAL_VALUES)
            elif base == "_elements":
                query.elements = [e.strip() for e in value.split(",") if e.strip()]
            elif base == "_contained":
                if value != "false":
                    self._unsupported(name, "contained resources are not searched")
            elif base == "_containedType":
                self._unsupported(name, "contained resources are not searched")
            else:
                parsed = self.filter(query.types, name, value, name)
                if parsed is not None:
                    query.filters.append(parsed)
        return query

    def _passthrough(self, base: str, value: str) -> None:
        if base in ("_offset", "_getpagesoffset"):
            self.query.offset = _non_negative_int(base, value)
        elif base == "_getpages":
            self.query.getpages = value

    def _unknown(self, raw: str, reason: str) -> None:
        """An unknown or unsupported parameter: a warning, or a 400 in strict mode."""
        message = f"search parameter {raw!r} {reason}"
        if self.strict:
            raise BadRequest(message, issues=[Issue("not-supported", message)])
        self.query.issues.append(Issue("not-supported", f"{message}; it was ignored", severity="warning"))

    def _unsupported(self, raw: str, reason: str) -> None:
        self._unknown(raw, f"is not supported: {reason}")

    # ------------------------------------------------------------ result parameters
    def _sort(self, name: str, modifier: str, value: str) -> None:
        if modifier not in ("", "asc", "desc"):  # :asc/:desc are the DSTU2 spelling; harmless to accept
            raise BadRequest(f"{name}: unknown modifier")
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            descending = item.startswith("-") or modifier == "desc"
            code = item.lstrip("-")
            if code in RESOURCE_TABLE_PARAMS:
                self.query.sort.append((code, descending))
                continue
            param = self._lookup(self.query.types, code)
            if param is None:
                self._unknown(f"_sort={code}", self._unknown_reason())
            elif param.type not in SORTABLE:
                raise BadRequest(f"_sort: cannot sort by {code!r}, a {param.type} parameter")
            else:
                self.query.sort.append((code, descending))

    def _include(self, base: str, modifier: str, value: str) -> None:
        if modifier not in ("", "iterate", "recurse"):  # recurse is the STU3 name of iterate
            raise BadRequest(f"{base}:{modifier}: unknown modifier")
        iterate = modifier in ("iterate", "recurse")
        value = value.strip()
        if value == "*":
            if base == "_revinclude":
                raise BadRequest("_revinclude=* is not supported: name the source type and parameter")
            self.query.includes.append(Include(self.resource_type, None, None, iterate))
            return
        parts = value.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise BadRequest(f"{base}={value!r}: expected SourceType:parameter[:TargetType]")
        source, code, target = parts[0], parts[1], parts[2] if len(parts) == 3 else None
        if not _is_resource_type(source):
            raise BadRequest(f"{base}={value!r}: {source!r} is not a resource type")
        if target is not None and not _is_resource_type(target):
            raise BadRequest(f"{base}={value!r}: {target!r} is not a resource type")
        if code == "*":
            include = Include(source, None, target, iterate)
        else:
            param = registry.param(source, code)
            if param is None or param.type != "reference":
                raise BadRequest(f"{base}={value!r}: {source} has no reference search parameter {code!r}")
            if target is not None and param.targets and target not in param.targets:
                raise BadRequest(f"{base}={value!r}: {source}.{code} cannot refer to a {target}")
            include = Include(source, code, target, iterate)
        if base == "_include":
            if not iterate and self.resource_type is not None and source != self.resource_type:
                # Harmless (it simply includes nothing) but almost certainly a client mistake: say so.
                self.query.issues.append(Issue(
                    "informational", f"_include={value}: the search is for {self.resource_type}, "
                    f"so it includes nothing without :iterate", severity="warning"))
            self.query.includes.append(include)
        else:
            self.query.revincludes.append(include)

    # ------------------------------------------------------------ filters
    def filter(self, types: tuple[str, ...] | None, name: str, value: str, raw: str) -> Filter | None:
        """Parse ``name=value`` against ``types`` (None: every type); None when ignored."""
        if value == "":
            return None  # the spec: parameters with an empty value are ignored
        if name.startswith("_has:"):
            return self._has(types, name, value, raw)
        if "." in name:  # parameter codes and modifiers never contain '.': this is a chain
            return self._chain(types, name, value, raw)
        code, _, modifier = name.partition(":")
        if code in RESOURCE_TABLE_PARAMS:
            return self._resource_column(code, modifier or None, value, raw)
        param = self._lookup(types, code)
        if param is None:
            self._unknown(raw, self._unknown_reason(types))
            return None
        if param.type not in _KNOWN_MODIFIERS or not param.expression:
            # 'special' parameters (near...) and those with no path to index (_text, _content, _query).
            self._unsupported(raw, "nothing is indexed for it")
            return None
        return self._param(types, param, modifier or None, value, raw)

    def _unknown_reason(self, types: tuple[str, ...] | None = None) -> str:
        types = self.query.types if types is None else types
        if not types:
            return "is not defined for all resource types"
        return f"is not defined for {', '.join(types)}"

    def _lookup(self, types: tuple[str, ...] | None, code: str) -> SearchParam | None:
        """The parameter ``code`` of every type in ``types`` (one kind), or None if some type lacks it."""
        if not types:
            return _common_params().get(code)
        found = [registry.param(res_type, code) for res_type in types]
        if any(p is None for p in found):
            return None
        kinds = {p.type for p in found if p is not None}
        if len(kinds) > 1:
            raise BadRequest(f"search parameter {code!r} has different types across {', '.join(types)}")
        return found[0]

    def _has(self, types: tuple[str, ...] | None, name: str, value: str, raw: str) -> Filter | None:
        parts = name[len("_has:"):].split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise BadRequest(f"{raw}: expected _has:SourceType:reference:parameter")
        source, code, inner_name = parts
        if not _is_resource_type(source):
            raise BadRequest(f"{raw}: {source!r} is not a resource type")
        ref = registry.param(source, code)
        if ref is None or ref.type != "reference":
            self._unknown(raw, f"names {source}.{code}, which is not a reference search parameter")
            return None
        if types and ref.targets and not any(t in ref.targets for t in types):
            raise BadRequest(f"{raw}: {source}.{code} never refers to a {' or '.join(types)}")
        inner = self.filter((source,), inner_name, value, raw)
        return None if inner is None else HasFilter(source, code, inner)

    def _chain(self, types: tuple[str, ...] | None, name: str, value: str, raw: str) -> Filter | None:
        head, _, tail = name.partition(".")
        code, _, type_modifier = head.partition(":")
        ref = self._lookup(types, code)
        if ref is None:
            self._unknown(raw, self._unknown_reason(types))
            return None
        if ref.type != "reference":
            raise BadRequest(f"{raw}: only reference parameters can be chained, {code!r} is a {ref.type}")
        if type_modifier:
            if not _is_resource_type(type_modifier):
                raise BadRequest(f"{raw}: {type_modifier!r} is not a resource type")
            if ref.targets and type_modifier not in ref.targets:
                raise BadRequest(f"{raw}: {code!r} cannot refer to a {type_modifier}")
            candidates: tuple[str, ...] = (type_modifier,)
        else:
            candidates = tuple(t for t in ref.targets if t != "Resource")
        chained_code = re.split(r"[.:]", tail, maxsplit=1)[0]
        candidates = tuple(t for t in candidates if _defines(t, chained_code))
        if not candidates:
            self._unknown(raw, f"chains to {chained_code!r}, which no target of {code!r} defines")
            return None
        branches: list[tuple[str, Filter]] = []
        for target in candidates:
            inner = self.filter((target,), tail, value, raw)
            if inner is not None:
                branches.append((target, inner))
        return ChainFilter(code, tuple(branches)) if branches else None

    def _resource_column(self, code: str, modifier: str | None, value: str, raw: str) -> Filter:
        if code == "_id":
            if modifier not in (None, "missing", "not"):
                raise BadRequest(f"{raw}: unknown modifier {modifier!r} for _id")
            if modifier == "missing":
                return ParamFilter(code, "_id", modifier, missing=_boolean(raw, value))
            ids = tuple(TokenMatch(None, unescape(v).strip(), False) for v in split_escaped(value, ",") if v)
            return ParamFilter(code, "_id", modifier, ids)
        if modifier not in (None, "missing"):
            raise BadRequest(f"{raw}: unknown modifier {modifier!r} for _lastUpdated")
        if modifier == "missing":
            return ParamFilter(code, "_lastUpdated", modifier, missing=_boolean(raw, value))
        dates = tuple(_date(raw, unescape(v)) for v in split_escaped(value, ",") if v)
        return ParamFilter(code, "_lastUpdated", None, dates)

    def _param(self, types: tuple[str, ...] | None, param: SearchParam, modifier: str | None, value: str,
               raw: str) -> Filter | None:
        kind = param.type
        target_modifier: str | None = None
        if modifier is not None and modifier not in _KNOWN_MODIFIERS[kind]:
            if kind == "reference" and _is_resource_type(modifier):
                if param.targets and modifier not in param.targets and "Resource" not in param.targets:
                    raise BadRequest(f"{raw}: {param.code!r} cannot refer to a {modifier}")
                target_modifier = modifier
            else:
                raise BadRequest(f"{raw}: unknown modifier :{modifier} for a {kind} parameter")
        elif modifier is not None and modifier not in _SUPPORTED_MODIFIERS[kind]:
            message = f"{raw}: the :{modifier} modifier is not supported"
            raise BadRequest(message, issues=[Issue("not-supported", message)])
        if modifier == "missing":
            return ParamFilter(param.code, kind, modifier, missing=_boolean(raw, value))
        pieces = [p for p in split_escaped(value, ",") if p != ""]
        if not pieces:
            return None
        if kind == "string":
            values: tuple[Match, ...] = tuple(_string(unescape(p)) for p in pieces)
        elif kind == "token":
            if modifier == "text":
                values = tuple(TextMatch(normalize(unescape(p))) for p in pieces)
            else:
                values = tuple(_token(p) for p in pieces)
        elif kind == "date":
            values = tuple(_date(raw, unescape(p)) for p in pieces)
        elif kind == "number":
            values = tuple(_number(raw, unescape(p)) for p in pieces)
        elif kind == "quantity":
            values = tuple(_quantity(raw, p) for p in pieces)
        elif kind == "reference":
            if modifier == "identifier":
                values = tuple(_identifier(p) for p in pieces)
            else:
                only = param.targets[0] if len(param.targets) == 1 else None
                single = only if only != "Resource" else None  # one target type: a bare id implies it
                values = tuple(_reference(raw, unescape(p), target_modifier or single) for p in pieces)
                modifier = None
        elif kind == "uri":
            values = tuple(_uri(unescape(p), modifier) for p in pieces)
        else:  # composite
            values = tuple(self._composite(types, param, raw, p) for p in pieces)
        return ParamFilter(param.code, kind, modifier, values)

    def _composite(self, types: tuple[str, ...] | None, param: SearchParam, raw: str,
                   piece: str) -> CompositeMatch:
        parts = split_escaped(piece, "$")
        if len(parts) != 2 or len(param.components) != 2:
            raise BadRequest(f"{raw}={unescape(piece)!r}: expected two components separated by '$'")
        first = _token(parts[0])
        second_code = param.components[1][0]
        second_param = self._lookup(types, second_code) if types else None
        second_kind = second_param.type if second_param is not None else _kind_from_suffix(param.code)
        text = parts[1]
        second: RangeMatch | TokenMatch | StringMatch
        if second_kind == "quantity":
            second = _quantity(raw, text)
        elif second_kind == "number":
            second = _number(raw, unescape(text))
        elif second_kind == "token":
            second = _token(text)
        elif second_kind == "date":
            second = _date(raw, unescape(text))
        elif second_kind == "string":
            second = _string(unescape(text))
        elif second_kind in ("uri", "reference"):
            # The index keeps these as text: a uri in value_string, a reference ("Type/id") in value_code.
            second = TokenMatch(None, unescape(text), False)
        else:
            raise BadRequest(f"{raw}: composite component {second_code!r} ({second_kind}) is not supported")
        return CompositeMatch(first, second_kind, second)


# --------------------------------------------------------------------------- value parsers
def _string(text: str) -> StringMatch:
    return StringMatch(normalize(text), text)


def _token(piece: str) -> TokenMatch:
    """``code`` | ``system|code`` | ``|code`` | ``system|`` (escapes still in ``piece``)."""
    parts = split_escaped(piece, "|")
    if len(parts) == 1:
        return TokenMatch(None, unescape(parts[0]), False)
    system, code = unescape(parts[0]), unescape("|".join(parts[1:]))
    return TokenMatch(system or None, code or None, True)


def _identifier(piece: str) -> IdentifierMatch:
    token = _token(piece)
    return IdentifierMatch(token.system, token.code, token.system_given)


def _split_prefix(raw: str, text: str) -> tuple[str, str]:
    head = text[:2]
    if head in PREFIXES:
        return head, text[2:]
    if len(head) == 2 and head.isalpha():
        raise BadRequest(f"{raw}={text!r}: unknown prefix {head!r}")
    return "eq", text


def _date(raw: str, text: str) -> RangeMatch:
    prefix, rest = _split_prefix(raw, text.strip())
    try:
        low, high = parse_fhir_date_range(rest)
    except (ValueError, TypeError, OverflowError):
        raise BadRequest(f"{raw}={text!r}: not a valid FHIR date, dateTime or instant") from None
    if prefix == "ap":
        # Approximately: widen by 10 % of the distance between now and the value (the spec's
        # recommendation), but at least a day so "ap today" still means something.
        gap = max(abs(now_us() - (low + high) // 2) // 10, 86_400_000_000)
        return RangeMatch(prefix, low - gap, high + gap)
    return RangeMatch(prefix, low, high)


def _decimal(raw: str, text: str, given: str) -> Decimal:
    text = text.strip()
    if _NUMBER.fullmatch(text):
        with contextlib.suppress(InvalidOperation):
            return Decimal(text)
    raise BadRequest(f"{raw}={given!r}: not a valid number")


def _number_range(raw: str, prefix: str, text: str, given: str) -> RangeMatch:
    number = _decimal(raw, text, given)
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # _NUMBER excludes NaN and infinities
    # The implicit precision of the value as written: 100 means [99.5, 100.5), 1e2 means [50, 150).
    half = Decimal(5).scaleb(exponent - 1)
    low, high, value = float(number - half), float(number + half), float(number)
    if prefix == "ap":
        spread = abs(number) / 10
        low, high = min(low, float(number - spread)), max(high, float(number + spread))
    return RangeMatch(prefix, low, high, value)


def _number(raw: str, text: str) -> RangeMatch:
    prefix, rest = _split_prefix(raw, text.strip())
    return _number_range(raw, prefix, rest, text)


def _quantity(raw: str, piece: str) -> RangeMatch:
    """``[prefix]value[|system|code]``; an empty system or code matches any."""
    parts = split_escaped(piece, "|")
    if len(parts) not in (1, 3):
        raise BadRequest(f"{raw}={unescape(piece)!r}: expected value, value|system|code or value||code")
    prefix, rest = _split_prefix(raw, unescape(parts[0]).strip())
    number = _number_range(raw, prefix, rest, unescape(piece))
    system = unescape(parts[1]) or None if len(parts) == 3 else None
    code = unescape(parts[2]) or None if len(parts) == 3 else None
    return RangeMatch(prefix, number.low, number.high, number.value, system, code)


def _reference(raw: str, text: str, target_type: str | None) -> ReferenceMatch:
    text = text.strip()
    if "://" in text or text.startswith("urn:"):
        return ReferenceMatch(None, None, text)
    segments = text.split("/")
    if len(segments) >= 4 and segments[-2] == "_history":
        segments = segments[:-2]  # a versioned reference matches the resource
    if len(segments) == 1:
        return ReferenceMatch(target_type, segments[0], None)
    if len(segments) == 2 and _is_resource_type(segments[0]) and segments[1]:
        if target_type is not None and segments[0] != target_type:
            raise BadRequest(f"{raw}={text!r}: the type modifier says {target_type}, the value {segments[0]}")
        return ReferenceMatch(segments[0], segments[1], None)
    raise BadRequest(f"{raw}={text!r}: expected id, Type/id or an absolute URL")


def _uri(text: str, modifier: str | None) -> UriMatch:
    if modifier == "above":
        # Every ancestor of the URI along '/' (itself included) — stored values equal to one of them
        # are "above" it; an IN list keeps the index usable.
        cut = [i for i, char in enumerate(text) if char == "/" and i > 0 and text[i - 1] != "/"]
        prefixes = tuple(dict.fromkeys([text, *(text[:i] for i in cut), *(text[: i + 1] for i in cut)]))
        return UriMatch(text, prefixes)
    return UriMatch(text)


def _boolean(raw: str, value: str) -> bool:
    if value not in ("true", "false"):
        raise BadRequest(f"{raw}={value!r}: expected true or false")
    return value == "true"


def _non_negative_int(raw: str, value: str) -> int:
    if not value.strip().isdigit():
        raise BadRequest(f"{raw}={value!r}: expected a non-negative integer")
    return int(value)


def _choice(raw: str, value: str, allowed: frozenset[str]) -> str:
    if value not in allowed:
        raise BadRequest(f"{raw}={value!r}: expected one of {', '.join(sorted(allowed))}")
    return value


def _kind_from_suffix(code: str) -> str:
    for suffix, kind in (("-quantity", "quantity"), ("-concept", "token"), ("-date", "date"),
                         ("-string", "string")):
        if code.endswith(suffix):
            return kind
    return "token"


def _is_resource_type(name: str) -> bool:
    return bool(_RESOURCE_TYPE.fullmatch(name)) and bool(registry.params_for(name))


@cache
def _common_params() -> dict[str, SearchParam]:
    """The parameters every resource type has (base Resource): all a system-level search may use."""
    return {p.code: p for p in registry.all_params() if "Resource" in p.base}


def _defines(res_type: str, code: str) -> bool:
    return code in RESOURCE_TABLE_PARAMS or code.startswith("_has") or registry.param(res_type, code) is not None
