"""Search-index extraction: a resource in, the rows of every one of its search parameters out.

Owns the plan per resource type (which parameters are indexed, each with its compiled FHIRPath
extractor), the composite-parameter logic and row de-duplication. Everything is driven by the
registry (``osler.fhir.search_parameters``): nothing here is written per resource type. The FHIRPath
compiler (``fhirpath_compiler``) makes it fast; the value conversions live in ``index_values``.
Pure: no I/O, no clock; the caller stores ``row._asdict()`` in ``INDEX_TABLES[ENTRY_KINDS[type(row)]]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from osler.fhir.derived_params import is_derived
from osler.fhir.fhirpath_compiler import CompiledExpression, Runner, compile_expression
from osler.fhir.index_types import (
    CompositeEntry,
    DateEntry,
    NumberEntry,
    QuantityEntry,
    ReferenceEntry,
    StringEntry,
    TokenEntry,
    UriEntry,
)
from osler.fhir.index_values import DATE_MAX, DATE_MIN, MAX_STRING, Converter, converter, parse_fhir_date_range
from osler.fhir.search_parameters import SearchParam, params_for

__all__ = [
    "DATE_MAX",
    "DATE_MIN",
    "RESOURCE_TABLE_PARAMS",
    "expression_stats",
    "extract_index",
    "index_param",
    "indexed",
    "parse_fhir_date_range",
]

log = logging.getLogger(__name__)

# Parameters that are not about values inside the resource (full text, named queries, lists,
# reverse chaining) or that need special handling (near) are not indexed here.
SKIPPED_CODES = frozenset({"_text", "_content", "_query", "_list", "_has"})
# The common parameters the store answers from its own columns (the current row's id and lastUpdated), each
# with its parameter type: not indexed either. They were once, on every write (~20 % of a lab filing's index
# rows, and every update rewrote its resource's date rows for them), and no search read them.
RESOURCE_TABLE_PARAMS = {"_id": "token", "_lastUpdated": "date"}
_reported: set[tuple[str, str]] = set()

_CompositeValue = tuple[float | None, str | None, str | None, int | None, int | None, str | None]


CompileFn = Callable[[str, str], CompiledExpression]


@dataclass(frozen=True, slots=True)
class _Plan:
    code: str
    kind: str
    compiled: CompiledExpression
    compile_fn: CompileFn  # for composite components, compiled per element type
    components: tuple[tuple[str, str], ...] = ()  # composite: (param type, expression) of two components


def indexed(definition: SearchParam) -> bool:
    """Whether a parameter produces index rows (special ones and _text, _content... do not)."""
    return (definition.type != "special" and definition.code not in SKIPPED_CODES
            and definition.code not in RESOURCE_TABLE_PARAMS and bool(definition.expression))


def _component_types(resource_type: str, definition: SearchParam) -> tuple[tuple[str, str], ...] | None:
    parts = []
    # A composite row holds two components; a third (MolecularSequence coordinates) is not indexed.
    for code, expression in definition.components[:2]:
        component = params_for(resource_type).get(code)
        if component is None:
            return None
        parts.append((component.type, expression))
    return tuple(parts) if len(parts) == 2 else None


def _plan(resource_type: str, definition: SearchParam, compile_fn: CompileFn) -> _Plan | None:
    if not indexed(definition):
        return None
    compiled = compile_fn(definition.expression, resource_type)
    if definition.type != "composite":
        return _Plan(definition.code, definition.type, compiled, compile_fn)
    components = _component_types(resource_type, definition)
    if components is None:
        log.warning("composite %s of %s has unusable components", definition.code, resource_type)
        return None
    return _Plan(definition.code, definition.type, compiled, compile_fn, components)


def _safe_plan(resource_type: str, definition: SearchParam) -> _Plan | None:
    try:
        return _plan(resource_type, definition, compile_expression)
    except Exception as exc:  # an expression even fhirpathpy cannot parse
        _report(resource_type, definition.code, exc)
        return None


@dataclass(frozen=True, slots=True)
class _TypePlan:
    # The hot path: every compiled strand of every simple parameter, already bound to its
    # converter, in one flat tuple; composites and fhirpathpy fallbacks go the general way.
    strands: tuple[tuple[str, Runner, Converter], ...]
    others: tuple[_Plan, ...]


@cache
def _plans(resource_type: str) -> _TypePlan:
    strands: list[tuple[str, Runner, Converter]] = []
    others: list[_Plan] = []
    for definition in params_for(resource_type).values():
        if is_derived(resource_type, definition.code):
            continue  # answered from the rows of the parameters it is made of
        plan = _safe_plan(resource_type, definition)
        if plan is None:
            continue
        if plan.components or not plan.compiled.compiled:
            others.append(plan)
            continue
        for tpath, runner in plan.compiled.branches:
            strands.append((plan.code, runner, converter(plan.kind, tpath)))
    return _TypePlan(tuple(strands), tuple(others))


def _run(plan: _Plan, resource: dict, rows: list) -> None:
    if plan.components:
        _composite_rows(plan, resource, rows)
        return
    for tpath, values in plan.compiled.extract(resource, resource):
        converter(plan.kind, tpath)(plan.code, values, rows)


def extract_index(resource: dict[str, Any]) -> list[NamedTuple]:
    """The index rows (``osler.fhir.index_types``) of every search parameter of ``resource``.

    Rows are de-duplicated, simple parameters first, then composites; derived parameters
    (``osler.fhir.derived_params``) have none of their own. A parameter whose evaluation
    fails is logged and skipped: one bad expression never stops a resource from being indexed.
    """
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not params_for(resource_type):
        return []  # checked before the plan cache, which must not grow with unknown names
    plans = _plans(resource_type)
    rows: list[NamedTuple] = []
    focus = [resource]
    for code, runner, convert in plans.strands:
        try:
            values = runner(focus)
            if values:
                convert(code, values, rows)
        except Exception as exc:
            _report(resource_type, code, exc)
    for plan in plans.others:
        try:
            _run(plan, resource, rows)
        except Exception as exc:
            _report(resource_type, plan.code, exc)
    return list(dict.fromkeys(rows))


def index_param(
    resource: dict[str, Any], definition: SearchParam, compile_fn: CompileFn = compile_expression
) -> list[NamedTuple]:
    """The rows of one parameter, evaluation errors raised; ``compile_fn`` picks the FHIRPath engine.

    With ``compile_with_fhirpathpy`` every expression goes through fhirpathpy alone: the slow
    reference that tests and the benchmark compare ``extract_index`` against.
    """
    plan = _plan(resource["resourceType"], definition, compile_fn)
    rows: list[NamedTuple] = []
    if plan is not None:
        _run(plan, resource, rows)
    return list(dict.fromkeys(rows))


def _report(resource_type: str, code: str, exc: Exception) -> None:
    if (resource_type, code) not in _reported:
        _reported.add((resource_type, code))
        log.warning("indexing %s:%s failed, parameter skipped: %r", resource_type, code, exc)


# -- composites ---------------------------------------------------------------------------------------


def _component_rows(plan: _Plan, kind: str, expression: str, tpath: str, element: Any, resource: dict) -> list:
    rows: list[NamedTuple] = []
    for value_tpath, values in plan.compile_fn(expression, tpath).extract(element, resource):
        converter(kind, value_tpath)("", values, rows)
    return rows


def _reference_text(row: ReferenceEntry) -> str | None:
    if row.target_type and row.target_id:
        return f"{row.target_type}/{row.target_id}"
    return row.url


def _key_of(row: NamedTuple) -> tuple[str | None, str | None] | None:
    """(system, code) of the first component; rows without a code cannot be searched on."""
    if isinstance(row, TokenEntry):
        return (row.system, row.code) if row.code is not None else None
    if isinstance(row, ReferenceEntry):
        text = _reference_text(row)
        return (None, text) if text else None
    if isinstance(row, StringEntry):
        return None, row.value_norm
    if isinstance(row, UriEntry):
        return None, row.value[:MAX_STRING]
    return None


def _value_of(row: NamedTuple) -> _CompositeValue | None:
    """The second component as (number, system, code, low, high, string)."""
    if isinstance(row, QuantityEntry):
        return row.value, row.system, row.code, None, None, None
    if isinstance(row, NumberEntry):
        return row.value, None, None, None, None, None
    if isinstance(row, TokenEntry):
        return (None, row.system, row.code, None, None, None) if row.code is not None else None
    if isinstance(row, DateEntry):
        return None, None, None, row.low, row.high, None
    if isinstance(row, StringEntry):
        return None, None, None, None, None, row.value_norm
    if isinstance(row, UriEntry):
        return None, None, None, None, None, row.value[:MAX_STRING]
    if isinstance(row, ReferenceEntry):
        text = _reference_text(row)
        return (None, None, text, None, None, None) if text else None
    return None


def _composite_rows(plan: _Plan, resource: dict, rows: list) -> None:
    # Both components are read from the same element (one Observation.component, one useContext...)
    # so that code=X$value=Y matches only when X and Y belong together, as the spec requires.
    (first_kind, first_expression), (second_kind, second_expression) = plan.components
    for tpath, elements in plan.compiled.extract(resource, resource):
        if tpath is None:
            continue
        for element in elements:
            keys = [
                key
                for row in _component_rows(plan, first_kind, first_expression, tpath, element, resource)
                if (key := _key_of(row))
            ]
            if not keys:
                continue
            values = [
                value
                for row in _component_rows(plan, second_kind, second_expression, tpath, element, resource)
                if (value := _value_of(row))
            ]
            for system, code in dict.fromkeys(keys):
                for value in dict.fromkeys(values):
                    rows.append(CompositeEntry(plan.code, system, code, *value))


# -- introspection ------------------------------------------------------------------------------------


def _all_plans(resource_type: str) -> list[_Plan]:
    plans = (_safe_plan(resource_type, definition) for definition in params_for(resource_type).values())
    return [plan for plan in plans if plan is not None]


def expression_stats(resource_types: list[str]) -> dict[str, Any]:
    """How many indexed expressions compile and which fall back to fhirpathpy (per type, per param).

    Composite components count once per static element type they are evaluated against.
    """
    compiled = 0
    fallbacks: list[tuple[str, str, str, str | None]] = []
    for resource_type in resource_types:
        for plan in _all_plans(resource_type):
            checks = [(plan.compiled.expression, resource_type)]
            for element_tpath in plan.compiled.tpaths if plan.components else ():
                checks.extend((expression, element_tpath) for _, expression in plan.components)
            for expression, context in checks:
                if context is None:
                    continue
                result = compile_expression(expression, context)
                if result.compiled:
                    compiled += 1
                else:
                    fallbacks.append((resource_type, plan.code, expression, result.reason))
    return {"compiled": compiled, "fallback": len(fallbacks), "fallbacks": fallbacks}
