"""Search parameters whose index rows would repeat other parameters' rows, and the rows that answer them.

FHIR defines many parameters as views of others of the same resource type. Two patterns are common and
costly: ``patient`` is ``subject`` narrowed to Patient targets (``Observation.subject.where(resolve() is
Patient)`` beside ``Observation.subject``), and Observation's ``combo-*`` parameters are the union of
the plain and the ``component-*`` ones (``combo-code`` = ``code`` | ``component-code``). Storing both
wrote the same references and codes twice: 5 of a lab result Observation's 17 index rows, a fifth of a
lab filing's rows and B-tree pages. Such a parameter is not indexed; searches, chains, ``_has``,
``_include`` and sorting read the rows of the parameters it is made of (``AnsweredFrom``).

Both patterns are recognised from the definitions' expressions, never listed by hand, and
``tests/test_derived_params.py`` checks on every official example resource that the rows a derived
parameter would have had are exactly the rows it is answered from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from osler.fhir.search_parameters import SearchParam, params_for, split_union

_TYPE_FILTER = re.compile(r"^(?P<base>.+)\.where\(resolve\(\) is (?P<type>[A-Z][A-Za-z]+)\)$")


@dataclass(frozen=True, slots=True)
class AnsweredFrom:
    """The index rows that answer a parameter: those of ``codes``, and for a reference narrowed to one
    target type, only the rows pointing at ``target_type``."""

    codes: tuple[str, ...]
    target_type: str | None = None


def answered_from(resource_type: str, code: str) -> AnsweredFrom:
    """Where the rows of parameter ``code`` of ``resource_type`` live: its own rows unless it is derived."""
    return derived_params(resource_type).get(code) or AnsweredFrom((code,))


def is_derived(resource_type: str, code: str) -> bool:
    return code in derived_params(resource_type)


@cache
def derived_params(resource_type: str) -> dict[str, AnsweredFrom]:
    """The derived parameters of a resource type, each with the stored parameters that answer it."""
    params = {code: p for code, p in params_for(resource_type).items() if p.expression and p.type != "special"}
    derived: dict[str, AnsweredFrom] = {}
    for code, definition in params.items():
        narrowed = _narrowed_reference(definition, params)
        if narrowed is not None:
            derived[code] = narrowed
    # Smallest unions first, so that a union is never made of another derived parameter.
    for code, definition in sorted(params.items(), key=lambda item: len(_strands(item[1]))):
        if code in derived:
            continue
        parts = _union_parts(resource_type, definition, {c: p for c, p in params.items() if c not in derived})
        if parts:
            derived[code] = AnsweredFrom(parts)
    return derived


def _narrowed_reference(definition: SearchParam, params: dict[str, SearchParam]) -> AnsweredFrom | None:
    """``X.where(resolve() is T)`` where another reference parameter is exactly ``X``."""
    if definition.type != "reference":
        return None
    match = _TYPE_FILTER.match(definition.expression.strip())
    if match is None:
        return None
    base = match["base"].strip()
    for code, other in params.items():
        if other.type == "reference" and other.expression.strip() == base:
            return AnsweredFrom((code,), match["type"])
    return None


def _strands(definition: SearchParam) -> frozenset[str]:
    """The expression's top-level alternatives, without enclosing parentheses or spacing differences."""
    return frozenset(_bare(part) for part in split_union(definition.expression))


def _bare(part: str) -> str:
    part = " ".join(part.split())
    while part.startswith("(") and part.endswith(")") and _balanced(part[1:-1]):
        part = part[1:-1].strip()
    return part


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _components(resource_type: str, definition: SearchParam) -> tuple[tuple[str | None, str], ...]:
    """A composite's components as (parameter type, expression): what its rows are made of."""
    params = params_for(resource_type)
    return tuple((params[c].type if c in params else None, " ".join(e.split())) for c, e in definition.components)


def _union_parts(resource_type: str, definition: SearchParam, stored: dict[str, SearchParam]) -> tuple[str, ...]:
    """Other parameters of the same type whose alternatives are a part of this one's and together all of it."""
    strands = _strands(definition)
    if len(strands) < 2:
        return ()
    parts = [
        code for code, other in stored.items()
        if other.code != definition.code and other.type == definition.type and _strands(other) < strands
        and (definition.type != "composite"
             or _components(resource_type, other) == _components(resource_type, definition))
    ]
    covered = frozenset().union(*(_strands(stored[code]) for code in parts))
    return tuple(sorted(parts)) if covered == strands else ()
