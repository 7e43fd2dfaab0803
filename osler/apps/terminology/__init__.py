"""Terminology: the small code subsets Osler ships (LOINC, RxNorm, ICD-10-CM, HCPCS Level II,
SNOMED CT, UCUM, and CPT/E&M as bare numbers) with a lookup API.

Each file ``data/<name>.json`` holds one code system's concepts used by one application::

    {"system": "http://loinc.org", "concepts": [{"code": "8867-4", "display": "Heart rate",
                                                "properties": {"unit": "/min"}}]}

Several files may share a system (charting's vitals and the lab's tests are both LOINC); they are
merged at first use. CPT concepts carry no display: Osler may store CPT codes as numbers only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from osler.fhir.outcome import InvalidResource

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
CPT = "http://www.ama-assn.org/go/cpt"

SYSTEMS = {"loinc": LOINC, "rxnorm": RXNORM, "icd10cm": ICD10CM, "hcpcs": HCPCS, "snomed": SNOMED, "ucum": UCUM,
           "cpt": CPT}


class UnknownCode(InvalidResource):
    """A code that is not in the shipped subset of its system (422)."""

    code = "code-invalid"


@dataclass(frozen=True)
class Concept:
    system: str
    code: str
    display: str | None
    properties: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def coding(self) -> dict[str, Any]:
        """As a FHIR Coding (no display for CPT)."""
        return {"system": self.system, "code": self.code, **({"display": self.display} if self.display else {})}

    def as_json(self) -> dict[str, Any]:
        return {**self.coding(), "properties": self.properties}


@cache
def _catalog() -> dict[str, dict[str, Concept]]:
    catalog: dict[str, dict[str, Concept]] = {system: {} for system in SYSTEMS.values()}
    folder = resources.files(__package__) / "data"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        document = json.loads(entry.read_text(encoding="utf-8"))
        system = document["system"]
        if system not in catalog:
            raise ValueError(f"terminology file {entry.name}: unknown system {system!r}")
        for item in document["concepts"]:
            display = None if system == CPT else item.get("display")
            concept = Concept(system, item["code"], display, item.get("properties", {}))
            known = catalog[system].get(concept.code)
            if known is not None and known.display != concept.display:
                raise ValueError(f"terminology file {entry.name}: {system}|{concept.code} is already "
                                 f"{known.display!r}, not {concept.display!r}")
            if known is not None:  # the same concept from two applications: merge their properties
                concept = Concept(system, concept.code, display, {**known.properties, **concept.properties})
            catalog[system][concept.code] = concept
    return catalog


def system_uri(name_or_uri: str) -> str:
    """``loinc`` or ``http://loinc.org`` → ``http://loinc.org``; unknown systems raise ``UnknownCode``."""
    uri = SYSTEMS.get(name_or_uri.lower(), name_or_uri)
    if uri not in _catalog():
        raise UnknownCode(f"code system {name_or_uri!r} is not one Osler ships; use one of {', '.join(SYSTEMS)}")
    return uri


def lookup(system: str, code: str) -> Concept | None:
    """The concept, or None when the code is not in the shipped subset."""
    return _catalog()[system_uri(system)].get(code)


def require(system: str, code: str, *, what: str = "code") -> Concept:
    """The concept; ``UnknownCode`` (422) naming ``what`` when it is not known."""
    concept = lookup(system, code)
    if concept is None:
        raise UnknownCode(f"{what} {code!r} is not a known {system_uri(system)} code")
    return concept


def coding(system: str, code: str, *, what: str = "code") -> dict[str, Any]:
    """A FHIR Coding for a known code, display filled from the table."""
    return require(system, code, what=what).coding()


def concepts(system: str) -> list[Concept]:
    return list(_catalog()[system_uri(system)].values())


def search(system: str, text: str, limit: int = 20) -> list[Concept]:
    """Concepts whose code starts with, or whose display contains, every word of ``text``."""
    prefix, words = text.lower(), text.lower().split()

    def matches(concept: Concept) -> bool:
        display = (concept.display or "").lower()
        return concept.code.lower().startswith(prefix) or (bool(words) and all(w in display for w in words))

    return [c for c in concepts(system) if matches(c)][:limit]


__all__ = ["CPT", "HCPCS", "ICD10CM", "LOINC", "RXNORM", "SNOMED", "SYSTEMS", "UCUM", "Concept", "UnknownCode",
           "coding", "concepts", "lookup", "require", "search", "system_uri"]
