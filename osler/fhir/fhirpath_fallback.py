"""FHIRPath through ``fhirpathpy``: the fallback for expressions the compiler does not handle.

Owns the adapter that makes a fhirpathpy evaluation look like a compiled extractor: parsed once per
expression, evaluated with the R4 model (choice elements need it), ``%resource`` bound, a
``resolve()`` that knows a reference's target type from the reference itself (there is no server to
ask), and results grouped by the FHIR type fhirpathpy reports.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from osler.fhir.index_values import reference_type


def _resolve(inputs: list[Any]) -> list[Any]:
    from fhirpathpy.engine.nodes import ResourceNode

    found = []
    for item in inputs:
        target = reference_type(item)
        if target is not None:
            found.append(ResourceNode.create_node({"resourceType": target}))
    return found


_OPTIONS = {"returnRawData": True, "userInvocationTable": {"resolve": {"fn": _resolve, "arity": {0: []}}}}


def _python_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, (float, Decimal)):
        return "decimal"
    return None


def _group(nodes: list[Any]) -> list[tuple[str | None, list[Any]]]:
    from fhirpathpy.engine.nodes import FP_Type, ResourceNode

    groups: dict[str | None, list[Any]] = {}
    for node in nodes:
        if isinstance(node, ResourceNode):
            tpath, value = node.path, node.data
        elif isinstance(node, FP_Type):
            tpath, value = "string", node.toString()
        else:
            tpath, value = _python_type(node), node
        if value is not None:
            groups.setdefault(tpath, []).append(value)
    return list(groups.items())


def _union_parts(node: dict) -> list[dict]:
    """The operands of a top-level ``a | b | c``.

    Evaluated one by one because fhirpathpy's union re-creates its result nodes without their
    types (Identifier and ContactPoint would look alike, backbone elements lose their path);
    duplicates the union would have removed are removed from the rows instead.
    """
    if node.get("type") != "UnionExpression":
        return [node]
    return [part for child in node["children"] for part in _union_parts(child)]


def fhirpathpy_extractor(expression: str, context: str) -> Callable[[Any, dict], list]:
    """An extractor (see ``fhirpath_compiler``) that evaluates ``expression`` with fhirpathpy.

    Parse and evaluation errors propagate: the indexer logs them per parameter and carries on.
    """
    from fhirpathpy import apply_parsed_path
    from fhirpathpy.engine.nodes import ResourceNode
    from fhirpathpy.models import models
    from fhirpathpy.parser import parse

    model = models["r4"]
    parts = [{"children": [part]} for part in _union_parts(parse(expression)["children"][0])]

    def extract(focus: Any, resource: dict) -> list[tuple[str | None, list[Any]]]:
        # A resource carries its own type; an element needs its path for the model to type it.
        root = focus if focus is resource else ResourceNode.create_node(focus, context)
        variables = {"resource": resource, "rootResource": resource}
        nodes: list[Any] = []
        for part in parts:
            nodes.extend(apply_parsed_path(root, part, variables, model, _OPTIONS))
        return _group(nodes)

    return extract
