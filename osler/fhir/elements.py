"""``_elements`` and ``_summary``: trimming a resource to what the client asked for.

Summary elements come from the ``fhir.resources`` models (the spec's isSummary flags), so they
follow the spec rather than a hand-kept list. A trimmed resource is tagged SUBSETTED, as required.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from osler.fhir.validation import model_class

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
ALWAYS = ("resourceType", "id", "meta")


@cache
def summary_elements(resource_type: str) -> frozenset[str]:
    cls = model_class(resource_type)
    if cls is None:
        return frozenset()
    names = set()
    for name, field in cls.model_fields.items():
        extra = field.json_schema_extra or {}
        if isinstance(extra, dict) and extra.get("summary_element_property"):
            names.add(field.alias or name)
    return frozenset(names)


def _tagged(kept: dict[str, Any]) -> dict[str, Any]:
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    kept["meta"] = meta
    return kept


def _choice_match(key: str, names: set[str] | frozenset[str]) -> bool:
    # value[x] elements are asked for by their base name (``value`` keeps ``valueQuantity``).
    return any(key.startswith(name) and key[len(name):][:1].isupper() for name in names)


def apply_elements(resource: dict[str, Any], elements: list[str]) -> dict[str, Any]:
    wanted = {e.split(".")[-1] if "." in e else e for e in elements}
    kept = {k: v for k, v in resource.items()
            if k in ALWAYS or k in wanted or k.lstrip("_") in wanted or _choice_match(k, wanted)}
    return _tagged(kept)


def apply_summary(resource: dict[str, Any], mode: str) -> dict[str, Any]:
    if mode == "false":
        return resource
    if mode == "data":
        return _tagged({k: v for k, v in resource.items() if k != "text"})
    if mode == "text":
        kept = {k: v for k, v in resource.items() if k in ALWAYS or k == "text"}
        return _tagged(kept)
    names = summary_elements(resource.get("resourceType", ""))
    kept = {k: v for k, v in resource.items()
            if k in ALWAYS or k in names or k.lstrip("_") in names or _choice_match(k, names)}
    return _tagged(kept)
