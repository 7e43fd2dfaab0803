"""The validation fast path (``osler.fhir.shapes``) never accepts what fhir.resources rejects.

Checked on hand-made cases (always), then on every official R4 example, a sample of Synthea, and
thousands of seeded mutants of them (when ../shared/data is present): whenever the fast path says
"conforms", the library's full validation must accept too. The fast path must also actually be
taken for ordinary resources — a check that always said "not sure" would be safe but useless.
"""

from __future__ import annotations

import copy
import io
import json
import random
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from osler.fhir.outcome import InvalidResource
from osler.fhir.shapes import conforms, resource_model
from osler.fhir.validation import validate_resource

OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation", "id": "chol-1", "status": "final",
    "meta": {"versionId": "1", "lastUpdated": "2024-01-02T10:00:00Z"},
    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                              "code": "laboratory"}]}],
    "code": {"coding": [{"system": "http://loinc.org", "code": "2093-3", "display": "Cholesterol"}]},
    "subject": {"reference": "Patient/abc"}, "effectiveDateTime": "2024-01-02T10:00:00-05:00",
    "issued": "2024-01-02T10:00:00.123-05:00",
    "valueQuantity": {"value": 182.5, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"},
    "referenceRange": [{"high": {"value": 200, "unit": "mg/dL"}, "text": "<200"}],
    "contained": [{"resourceType": "Practitioner", "id": "p1", "name": [{"family": "Osler", "given": ["W"]}]}],
}


def library_accepts(resource: dict[str, Any]) -> bool:
    model = resource_model(resource.get("resourceType"))
    assert model is not None
    try:
        model.model_validate_json(orjson.dumps(resource))
    except (ValidationError, ValueError, TypeError, KeyError, AttributeError):  # the last two: library crashes
        return False
    return True


def fast_accepts(resource: dict[str, Any]) -> bool:
    model = resource_model(resource.get("resourceType"))
    assert model is not None
    return conforms(model, resource)


