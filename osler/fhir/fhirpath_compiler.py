"""Compile the FHIRPath expressions of search parameters into plain-Python extractors.

Why hand-written: indexing evaluates every search parameter of every stored resource, and running
them through ``fhirpathpy`` costs ~0.8 ms per Synthea resource even with every expression parsed
once (~15 ms with ``fhirpathpy.evaluate`` re-parsing), because it re-walks the parse tree and wraps
every node on every call. Search-parameter expressions use a tiny FHIRPath subset, so each one is
compiled once, against the R4 model shipped with fhirpathpy, into closures over plain dict/list
access with the FHIR type of every result known statically. Measured with bench/bench_indexing.py
on 5 Synthea bundles (1,671 resources): ~25,000 resources/s (40 us each) for the whole of
``extract_index`` against ~1,600/s for fhirpathpy merely evaluating the same expressions, i.e.
~15x (10-16x across runs on a loaded machine); ~20x against producing the same rows with
fhirpathpy as the engine. Of the 2,518 expressions of the supported types only 2 (``%resource`` in
MolecularSequence composites) fall back to fhirpathpy, compiled once per expression.
tests/test_indexing.py checks that both engines yield the same rows.

Supported: paths (choice elements expand to ``valueQuantity``...), ``|``, ``as T`` / ``.as(T)`` /
``.ofType(T)`` (applied item by item, as servers do, where strict FHIRPath rejects ``as`` on
collections), ``.where(resolve() is T)``, ``.where(<criteria>)``, ``.extension('url')``,
``.exists()``, ``.empty()``, ``.first()``, ``[n]``, ``=``, ``!=``, ``and``, ``or`` and literals.
Type names compare with the first letter case-insensitive (R4 writes ``value.as(DateTime)``).

An extractor is ``extract(focus, resource) -> [(type path, values), ...]``: ``focus`` is the resource
or an element of it, ``resource`` the containing resource (for ``%resource``). A type path is a FHIR
type name (``Quantity``, ``dateTime``) or, for backbone elements, the element path
(``Observation.component``) so that expressions relative to it can be compiled in turn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from osler.fhir.index_values import fhir_type_name, reference_type

log = logging.getLogger(__name__)

Extractor = Callable[[Any, dict], list[tuple[str | None, list[Any]]]]
Runner = Callable[[list[Any]], list[Any]]
Step = tuple[str, Any]  # ("field", json key) or ("call", runner)
_RESOURCE_CONTAINERS = ("Resource", "DomainResource")


class NotCompilable(Exception):
    """The expression uses FHIRPath outside the compiled subset."""


@dataclass(frozen=True, slots=True)
class CompiledExpression:
    expression: str
    context: str  # the type path the expression is evaluated against
    compiled: bool  # False: evaluated by fhirpathpy
    extract: Extractor
    reason: str | None = None  # why it fell back
    # When compiled: one (result type path, runner) per statically typed strand; a runner maps the
    # focus collection ``[focus]`` to that strand's values. ``extract`` just runs them all.
    branches: tuple[tuple[str | None, Runner], ...] = ()

    @property
    def tpaths(self) -> tuple[str | None, ...]:
        """Type paths of the results, when compiled."""
        return tuple(dict.fromkeys(tpath for tpath, _ in self.branches))


@dataclass(frozen=True, slots=True)
class _Branch:
    """One statically typed strand of an expression: steps from the focus, and the result type path."""

    steps: tuple[Step, ...]
    tpath: str | None


# -- the R4 model ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Model:
    path2type: dict[str, str]
    choices: dict[str, list[str]]
    elsewhere: dict[str, str]
    parents: dict[str, str]
    backbones: frozenset[str]
    primitives: frozenset[str]


@cache
def _model() -> _Model:
    from fhirpathpy.models import models

    r4 = models["r4"]
    path2type = r4["path2Type"]
    backbones = {key.rsplit(".", 1)[0] for key in path2type if key.count(".") > 1}
    parents = r4["type2Parent"]
    return _Model(
        path2type=path2type,
        choices=r4["choiceTypePaths"],
        elsewhere=r4["pathsDefinedElsewhere"],
        parents=parents,
        backbones=frozenset(backbones),
        primitives=frozenset(name for name in parents if name[0].islower()),
    )


def _choice_type(suffix: str) -> str:
    lowered = suffix[0].lower() + suffix[1:]
    return lowered if lowered in _model().primitives else suffix


def _children(tpath: str | None, name: str) -> list[tuple[str, str]]:
    """(JSON key, type path) of the element ``name`` of a node of type ``tpath``."""
    model = _model()
    current = tpath
    while current is not None:
        full = f"{current}.{name}"
        full = model.elsewhere.get(full, full)
        if full in model.path2type:
            return [(name, model.path2type[full])]
        if full in model.choices:
            return [(name + suffix, _choice_type(suffix)) for suffix in model.choices[full]]
        if full in model.backbones:
            return [(name, full)]
        current = model.parents.get(current)
    raise NotCompilable(f"unknown element {name!r} on {tpath}")


def _canonical(type_name: str) -> str:
    name = type_name.removeprefix("FHIR.").removeprefix("System.")
    return name[:1].lower() + name[1:]


def _is_type(tpath: str | None, wanted: str) -> bool:
    name = fhir_type_name(tpath)
    if name is None:
        raise NotCompilable(f"type of {tpath} unknown for a type test")
    target = _canonical(wanted)
    parents = _model().parents
    while name is not None:
        if _canonical(name) == target:
            return True
        name = parents.get(name)
    return False


# -- runners: what the compiled steps do at run time ----------------------------------------------------


def _path_runner(keys: tuple[str, ...]) -> Runner:
    # Runners never mutate the lists they get or return, so a JSON array can be passed on as is.
    def walk(values: list) -> list:
        for key in keys:
            if len(values) == 1:  # the usual case: one resource, one element
                value = values[0]
                item = value.get(key) if isinstance(value, dict) else None
                if item is None:
                    return []
                values = item if isinstance(item, list) else [item]
                continue
            found: list = []
            for value in values:
                if isinstance(value, dict):
                    item = value.get(key)
                    if item is None:
                        continue
                    if isinstance(item, list):
                        found.extend(item)
                    else:
                        found.append(item)
            if not found:
                return found
            values = found
        return values

    return walk


def _runner(branch: _Branch) -> Runner:
    # Consecutive member accesses fuse into one loop: most expressions are a single such loop.
    runners: list[Runner] = []
    keys: list[str] = []
    for kind, payload in branch.steps:
        if kind == "field":
            keys.append(payload)
            continue
        if keys:
            runners.append(_path_runner(tuple(keys)))
            keys = []
        runners.append(payload)
    if keys:
        runners.append(_path_runner(tuple(keys)))
    if not runners:
        return lambda values: values
    if len(runners) == 1:
        return runners[0]

    def run(values: list) -> list:
        for runner in runners:
            values = runner(values)
            if not values:
                return values
        return values

    return run


def _collector(branches: list[_Branch]) -> Runner:
    runners = [_runner(branch) for branch in branches]
    if len(runners) == 1:
        return runners[0]

    def collect(values: list) -> list:
        found: list = []
        for runner in runners:
            found.extend(runner(values))
        return found

    return collect


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    return left == right


def _as_boolean(values: list) -> bool | None:
    if not values:
        return None
    if len(values) > 1:
        raise ValueError("a boolean operand holds more than one item")
    return values[0] if isinstance(values[0], bool) else True


# -- the compiler ---------------------------------------------------------------------------------------


def _kind(node: dict) -> str | None:
    return node.get("type")


def _text(node: dict) -> str:
    return node.get("text") or "".join(node.get("terminalNodeText") or ())


def _literal(node: dict) -> Any:
    """The value of a LiteralTerm (string, number, boolean)."""
    inner = node["children"][0]
    kind, text = _kind(inner), _text(inner)
    if kind == "StringLiteral":
        return text[1:-1].replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")
    if kind == "BooleanLiteral":
        return text == "true"
    if kind == "NumberLiteral":
        return float(text) if "." in text else int(text)
    raise NotCompilable(f"literal {text!r}")


def _aggregate(tpath: str | None, inputs: list[_Branch], combine: Callable[[list], list]) -> _Branch:
    """A branch that sees the whole collection of ``inputs`` (all strands merged) at once."""
    collect = _collector(inputs)
    return _Branch((("call", lambda values: combine(collect(values))),), tpath)


def _compile(node: dict, focus: list[_Branch]) -> list[_Branch]:
    kind = _kind(node)
    children = node.get("children") or []
    if kind in (None, "EntireExpression", "ParenthesizedTerm"):
        return _compile(children[0], focus)
    handler = _HANDLERS.get(kind)  # type: ignore[arg-type]
    if handler is None:
        raise NotCompilable(f"{kind} {_text(node)!r}")
    return handler(node, children, focus)


def _term(node: dict, children: list, focus: list[_Branch]) -> list[_Branch]:
    term = children[0]
    if _kind(term) == "ParenthesizedTerm":
        return _compile(term, focus)
    if _kind(term) == "LiteralTerm":
        value = _literal(term)
        tpath = {bool: "boolean", str: "string", int: "integer"}.get(type(value), "decimal")
        return [_Branch((("call", lambda values: [value]),), tpath)]
    if _kind(term) == "ExternalConstantTerm":
        raise NotCompilable(f"environment variable %{_text(node).lstrip('%')}")
    if _kind(term) != "InvocationTerm":
        raise NotCompilable(f"{_kind(term)} {_text(term)!r}")
    invocation = term["children"][0]
    if _kind(invocation) == "MemberInvocation":
        name = _text(invocation["children"][0])
        if name[:1].isupper():
            # A leading type name (``Observation.code``) only keeps a focus of that type.
            return [branch for branch in focus if branch.tpath == name]
    return _invoke(invocation, focus)


def _invocation(node: dict, children: list, focus: list[_Branch]) -> list[_Branch]:
    return _invoke(children[1], _compile(children[0], focus))


def _union(node: dict, children: list, focus: list[_Branch]) -> list[_Branch]:
    return _compile(children[0], focus) + _compile(children[1], focus)


def _type_expression(node: dict, children: list, focus: list[_Branch]) -> list[_Branch]:
    if node["terminalNodeText"][0] != "as":
        raise NotCompilable("'is' outside where(resolve() is T)")
    return _filter_type(_compile(children[0], focus), _text(children[1]))


def _indexer(node: dict, children: list, focus: list[_Branch]) -> list[_Branch]:
    inputs = _compile(children[0], focus)
    index_node = children[1]["children"][0] if _kind(children[1]) == "TermExpression" else children[1]
    index = _literal(index_node) if _kind(index_node) == "LiteralTerm" else None
    if not isinstance(index, int) or isinstance(index, bool) or len(inputs) != 1:
        raise NotCompilable("indexer other than [n] on a single-typed collection")
    return [_aggregate(inputs[0].tpath, inputs, lambda values: values[index : index + 1])]


def _equality(node: dict, children: list, focus: list[_Branch]) -> list[_Branch]:
    operator = node["terminalNodeText"][0]
    if operator not in ("=", "!="):
        raise NotCompilable(f"operator {operator}")
    left, right = _collector(_compile(children[0], focus)), _collector(_compile(children[1], focus))
    negate = operator == "!="

    def compare(values: list) -> list:
        lhs, rhs = left(values), right(values)
        if not lhs or not rhs:
            return []
        equal = len(lhs) == len(rhs) and all(_same(a, b) for a, b in zip(lhs, rhs, strict=True))
        return [equal != negate]

    return [_Branch((("call", compare),), "boolean")]


def _logic(node: dict, children: list, focus: list[_Branch]) -> list[_Branch]:
    operator = node["terminalNodeText"][0]
    left, right = _collector(_compile(children[0], focus)), _collector(_compile(children[1], focus))
    if operator not in ("and", "or"):
        raise NotCompilable(f"operator {operator}")
    decisive = operator == "or"  # the operand value that settles the result on its own

    def combine(values: list) -> list:
        lhs, rhs = _as_boolean(left(values)), _as_boolean(right(values))
        if lhs is decisive or rhs is decisive:
            return [decisive]
        return [not decisive] if lhs is not None and rhs is not None else []

    return [_Branch((("call", combine),), "boolean")]


_HANDLERS: dict[str, Callable[[dict, list, list[_Branch]], list[_Branch]]] = {
    "TermExpression": _term,
    "InvocationExpression": _invocation,
    "UnionExpression": _union,
    "TypeExpression": _type_expression,
    "IndexerExpression": _indexer,
    "EqualityExpression": _equality,
    "AndExpression": _logic,
    "OrExpression": _logic,
}


def _filter_type(inputs: list[_Branch], wanted: str) -> list[_Branch]:
    wanted = wanted.removeprefix("FHIR.")
    kept: list[_Branch] = []
    for branch in inputs:
        if branch.tpath in _RESOURCE_CONTAINERS and wanted[:1].isupper() and wanted not in _RESOURCE_CONTAINERS:
            # A contained / bundled resource: its type is only known at run time.
            def keep(values: list, wanted: str = wanted) -> list:
                return [v for v in values if isinstance(v, dict) and v.get("resourceType") == wanted]

            kept.append(_Branch((*branch.steps, ("call", keep)), wanted))
        elif _is_type(branch.tpath, wanted):
            kept.append(branch)
    return kept


def _filter(branch: _Branch, predicate: Callable[[Any], bool]) -> _Branch:
    return _Branch((*branch.steps, ("call", lambda values: [v for v in values if predicate(v)])), branch.tpath)


def _member(inputs: list[_Branch], name: str) -> list[_Branch]:
    return [
        _Branch((*branch.steps, ("field", key)), tpath)
        for branch in inputs
        for key, tpath in _children(branch.tpath, name)
    ]


def _invoke(node: dict, inputs: list[_Branch]) -> list[_Branch]:
    if _kind(node) == "MemberInvocation":
        return _member(inputs, _text(node["children"][0]))
    if _kind(node) != "FunctionInvocation":
        raise NotCompilable(f"invocation {_text(node)!r}")
    function = node["children"][0]
    name = _text(function["children"][0])
    params = function["children"][1]["children"] if len(function["children"]) > 1 else []
    return _call(name, params, inputs)


def _call(name: str, params: list[dict], inputs: list[_Branch]) -> list[_Branch]:
    if name in ("as", "ofType") and len(params) == 1:
        return _filter_type(inputs, _text(params[0]))
    if name == "where" and len(params) == 1:
        return [_filter(branch, _predicate(params[0], branch.tpath)) for branch in inputs]
    if name == "extension" and len(params) == 1:
        url = _literal(params[0]["children"][0]) if _kind(params[0]) == "TermExpression" else None
        if not isinstance(url, str):
            raise NotCompilable("extension() without a literal url")
        extensions = _member(inputs, "extension")
        return [_filter(branch, lambda v: isinstance(v, dict) and v.get("url") == url) for branch in extensions]
    if name == "exists" and len(params) <= 1:
        found = _call("where", params, inputs) if params else inputs
        return [_aggregate("boolean", found, lambda values: [bool(values)])]
    if name == "empty" and not params:
        return [_aggregate("boolean", inputs, lambda values: [not values])]
    if name == "first" and not params and len(inputs) == 1:
        return [_aggregate(inputs[0].tpath, inputs, lambda values: values[:1])]
    raise NotCompilable(f"function {name}() with {len(params)} argument(s)")


def _is_resolve(node: dict) -> bool:
    """``resolve()`` as the whole left operand of ``is``."""
    while _kind(node) in ("TermExpression", "InvocationTerm", "FunctionInvocation") and node.get("children"):
        node = node["children"][0]
    if _kind(node) != "Functn":
        return False
    return _text(node["children"][0]) == "resolve" and len(node["children"]) == 1


def _predicate(criteria: dict, tpath: str | None) -> Callable[[Any], bool]:
    if _kind(criteria) == "TypeExpression" and criteria["terminalNodeText"][0] == "is":
        if not _is_resolve(criteria["children"][0]):
            raise NotCompilable("'is' on something other than resolve()")
        wanted = _text(criteria["children"][1]).removeprefix("FHIR.")
        if wanted in _RESOURCE_CONTAINERS:
            return lambda value: reference_type(value) is not None
        return lambda value: reference_type(value) == wanted
    test = _collector(_compile(criteria, [_Branch((), tpath)]))
    return lambda value: (found := test([value])) == [True] and found[0] is True


# -- public entry points --------------------------------------------------------------------------------


def _extractor(runners: tuple[tuple[str | None, Runner], ...]) -> Extractor:
    def extract(focus: Any, resource: dict) -> list[tuple[str | None, list[Any]]]:
        start = [focus]
        results = []
        for tpath, run in runners:
            values = run(start)
            if values:
                results.append((tpath, values))
        return results

    return extract


@cache
def compile_expression(expression: str, context: str) -> CompiledExpression:
    """Compile ``expression`` for a focus of type path ``context``; fhirpathpy when not compilable."""
    from fhirpathpy.parser import parse

    try:
        branches = _compile(parse(expression), [_Branch((), context)])
    except NotCompilable as exc:
        log.debug("FHIRPath %r on %s falls back to fhirpathpy: %s", expression, context, exc)
        fallback = compile_with_fhirpathpy(expression, context)
        return CompiledExpression(expression, context, False, fallback.extract, str(exc))
    runners = tuple((branch.tpath, _runner(branch)) for branch in branches)
    return CompiledExpression(expression, context, True, _extractor(runners), branches=runners)


@cache
def compile_with_fhirpathpy(expression: str, context: str) -> CompiledExpression:
    """The same expression evaluated by fhirpathpy (the fallback, and the reference the tests use)."""
    from osler.fhir.fhirpath_fallback import fhirpathpy_extractor

    return CompiledExpression(expression, context, False, fhirpathpy_extractor(expression, context))
