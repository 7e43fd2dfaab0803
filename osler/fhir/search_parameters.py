"""The FHIR R4 search-parameter registry: which parameters each resource type has, and how to find them.

Owns the shipped table ``data/search_parameters.json`` (generated from the official R4 definitions by
``scripts/build_search_parameters.py``) and its per-resource-type view. A definition shared by many
types (``clinical-patient``, ``Resource-id``...) is specialised per type: only the union branches of
its expression that start with that type are kept, and ``Resource.x`` / ``DomainResource.x`` become
``<Type>.x`` so that the expression can be evaluated on an instance of that type.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

# Types that are Resources but not DomainResources: DomainResource parameters (_text) skip them.
_NOT_DOMAIN_RESOURCES = frozenset({"Bundle", "Binary", "Parameters"})
_ABSTRACT_BASES = ("Resource", "DomainResource")


@dataclass(frozen=True, slots=True)
class SearchParam:
    code: str  # the name used in URLs: subject, _lastUpdated...
    type: str  # string|token|date|reference|quantity|number|uri|composite|special
    base: tuple[str, ...]
    expression: str  # FHIRPath; per-type view from params_for(), the full definition from all_params()
    targets: tuple[str, ...]
    url: str
    components: tuple[tuple[str, str], ...]  # (component param code, expression relative to the element)


@cache
def _table() -> dict[str, Any]:
    text = resources.files("osler.fhir").joinpath("data/search_parameters.json").read_text("utf-8")
    return json.loads(text)


def provenance() -> dict[str, str]:
    """Where the shipped definitions come from (source file, FHIR version)."""
    table = _table()
    return {"source": table["source"], "fhirVersion": table["fhirVersion"]}


@cache
def all_params() -> tuple[SearchParam, ...]:
    """Every R4 search-parameter definition, expressions unspecialised."""
    return tuple(
        SearchParam(
            code=raw["code"],
            type=raw["type"],
            base=tuple(raw["base"]),
            expression=raw.get("expression", ""),
            targets=tuple(raw.get("target", ())),
            url=raw["url"],
            components=tuple((comp["code"], comp["expression"]) for comp in raw.get("components", ())),
        )
        for raw in _table()["params"]
    )


def split_union(expression: str) -> list[str]:
    """Split an expression on its top-level ``|`` (not inside parentheses or string literals)."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for index, char in enumerate(expression):
        if char == "'" and (index == 0 or expression[index - 1] != "\\"):
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(expression[start:index].strip())
            start = index + 1
    parts.append(expression[start:].strip())
    return [part for part in parts if part]


def _leading_identifier(part: str) -> str:
    text = part.lstrip("( ")
    end = 0
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    return text[:end]


def _rebase(part: str, abstract: str, resource_type: str) -> str:
    """``Resource.meta.tag`` -> ``Patient.meta.tag`` (only the leading identifier is replaced)."""
    position = part.index(abstract)
    return part[:position] + resource_type + part[position + len(abstract) :]


def specialise_expression(definition: SearchParam, resource_type: str) -> str:
    """The part of a definition's expression that applies to one resource type."""
    if not definition.expression:
        return ""
    parts = split_union(definition.expression)
    kept: list[str] = []
    for part in parts:
        lead = _leading_identifier(part)
        if lead == resource_type:
            kept.append(part)
        elif lead in _ABSTRACT_BASES and lead in definition.base:
            kept.append(_rebase(part, lead, resource_type))
    if not kept and len(definition.base) == 1:
        # Relative expressions such as InsurancePlan's ``name | alias`` apply to their only base.
        return definition.expression
    return " | ".join(kept)


def _applies_to(definition: SearchParam, resource_type: str) -> bool:
    if resource_type in definition.base or "Resource" in definition.base:
        return True
    return "DomainResource" in definition.base and resource_type not in _NOT_DOMAIN_RESOURCES


def params_for(resource_type: str) -> dict[str, SearchParam]:
    """All search parameters of a resource type, by code, with per-type expressions.

    Includes the Resource / DomainResource parameters (``_id``, ``_lastUpdated``, ``_tag``,
    ``_profile``, ``_security``, ``_source``, ``_text``, ``_content``, ``_query``). Empty for an
    unknown type. The returned dict is shared and cached: do not mutate it.
    """
    # Checked before the cache so that arbitrary names coming from URLs cannot grow it.
    if resource_type not in _base_types():
        return {}
    return _params_for(resource_type)


@cache
def _params_for(resource_type: str) -> dict[str, SearchParam]:
    params: dict[str, SearchParam] = {}
    for definition in all_params():
        if _applies_to(definition, resource_type):
            expression = specialise_expression(definition, resource_type)
            params[definition.code] = replace(definition, expression=expression)
    return params


def param(resource_type: str, code: str) -> SearchParam | None:
    return params_for(resource_type).get(code)


@cache
def _base_types() -> frozenset[str]:
    return frozenset(base for definition in all_params() for base in definition.base) - set(_ABSTRACT_BASES)


def _r4b_model_exists(resource_type: str) -> bool:
    # fhir.resources names each model module after the lower-cased type; finding the module is
    # enough to know the validator knows the type, without importing ~150 pydantic models.
    return importlib.util.find_spec(f"fhir.resources.R4B.{resource_type.lower()}") is not None


@cache
def _supported() -> tuple[str, ...]:
    return tuple(sorted(rt for rt in _base_types() if _r4b_model_exists(rt)))


def supported_resource_types() -> list[str]:
    """R4 resource types that appear as a search-parameter base and that fhir.resources (R4B) validates."""
    return list(_supported())
