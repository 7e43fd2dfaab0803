"""HTTP API of the terminology service: the code subsets Osler ships, looked up and searched.

* ``GET /api/terminology/{system}/{code}`` — one concept as JSON (system, code, display, properties);
  404 when the code is not in the shipped subset. ``system`` is a short name (``loinc``, ``rxnorm``,
  ``icd10cm``, ``hcpcs``, ``snomed``, ``ucum``, ``cpt``) or the system URI (percent-encoded or not).
* ``GET /api/terminology/{system}?q=text`` — concepts whose code starts with, or whose display
  contains every word of, ``q``.
* ``GET /fhir/CodeSystem/$lookup?system=…&code=…`` — the FHIR operation: a ``Parameters`` resource
  (``name``, ``display``, ``property``), a 404 OperationOutcome when the system or code is unknown.

CPT codes come back without a display: Osler ships CPT codes as numbers only.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request

from osler.apps import terminology
from osler.fhir.outcome import NotFound
from osler.interfaces.app_api.registration import OutcomeRoute
from osler.interfaces.app_api.scheduling import JsonResponse
from osler.interfaces.fhir_api.http import FhirResponse

router = APIRouter(prefix="/api/terminology", tags=["terminology"], route_class=OutcomeRoute)
fhir_router = APIRouter(prefix="/fhir", tags=["FHIR operations"], route_class=OutcomeRoute)

NAMES = {terminology.LOINC: "LOINC", terminology.RXNORM: "RxNorm", terminology.ICD10CM: "ICD-10-CM",
         terminology.HCPCS: "HCPCS Level II", terminology.SNOMED: "SNOMED CT", terminology.UCUM: "UCUM",
         terminology.CPT: "CPT"}
SystemName = Annotated[str, Path(max_length=200, description="short name (loinc, rxnorm…) or system URI")]
Text = Annotated[str, Query(min_length=1, max_length=200)]


def known_system(name_or_uri: str) -> str:
    """The system's URI; 404 for a system Osler does not ship."""
    uri = terminology.SYSTEMS.get(name_or_uri.lower(), name_or_uri)
    if uri not in NAMES:
        raise NotFound(f"code system {name_or_uri!r} is not one Osler ships; use one of "
                       f"{', '.join(terminology.SYSTEMS)} or their URIs")
    return uri


def split_target(target: str) -> tuple[str, str]:
    """``loinc/8867-4`` or ``http://loinc.org/8867-4`` → (system URI, code): the longest known system
    that prefixes the path, so URIs and codes with slashes (UCUM ``mg/dL``) both work."""
    candidates = [*terminology.SYSTEMS.items(), *((uri, uri) for uri in NAMES)]
    for prefix, uri in sorted(candidates, key=lambda item: len(item[0]), reverse=True):
        if target.lower().startswith(f"{prefix.lower()}/") and len(target) > len(prefix) + 1:
            return uri, target[len(prefix) + 1:]
    raise NotFound(f"{target!r} names no code of a system Osler ships; use /api/terminology/<system>/<code>")


def concept_or_404(system: str, code: str) -> terminology.Concept:
    concept = terminology.lookup(system, code)
    if concept is None:
        raise NotFound(f"{code!r} is not a known {NAMES[system]} code")
    return concept


@router.get("/{system}", summary="Search a code system")
async def search(system: SystemName, q: Text, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> JsonResponse:
    uri = known_system(system)
    found = terminology.search(uri, q, limit=limit)
    return JsonResponse({"system": uri, "query": q, "concepts": [c.as_json() for c in found]})


@router.get("/{system}/{code:path}", summary="Look up a code")
async def lookup(system: SystemName, code: str) -> JsonResponse:
    """The concept (system, code, display, properties); 404 when the code is not shipped."""
    uri, code = split_target(f"{system}/{code}")
    return JsonResponse(concept_or_404(uri, code).as_json())


@fhir_router.get("/CodeSystem/$lookup", summary="FHIR CodeSystem/$lookup")
async def code_system_lookup(request: Request, system: Text, code: Text) -> FhirResponse:
    """A Parameters resource: ``name`` (the code system), ``display`` (none for CPT), a ``property``
    per shipped property; 404 OperationOutcome when the system or code is unknown."""
    uri = known_system(system)
    concept = concept_or_404(uri, code)
    parameters: list[dict[str, Any]] = [{"name": "name", "valueString": NAMES[uri]}]
    if concept.display:
        parameters.append({"name": "display", "valueString": concept.display})
    parameters += [{"name": "property", "part": [{"name": "code", "valueCode": key}, _value(value)]}
                   for key, value in concept.properties.items()]
    return FhirResponse({"resourceType": "Parameters", "parameter": parameters})


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"name": "value", "valueBoolean": value}
    if isinstance(value, int):
        return {"name": "value", "valueInteger": value}
    if isinstance(value, float):
        return {"name": "value", "valueDecimal": value}
    if isinstance(value, str):
        return {"name": "value", "valueString": value}
    return {"name": "value", "valueString": orjson.dumps(value).decode()}
