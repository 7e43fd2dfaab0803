"""Build ``osler/fhir/data/search_parameters.json`` from the official FHIR R4 SearchParameter bundle.

Reads ``package/Bundle-searchParams.json`` straight out of the HL7 R4 examples package (the tgz is
never copied into the repository) and keeps only what the registry and the indexer need: code, type,
base, expression, targets, composite components and url. Narrative, contacts, XPath and the like are
dropped so the shipped table stays small.

Usage: python scripts/build_search_parameters.py [path/to/hl7.fhir.r4.examples-4.0.1.tgz]
"""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PACKAGE = REPO_ROOT / ".." / "shared" / "data" / "fhir" / "hl7.fhir.r4.examples-4.0.1.tgz"
BUNDLE_MEMBER = "package/Bundle-searchParams.json"
OUTPUT = REPO_ROOT / "osler" / "fhir" / "data" / "search_parameters.json"
FHIR_VERSION = "4.0.1"


def read_bundle(package: Path) -> dict[str, Any]:
    with tarfile.open(package, "r:gz") as archive:
        member = archive.extractfile(BUNDLE_MEMBER)
        if member is None:
            raise SystemExit(f"{BUNDLE_MEMBER} is not a regular file in {package}")
        return json.load(member)


def compact_param(definition: dict[str, Any], codes_by_url: dict[str, str]) -> dict[str, Any]:
    """One SearchParameter reduced to the fields the registry reads; empty fields are left out."""
    entry: dict[str, Any] = {
        "code": definition["code"],
        "type": definition["type"],
        "base": definition["base"],
        "url": definition["url"],
    }
    if definition.get("expression"):
        entry["expression"] = definition["expression"]
    if definition.get("target"):
        entry["target"] = definition["target"]
    if definition.get("component"):
        # A component names its parameter by canonical URL; the search engine and the indexer
        # think in codes, so resolve it here once.
        entry["components"] = [
            {"code": codes_by_url[component["definition"]], "expression": component["expression"]}
            for component in definition["component"]
        ]
    return entry


def build_table(bundle: dict[str, Any], source: str) -> dict[str, Any]:
    definitions = [entry["resource"] for entry in bundle["entry"]]
    codes_by_url = {definition["url"]: definition["code"] for definition in definitions}
    params = [compact_param(definition, codes_by_url) for definition in definitions]
    params.sort(key=lambda param: param["url"])
    return {
        "source": source,
        "fhirVersion": FHIR_VERSION,
        "generatedBy": "scripts/build_search_parameters.py",
        "count": len(params),
        "params": params,
    }


def dump(table: dict[str, Any]) -> str:
    """JSON with one parameter per line: compact, yet a regenerated file diffs line by line."""
    header = {key: value for key, value in table.items() if key != "params"}
    lines = [json.dumps(param, ensure_ascii=False, separators=(",", ":")) for param in table["params"]]
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":"))[:-1]
    return head + ',"params":[\n' + ",\n".join(lines) + "\n]}\n"


def main(argv: list[str]) -> int:
    package = Path(argv[1]) if len(argv) > 1 else DEFAULT_PACKAGE
    if not package.is_file():
        print(f"FHIR R4 examples package not found: {package}", file=sys.stderr)
        return 1
    table = build_table(read_bundle(package), f"{package.name}#{BUNDLE_MEMBER}")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(dump(table), encoding="utf-8")
    print(f"wrote {table['count']} search parameters to {OUTPUT.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
