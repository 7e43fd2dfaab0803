"""The shapes of a parsed search: value matches, filters, includes and the ``SearchQuery`` itself.

Owns the data passed from the parser (``query.py``) to the SQL builders (``engine.py``,
``filters.py``, ``includes.py``) and the FHIR search escaping rules (``\\,`` ``\\|`` ``\\$``
``\\\\``). Frozen dataclasses, so filters are hashable and safe to share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from osler.fhir.outcome import Issue


# --------------------------------------------------------------------------- value shapes
@dataclass(frozen=True, slots=True)
class StringMatch:
    norm: str  # normalized like the index's value_norm (starts-with / contains)
    exact: str  # as given, for :exact


@dataclass(frozen=True, slots=True)
class TokenMatch:
    system: str | None
    code: str | None  # None: any code (``system|``)
    system_given: bool  # False: any system; True with system None: must have no system (``|code``)


@dataclass(frozen=True, slots=True)
class TextMatch:
    """``:text`` on a token: starts-with on the normalized display text."""

    norm: str


@dataclass(frozen=True, slots=True)
class RangeMatch:
    """A date, number or quantity value with its prefix.

    ``low``/``high`` is the value's implicit range (a date's span, a number's precision) — inclusive
    for dates (microseconds), half-open [low, high) for numbers; ``value`` is the number as given.
    """

    prefix: str
    low: float
    high: float
    value: float = 0.0
    system: str | None = None  # quantity only
    code: str | None = None  # quantity only


@dataclass(frozen=True, slots=True)
class ReferenceMatch:
    target_type: str | None
    target_id: str | None
    url: str | None  # absolute or canonical reference, compared as written


@dataclass(frozen=True, slots=True)
class IdentifierMatch:
    """``:identifier`` on a reference: ``system|value`` against Reference.identifier."""

    system: str | None
    value: str | None
    system_given: bool


@dataclass(frozen=True, slots=True)
class UriMatch:
    value: str
    prefixes: tuple[str, ...] = ()  # for :above — every ancestor URI of ``value``


@dataclass(frozen=True, slots=True)
class CompositeMatch:
    """``token$value``: ``first`` on the composite row's system/code, ``second`` on its value columns."""

    first: TokenMatch
    second_kind: str  # 'quantity' | 'number' | 'token' | 'date' | 'string' | 'uri' | 'reference'
    second: RangeMatch | TokenMatch | StringMatch


Match = StringMatch | TokenMatch | TextMatch | RangeMatch | ReferenceMatch | IdentifierMatch | UriMatch | \
    CompositeMatch


# --------------------------------------------------------------------------- filters
@dataclass(frozen=True)
class ParamFilter:
    """One occurrence of a search parameter: matches when any of ``values`` matches (OR).

    ``kind`` is the parameter type, naming the index table; ``_id`` and ``_lastUpdated`` have kind
    ``'_id'`` / ``'_lastUpdated'`` and are answered from the ``resource`` table.
    """

    code: str
    kind: str
    modifier: str | None = None
    values: tuple[Match, ...] = ()
    missing: bool | None = None  # set for :missing, then ``values`` is empty


@dataclass(frozen=True)
class ChainFilter:
    """``ref.param=value``: the reference ``code`` points at a resource that matches the inner filter.

    One branch per candidate target type (a type modifier gives one; otherwise every target type of
    the reference parameter that defines the chained parameter).
    """

    code: str
    branches: tuple[tuple[str, Filter], ...]


@dataclass(frozen=True)
class HasFilter:
    """``_has:Source:ref:param=value``: some ``Source`` whose ``ref`` points here matches ``inner``."""

    source_type: str
    code: str
    inner: Filter


Filter = ParamFilter | ChainFilter | HasFilter


@dataclass(frozen=True)
class Include:
    """An ``_include`` or ``_revinclude``: ``source_type:param[:target_type]``.

    ``param`` None is the ``*`` wildcard (every reference parameter of the source type).
    """

    source_type: str | None
    param: str | None
    target_type: str | None = None
    iterate: bool = False


@dataclass
class SearchQuery:
    resource_type: str | None
    types: tuple[str, ...] | None = None  # the types searched: (resource_type,), _type's list, or None = all
    filters: list[Filter] = field(default_factory=list)  # AND
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (param, descending)
    count: int = 20
    offset: int = 0
    getpages: str | None = None
    includes: list[Include] = field(default_factory=list)
    revincludes: list[Include] = field(default_factory=list)
    elements: list[str] | None = None
    summary: str | None = None
    total: str | None = None
    issues: list[Issue] = field(default_factory=list)


# --------------------------------------------------------------------------- escapes
def split_escaped(text: str, sep: str) -> list[str]:
    """Split on ``sep`` except where it is escaped with a backslash; escapes are kept for later."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            current.append(char)
            current.append(next(chars, ""))
        elif char == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def unescape(text: str) -> str:
    r"""Drop the backslash of ``\,`` ``\|`` ``\$`` ``\\`` (any escaped character, in fact)."""
    if "\\" not in text:
        return text
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        out.append(next(chars, "\\") if char == "\\" else char)
    return "".join(out)
