"""Benchmark: search-index extraction, compiled FHIRPath vs fhirpathpy, on Synthea bundles.

Prints resources/s for
  * ``extract_index`` (compiled extractors, the production path),
  * fhirpathpy alone evaluating every indexed expression (parsed once, R4 model, no row conversion),
  * the same rows as ``extract_index`` but every expression evaluated by fhirpathpy (``index_param``
    with ``compile_with_fhirpathpy``), i.e. what indexing would cost without the compiler.

Usage: python bench/bench_indexing.py [number of bundles, default 5] [path to synthea-r4-100.tgz]
"""

from __future__ import annotations

import json
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from osler.fhir.fhirpath_compiler import compile_with_fhirpathpy
from osler.fhir.indexing import expression_stats, extract_index, index_param, indexed
from osler.fhir.search_parameters import params_for, supported_resource_types
from osler.reference_data import SYNTHEA_ARCHIVE

DEFAULT_ARCHIVE = SYNTHEA_ARCHIVE


def load_resources(archive: Path, bundles: int) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    with tarfile.open(archive, "r:gz") as tar:
        members = sorted((m for m in tar.getmembers() if m.name.endswith(".json")), key=lambda m: m.name)
        for member in members[:bundles]:
            handle = tar.extractfile(member)
            if handle is not None:
                resources.extend(entry["resource"] for entry in json.load(handle)["entry"])
    return resources


def fhirpathpy_only(resource: dict[str, Any]) -> int:
    """Evaluate every indexed expression of the resource with plain fhirpathpy; count failures."""
    import fhirpathpy
    from fhirpathpy.models import models

    failures = 0
    for definition in params_for(resource["resourceType"]).values():
        if indexed(definition):
            try:
                _raw(definition.expression, fhirpathpy, models["r4"])(resource)
            except Exception:
                failures += 1
    return failures


_RAW_CACHE: dict[str, Callable] = {}


def _raw(expression: str, fhirpathpy: Any, model: dict) -> Callable:
    if expression not in _RAW_CACHE:
        _RAW_CACHE[expression] = fhirpathpy.compile(expression, model)
    return _RAW_CACHE[expression]


def fhirpathpy_rows(resource: dict[str, Any]) -> int:
    failures = 0
    for definition in params_for(resource["resourceType"]).values():
        if indexed(definition):
            try:
                index_param(resource, definition, compile_with_fhirpathpy)
            except Exception:
                failures += 1
    return failures


def timed(label: str, function: Callable[[dict[str, Any]], Any], resources: list[dict[str, Any]]) -> float:
    for resource in resources[:50]:  # warm up: compile plans and expressions
        function(resource)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for resource in resources:
            function(resource)
        best = min(best, time.perf_counter() - start)
    rate = len(resources) / best
    print(f"{label:<44} {rate:>10,.0f} resources/s  {best / len(resources) * 1e6:>8,.0f} us/resource")
    return rate


def main(argv: list[str]) -> int:
    bundles = int(argv[1]) if len(argv) > 1 else 5
    archive = Path(argv[2]) if len(argv) > 2 else DEFAULT_ARCHIVE
    if not archive.is_file():
        print(f"Synthea archive not found: {archive}", file=sys.stderr)
        return 1
    resources = load_resources(archive, bundles)
    types = sorted({resource["resourceType"] for resource in resources})
    print(f"{len(resources)} resources from {bundles} Synthea bundles ({len(types)} types)")
    compiled = timed("extract_index (compiled FHIRPath)", extract_index, resources)
    raw = timed("fhirpathpy, every expression (no rows)", fhirpathpy_only, resources)
    rows = timed("same rows, fhirpathpy as the engine", fhirpathpy_rows, resources)
    print(f"speed-up: {compiled / raw:.1f}x vs fhirpathpy alone, {compiled / rows:.1f}x vs fhirpathpy rows")
    stats = expression_stats(supported_resource_types())
    print(
        f"expressions over all {len(supported_resource_types())} supported types: "
        f"{stats['compiled']} compiled, {stats['fallback']} fall back to fhirpathpy"
    )
    for resource_type, code, expression, reason in stats["fallbacks"]:
        print(f"  fallback {resource_type}.{code}: {expression!r} ({reason})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
