"""Shapes: the structure of every FHIR R4B type, read once from fhir.resources' own models, and a
fast check that parsed JSON conforms to it.

Why this exists: fhir.resources validates every nested element through a Python model ``__init__``
and three Python model validators. Measured on this machine, that is ~0.35 ms for a lab
Observation — a quarter of the CPU time of filing a lab result, and the largest single cost of
every write. This walks the parsed JSON once instead.

It never changes a verdict. Its rules are the library's rules, taken from the library: element
names and cardinality from the models' fields, required elements and choice (``[x]``) groups from
the models' own ``get_required_fields`` / ``get_one_of_many_fields``, and every primitive value
checked by the library's own pydantic type for that element (memoised: codes, systems and
references repeat). Whatever it does not model exactly — a null, an empty element, a primitive's
``_element`` extension sibling, a value of another JSON type than the element's (the library
coerces some), ``fhir_comments``, a field's Python name instead of its JSON name — makes it answer
"not sure", and the caller then runs the library's full validation, which decides and words the
errors. So ``conforms(...) or full validation`` accepts exactly what the library accepts; the
tests check that on every official R4 example, Synthea, and thousands of mutants of them.
"""

from __future__ import annotations

import datetime
import decimal
import types
import typing
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase, FhirElementOrResourceBase
from pydantic import TypeAdapter, ValidationError

# Memo sizes: enough for every code, system and reference a busy server sees in a while; a memo
# that fills up is simply cleared. Long strings (narratives, notes) are checked but not memoised.
MEMO_LIMIT = 100_000
MEMO_MAX_LENGTH = 200

# The JSON types a primitive's Python type is read from; a value of any other JSON type is left to
# the library (it coerces, e.g. "5" for an integer).
_JSON_TYPES: dict[type, tuple[type, ...]] = {
    str: (str,), bool: (bool,), int: (int,), decimal.Decimal: (int, float),
    datetime.datetime: (str,), datetime.date: (str,), datetime.time: (str,), bytes: (str,),
    uuid.UUID: (str,),
}


@dataclass(slots=True, eq=False)
class Primitive:
    """One primitive type's value check: the library's own pydantic type, memoised by value."""

    json_types: tuple[type, ...]
    adapter: TypeAdapter[Any]
    memo: dict[Any, bool] = field(default_factory=dict)

    def accepts(self, value: Any) -> bool:
        if type(value) not in self.json_types:
            return False
        verdict = self.memo.get(value)
        if verdict is not None:
            return verdict
        try:
            self.adapter.validate_python(value)
            verdict = True
        except (ValidationError, ValueError, TypeError):
            verdict = False
        if type(value) is not str or len(value) <= MEMO_MAX_LENGTH:
            if len(self.memo) >= MEMO_LIMIT:
                self.memo.clear()
            self.memo[value] = verdict
        return verdict


@dataclass(slots=True, eq=False)
class Element:
    """One JSON property of a type: repeating or not, and the check for each of its values."""

    many: bool
    accepts: Callable[[Any], bool]


@dataclass(slots=True, eq=False)
class Shape:
    """One model's JSON properties, its required properties and its choice groups."""

    resource_type: str | None
    elements: dict[str, Element]
    required: tuple[str, ...]
    choice_groups: tuple[tuple[frozenset[str], bool], ...]
    choice_keys: frozenset[str]


def conforms(model: type[FHIRAbstractModel], data: dict[str, Any]) -> bool:
    """True when ``data`` certainly conforms to ``model`` (fhir.resources would accept it).

    False means "not sure": the caller must run the library's full validation.
    """
    return _conforms(shape_of(model), data)


def _conforms(shape: Shape, data: dict[str, Any]) -> bool:
    elements = shape.elements
    for key, value in data.items():
        element = elements.get(key)
        if element is None:
            if key == "resourceType" and value == shape.resource_type:
                continue
            return False
        accepts = element.accepts
        if element.many:
            if type(value) is not list or not value:
                return False
            for item in value:
                if not accepts(item):
                    return False
        elif not accepts(value):
            return False
    for key in shape.required:
        if key not in data:
            return False
    if shape.choice_groups:
        present = shape.choice_keys.intersection(data)
        for keys, required in shape.choice_groups:
            count = len(keys & present)
            if count > 1 or (required and count == 0):
                return False
    return True