def changed(resource: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    mutant = copy.deepcopy(resource)
    target = mutant
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return mutant


def without(resource: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    mutant = copy.deepcopy(resource)
    target = mutant
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return mutant


HAND_MADE = [
    ("an ordinary lab result", OBSERVATION, True),
    ("a status outside the code pattern", changed(OBSERVATION, ("status",), "final "), False),
    ("an unknown element", changed(OBSERVATION, ("colour",), "red"), False),
    ("an unknown nested element", changed(OBSERVATION, ("code", "colour"), "red"), False),
    ("the required code missing", without(OBSERVATION, ("code",)), False),
    ("the required status missing", without(OBSERVATION, ("status",)), False),
    ("two choices of value[x]", changed(OBSERVATION, ("valueString",), "high"), False),
    ("an impossible date", changed(OBSERVATION, ("effectiveDateTime",), "2024-02-30"), False),
    ("a dateTime with a time but no zone", changed(OBSERVATION, ("effectiveDateTime",), "2024-01-02T10:00:00"),
     False),
    ("an instant without a zone", changed(OBSERVATION, ("issued",), "2024-01-02T10:00:00"), False),
    ("a list where one value belongs", changed(OBSERVATION, ("subject",), [{"reference": "Patient/abc"}]), False),
    ("one value where a list belongs", changed(OBSERVATION, ("category",), {"text": "lab"}), False),
    ("a number where a string belongs", changed(OBSERVATION, ("subject", "reference"), 5), False),
    ("an empty string", changed(OBSERVATION, ("subject", "display"), ""), False),
    ("an unknown contained resource type", changed(OBSERVATION, ("contained", 0, "resourceType"), "Nonsense"),
     False),
    ("an unknown element in a contained resource", changed(OBSERVATION, ("contained", 0, "colour"), "red"), False),
    ("a boolean where a url belongs", changed(OBSERVATION, ("contained", 0, "telecom"), [{"system": "url",
     "value": "x"}]) | {"extension": [{"url": True, "valueString": "x"}]}, False),
]


@pytest.mark.parametrize(("case", "resource", "valid"), HAND_MADE, ids=[case for case, _, _ in HAND_MADE])
def test_hand_made_cases(case: str, resource: dict[str, Any], valid: bool) -> None:
    assert library_accepts(resource) is valid, case
    assert fast_accepts(resource) is valid, case
    if not valid:
        with pytest.raises(InvalidResource):
            validate_resource(resource)


@pytest.mark.parametrize(("case", "resource"), [
    ("a string where an integer belongs", changed(OBSERVATION, ("valueInteger",), "5") | {"valueQuantity": None}),
    ("a null element", changed(OBSERVATION, ("subject",), None)),
    ("an empty element", changed(OBSERVATION, ("subject",), {})),
    ("a primitive's extension sibling", changed(OBSERVATION, ("_status",), {"extension": [
        {"url": "http://example.org/why", "valueString": "because"}]})),
])
def test_what_the_fast_path_is_not_sure_of_goes_to_the_library(case: str, resource: dict[str, Any]) -> None:
    """The library is lenient about some of these; the fast path leaves all of them to it."""
    resource = {key: value for key, value in resource.items() if value is not None or key == "subject"}
    assert fast_accepts(resource) is False, case
    if library_accepts(resource):
        assert validate_resource(resource) == "Observation"


# ------------------------------------------------------------------------------------ reference data


def official_examples(shared_data: Path) -> Iterator[dict[str, Any]]:
    with tarfile.open(shared_data / "fhir" / "hl7.fhir.r4.examples-4.0.1.tgz") as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.endswith(".json"):
                continue
            try:
                example = json.load(archive.extractfile(member))  # type: ignore[arg-type]
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(example, dict) and resource_model(example.get("resourceType")) is not None:
                yield example


def synthea_resources(shared_data: Path, patients: int) -> Iterator[dict[str, Any]]:
    with tarfile.open(shared_data / "synthea-r4-100.tgz") as archive:
        bundles = [m for m in archive.getmembers() if m.isfile() and m.name.endswith(".json")][:patients]
        for member in bundles:
            bundle = json.load(io.BytesIO(archive.extractfile(member).read()))  # type: ignore[union-attr]
            for entry in bundle.get("entry", []):
                yield entry["resource"]


def test_every_official_example_gets_the_library_verdict(shared_data: Path) -> None:
    examples = list(official_examples(shared_data))
    assert len(examples) > 5000
    fast = [example for example in examples if fast_accepts(example)]
    # The library takes ~50 s for all of them on this machine: a fixed sample of 2,000 is checked.
    for example in random.Random(4).sample(fast, 2000):
        assert library_accepts(example), f"{example['resourceType']}/{example.get('id')}"
    assert len(fast) > len(examples) * 0.9  # the fast path is taken for almost every real resource


def test_synthea_resources_take_the_fast_path(shared_data: Path) -> None:
    resources = list(synthea_resources(shared_data, patients=3))
    fast = [r for r in resources if fast_accepts(r)]
    for resource in fast[::7]:  # the library is slow: a sample of the fast verdicts, every type represented
        assert library_accepts(resource), resource["resourceType"]
    assert len(fast) > len(resources) * 0.95


# --------------------------------------------------------------------------------------------- mutants

WRONG_VALUES: list[Any] = ["", " x", "x ", "2021-02-30", "2021-13-01", "10:61:00", "-1", "0", 0, -1, 1.5,
                           2**40, True, "true", None, {}, [], [None], {"colour": "red"}, ["a"], [{}], "urn:uuid:x",
                           "a b", "\n", "1e400", float("inf")]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def mutants(resource: dict[str, Any], rng: random.Random, count: int) -> Iterator[dict[str, Any]]:
    paths = [p for p in _paths(resource) if p != ("resourceType",)]
    for _ in range(count):
        path = rng.choice(paths)
        kind = rng.random()
        if kind < 0.2 and isinstance(path[-1], str):
            yield without(resource, path)
        elif kind < 0.35 and isinstance(path[-1], str):
            yield changed(resource, (*path[:-1], path[-1] + rng.choice(["x", "String", "Boolean", "Reference"])),
                          rng.choice([*WRONG_VALUES, "2021-01-01"]))
        else:
            yield changed(resource, path, rng.choice(WRONG_VALUES))


def test_mutants_of_real_resources_never_pass_the_fast_path_wrongly(shared_data: Path) -> None:
    rng = random.Random(20261123)
    originals = [e for e in official_examples(shared_data) if fast_accepts(e)]
    originals += [r for r in synthea_resources(shared_data, patients=1) if fast_accepts(r)]
    checked = rejected = 0
    for original in rng.sample(originals, 300):
        for mutant in mutants(original, rng, 10):
            checked += 1
            if fast_accepts(mutant):
                assert library_accepts(mutant), json.dumps(mutant)[:2000]
            elif not library_accepts(mutant):
                rejected += 1
    assert checked == 3000
    assert rejected > checked * 0.3  # the mutants are mostly real errors, and those were all caught
