"""The CapabilityStatement at ``/fhir/metadata``, generated from what the server really supports:
the resource types fhir.resources can validate, each with the R4 search parameters that the
index actually extracts."""

from __future__ import annotations

from functools import cache
from typing import Any

from osler import __version__
from osler.fhir.search_parameters import params_for, supported_resource_types

INTERACTIONS = ["read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create",
                "search-type"]
RESULT_PARAMS = ["_sort", "_count", "_include", "_revinclude", "_summary", "_total", "_elements"]


@cache
def capability_statement(base_url: str) -> dict[str, Any]:
    resources = []
    for res_type in supported_resource_types():
        search_params = [
            {"name": code, "definition": spec.url, "type": spec.type}
            for code, spec in sorted(params_for(res_type).items()) if spec.type != "special"
        ]
        entry: dict[str, Any] = {
            "type": res_type,
            "profile": f"http://hl7.org/fhir/StructureDefinition/{res_type}",
            "interaction": [{"code": code} for code in INTERACTIONS],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalUpdate": True,
            "conditionalDelete": "not-supported",
            "referencePolicy": ["literal", "logical"],
            "searchInclude": ["*"],
            "searchRevInclude": ["*"],
            "searchParam": search_params,
        }
        if res_type == "Patient":
            entry["operation"] = [
                {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"},
                {"name": "match", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-match"},
            ]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-23",
        "publisher": "Osler",
        "kind": "instance",
        "software": {"name": "Osler", "version": __version__},
        "implementation": {"description": "Osler FHIR R4 server", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [{
            "mode": "server",
            "resource": resources,
            "interaction": [{"code": "transaction"}, {"code": "batch"}, {"code": "history-system"},
                            {"code": "search-system"}],
            "searchParam": [{"name": name, "type": "special" if name != "_count" else "number"}
                            for name in RESULT_PARAMS],
        }],
    }