@cache
def shape_of(model: type[FHIRAbstractModel]) -> Shape:
    """The model's shape, built on first use (nested types are resolved when first checked)."""
    fields = model.model_fields
    elements: dict[str, Element] = {}
    for name, info in fields.items():
        key = info.alias or name
        if name == "fhir_comments" or key.startswith("_"):
            continue  # comments and primitive extension siblings: left to the library
        annotation, many = _unwrap(info.annotation)
        elements[key] = Element(many=many, accepts=_value_check(annotation))
    required = [fields[name].alias or name for name, info in fields.items() if info.is_required()]
    # The library's own rule lists (instance methods that ignore ``self``).
    required += [fields[name].alias or name for name, _ in model.get_required_fields(None)]  # type: ignore[arg-type]
    groups = tuple(
        (frozenset(fields[name].alias or name for name in names),
         bool((fields[names[0]].json_schema_extra or {}).get("one_of_many_required")))  # type: ignore[union-attr]
        for names in model.get_one_of_many_fields(None).values())  # type: ignore[arg-type]
    resource_type = model.get_resource_type() if model.has_resource_base() else None
    return Shape(resource_type=resource_type, elements=elements, required=tuple(dict.fromkeys(required)),
                 choice_groups=groups, choice_keys=frozenset().union(*(keys for keys, _ in groups)))


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """Strip ``Optional``/``| None`` and ``List``: the element's type, and whether it repeats."""
    many = False
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(arguments) != 1:
                return annotation, many  # a union of primitives (Resource.id): checked as a whole
            annotation = arguments[0]
        elif origin is list:
            many = True
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation, many


def _value_check(annotation: Any) -> Callable[[Any], bool]:
    if isinstance(annotation, type) and issubclass(annotation, FhirBase):
        model = annotation.get_model_klass()
        if issubclass(annotation, FhirElementOrResourceBase):
            return _contained_resource if model.__name__ == "Resource" else _not_sure
        return _complex_check(model)
    json_types = _json_types(annotation)
    if json_types is None:
        return _not_sure
    return _primitive(annotation, json_types).accepts


def _complex_check(model: type[FHIRAbstractModel]) -> Callable[[Any], bool]:
    def accepts(value: Any) -> bool:
        return type(value) is dict and bool(value) and _conforms(shape_of(model), value)

    return accepts


def _contained_resource(value: Any) -> bool:
    """A resource inside another (``contained``, ``Bundle.entry.resource``): by its resourceType."""
    if type(value) is not dict:
        return False
    model = resource_model(value.get("resourceType"))
    return model is not None and _conforms(shape_of(model), value)


def _not_sure(value: Any) -> bool:
    return False


@cache
def _primitive(annotation: Any, json_types: tuple[type, ...]) -> Primitive:
    return Primitive(json_types=json_types, adapter=TypeAdapter(annotation))


def _json_types(annotation: Any) -> tuple[type, ...] | None:
    """The JSON types a primitive accepts without coercion; None for a type this does not know."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        found = {_json_types(argument) for argument in typing.get_args(annotation)} - {None}
        return found.pop() if found == {(str,)} else None
    if annotation is not str and isinstance(annotation, type) and issubclass(annotation, str):
        return (str,)  # pydantic's URL types
    return _JSON_TYPES.get(annotation) or ((str,) if _is_url_type(annotation) else None)


def _is_url_type(annotation: Any) -> bool:
    return getattr(annotation, "__module__", "").startswith("pydantic.networks")


@cache
def resource_model(resource_type: Any) -> type[FHIRAbstractModel] | None:
    """The fhir.resources model of a resource type name; None for anything else."""
    if not isinstance(resource_type, str):
        return None
    try:
        model = get_fhir_model_class(resource_type)
    except (ValueError, KeyError, AttributeError):
        return None
    return model if issubclass(model, Resource) else None
