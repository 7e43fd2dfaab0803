"""Derived search parameters: recognised from the definitions, never indexed, answered from the rows of
the parameters they are made of — exactly the rows they would have had, on the official examples and
Synthea — and searched, chained, included and sorted on as before."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from osler.chronicle.store import Chronicle
from osler.fhir.derived_params import AnsweredFrom, answered_from, derived_params
from osler.fhir.indexing import extract_index, index_param
from osler.fhir.search_parameters import params_for, supported_resource_types

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
LOINC = "http://loinc.org"


def test_the_two_patterns_are_recognised_from_the_expressions() -> None:
    assert answered_from("Observation", "patient") == AnsweredFrom(("subject",), "Patient")
    assert answered_from("Task", "patient") == AnsweredFrom(("subject",), "Patient")  # Task.for
    assert answered_from("Appointment", "practitioner") == AnsweredFrom(("actor",), "Practitioner")
    assert answered_from("Observation", "combo-code") == AnsweredFrom(("code", "component-code"))
    assert answered_from("Observation", "combo-code-value-quantity") == \
        AnsweredFrom(("code-value-quantity", "component-code-value-quantity"))
    # Its own element, not a view of another parameter: stored as it is.
    assert answered_from("AllergyIntolerance", "patient") == AnsweredFrom(("patient",))
    assert answered_from("Observation", "subject") == AnsweredFrom(("subject",))
    everywhere = {code for t in supported_resource_types() for code in derived_params(t)}
    assert everywhere == {"patient", "practitioner", "location", "relatedperson", "combo-code",
                          "combo-value-quantity", "combo-value-concept", "combo-data-absent-reason",
                          "combo-code-value-quantity", "combo-code-value-concept"}
    for res_type in supported_resource_types():  # never answered from another derived parameter
        for source in derived_params(res_type).values():
            assert not set(source.codes) & set(derived_params(res_type)), res_type


def _examples() -> Iterator[dict[str, Any]]:
    package = SHARED_DATA / "fhir" / "hl7.fhir.r4.examples-4.0.1.tgz"
    synthea = SHARED_DATA / "synthea-r4-100.tgz"
    if not package.is_file() or not synthea.is_file():
        pytest.skip(f"the FHIR R4 examples or Synthea sample are not available under {SHARED_DATA}")
    supported = set(supported_resource_types())
    with tarfile.open(package, "r:gz") as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.name.endswith(".json") else None
            try:
                resource = json.load(handle) if handle is not None else None
            except ValueError:
                continue
            if isinstance(resource, dict) and resource.get("resourceType") in supported:
                yield resource
                for entry in resource.get("entry") or [] if resource["resourceType"] == "Bundle" else []:
                    if isinstance(entry.get("resource"), dict) and entry["resource"].get("resourceType") in supported:
                        yield entry["resource"]
    with tarfile.open(synthea, "r:gz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name)[:6]:
            handle = tar.extractfile(member) if member.name.endswith(".json") else None
            if handle is not None:
                yield from (entry["resource"] for entry in json.load(handle)["entry"])


@pytest.mark.shared_data
def test_a_derived_parameter_would_have_had_exactly_the_rows_it_is_answered_from() -> None:
    compared = with_rows = 0
    for resource in _examples():
        res_type = resource["resourceType"]
        params = params_for(res_type)
        stored = set(extract_index(resource))
        for code, source in derived_params(res_type).items():
            own = {row._replace(param="") for row in index_param(resource, params[code])}
            answering = {row._replace(param="") for row in stored if row.param in source.codes
                         and (source.target_type is None or row.target_type == source.target_type)}
            assert own == answering, f"{res_type}/{resource.get('id')} {code}"
            assert not any(row.param == code for row in stored)
            compared += 1
            with_rows += bool(own)
    assert compared > 4_500 and with_rows > 1_500


@pytest.fixture
def charted(chronicle: Chronicle) -> dict[str, str]:
    """Two patients, a group; Observations with and without components, about each."""
    ids = {}
    for name in ("ann", "bea"):
        ids[name] = chronicle.create({"resourceType": "Patient", "name": [{"family": name.title()}]}).stored.res_id
    ids["team"] = chronicle.create({"resourceType": "Group", "type": "person", "actual": True}).stored.res_id

    def observe(key: str, subject: str, code: str, value: float | None = None,
                components: list[tuple[str, float]] = ()) -> None:
        resource: dict[str, Any] = {"resourceType": "Observation", "status": "final", "subject": {"reference": subject},
                                    "code": {"coding": [{"system": LOINC, "code": code}]}}
        if value is not None:
            resource["valueQuantity"] = {"value": value, "unit": "mg/dL", "system": "http://unitsofmeasure.org",
                                         "code": "mg/dL"}
        if components:
            resource["component"] = [{"code": {"coding": [{"system": LOINC, "code": c}]},
                                      "valueQuantity": {"value": v, "unit": "mm[Hg]"}} for c, v in components]
        ids[key] = chronicle.create(resource).stored.res_id

    observe("glucose", f"Patient/{ids['ann']}", "2345-7", 105)
    observe("pressure", f"Patient/{ids['bea']}", "85354-9", components=[("8480-6", 150), ("8462-4", 95)])
    observe("census", f"Group/{ids['team']}", "2345-7", 90)
    return ids


def _found(chronicle: Chronicle, res_type: str, params: list[tuple[str, str]]) -> set[str]:
    return {s.res_id for s in chronicle.search(res_type, params).matches}


def test_searches_on_derived_parameters_read_the_rows_they_are_made_of(chronicle: Chronicle,
                                                                       charted: dict[str, str]) -> None:
    ann, bea, team = charted["ann"], charted["bea"], charted["team"]
    glucose, pressure, census = charted["glucose"], charted["pressure"], charted["census"]
    assert _found(chronicle, "Observation", [("patient", ann)]) == {glucose}
    assert _found(chronicle, "Observation", [("patient", f"Patient/{bea}")]) == {pressure}
    assert _found(chronicle, "Observation", [("patient", team)]) == set()  # a Group is no patient
    assert _found(chronicle, "Observation", [("subject", team)]) == {census}
    assert _found(chronicle, "Observation", [("patient:missing", "true")]) == {census}
    assert _found(chronicle, "Observation", [("patient:missing", "false")]) == {glucose, pressure}
    assert _found(chronicle, "Observation", [("patient.family", "Bea")]) == {pressure}  # chained
    assert _found(chronicle, "Patient", [("_has:Observation:patient:code", "2345-7")]) == {ann}
    # combo-*: the resource's own code and value, or any component's
    assert _found(chronicle, "Observation", [("combo-code", "8462-4")]) == {pressure}
    assert _found(chronicle, "Observation", [("combo-code", f"{LOINC}|2345-7")]) == {glucose, census}
    assert _found(chronicle, "Observation", [("combo-value-quantity", "gt100")]) == {glucose, pressure}
    assert _found(chronicle, "Observation", [("combo-code-value-quantity", "8480-6$150")]) == {pressure}
    assert _found(chronicle, "Observation", [("combo-code-value-quantity", "8480-6$95")]) == set()  # not paired
    assert _found(chronicle, "Observation", [("combo-code-value-quantity", "2345-7$ge100")]) == {glucose}
    page = chronicle.search("Observation", [("_include", "Observation:patient"), ("code", "2345-7")])
    assert {s.res_id for s in page.included} == {ann}  # not the Group the census is about
    page = chronicle.search("Patient", [("_revinclude", "Observation:patient"), ("_id", f"{ann},{bea}")])
    assert {s.res_id for s in page.included} == {glucose, pressure}
    ordered = chronicle.search("Observation", [("_sort", "-combo-value-quantity")]).matches
    assert [s.res_id for s in ordered] == [pressure, glucose, census]  # 150 (a component), 105, 90
