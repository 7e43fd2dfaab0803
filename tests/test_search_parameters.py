"""The search-parameter registry: shipped table, per-type specialisation, lookups."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from osler.fhir.search_parameters import (
    SearchParam,
    all_params,
    param,
    params_for,
    provenance,
    split_union,
    supported_resource_types,
)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
PACKAGE = SHARED_DATA / "fhir" / "hl7.fhir.r4.examples-4.0.1.tgz"


def test_provenance_is_recorded() -> None:
    assert provenance() == {
        "source": "hl7.fhir.r4.examples-4.0.1.tgz#package/Bundle-searchParams.json",
        "fhirVersion": "4.0.1",
    }
    assert len(all_params()) == 1375


def test_shipped_table_is_what_the_script_builds() -> None:
    if not PACKAGE.is_file():
        pytest.skip(f"FHIR R4 examples package not available at {PACKAGE}")
    spec = importlib.util.spec_from_file_location(
        "build_search_parameters", REPO / "scripts" / "build_search_parameters.py"
    )
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    table = script.build_table(script.read_bundle(PACKAGE), provenance()["source"])
    shipped = (REPO / "osler" / "fhir" / "data" / "search_parameters.json").read_text("utf-8")
    assert json.loads(script.dump(table)) == json.loads(shipped)


def test_patient_parameters_include_resource_level_ones() -> None:
    patient = params_for("Patient")
    for code in ("_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "_text", "_content"):
        assert code in patient
    assert patient["_lastUpdated"] == SearchParam(
        code="_lastUpdated",
        type="date",
        base=("Resource",),
        expression="Patient.meta.lastUpdated",
        targets=(),
        url="http://hl7.org/fhir/SearchParameter/Resource-lastUpdated",
        components=(),
    )
    assert patient["_id"].expression == "Patient.id"
    assert patient["birthdate"].type == "date" and patient["birthdate"].expression == "Patient.birthDate"
    assert patient["name"].type == "string"
    assert patient["email"].expression == "Patient.telecom.where(system='email')"
    assert set(patient["general-practitioner"].targets) == {"Organization", "Practitioner", "PractitionerRole"}


def test_multi_base_expressions_keep_only_their_type() -> None:
    observation = param("Observation", "patient")
    assert observation is not None
    assert observation.expression == "Observation.subject.where(resolve() is Patient)"
    assert observation.url == "http://hl7.org/fhir/SearchParameter/clinical-patient"
    assert len(observation.base) > 20 and observation.targets == ("Patient", "Group")
    assert param("AllergyIntolerance", "patient").expression == "AllergyIntolerance.patient"  # type: ignore[union-attr]
    assert param("MedicationRequest", "code").expression == "(MedicationRequest.medication as CodeableConcept)"  # type: ignore[union-attr]
    # ``Medication`` must not pick up the MedicationRequest branches of the same definition.
    assert param("Medication", "code").expression == "Medication.code"  # type: ignore[union-attr]
    assert param("Patient", "email").url == "http://hl7.org/fhir/SearchParameter/individual-email"  # type: ignore[union-attr]


def test_relative_single_base_expression_is_kept() -> None:
    assert param("InsurancePlan", "name").expression == "name | alias"  # type: ignore[union-attr]


def test_composite_components_name_their_parameters() -> None:
    composite = param("Observation", "component-code-value-quantity")
    assert composite is not None and composite.type == "composite"
    assert composite.expression == "Observation.component"
    assert composite.components == (
        ("component-code", "code"),
        ("component-value-quantity", "value.as(Quantity)"),
    )
    combo = param("Observation", "combo-code-value-quantity")
    assert combo is not None and combo.expression == "Observation | Observation.component"
    for code, _ in combo.components:
        assert param("Observation", code) is not None


def test_domain_resource_parameters_skip_bundle() -> None:
    bundle = params_for("Bundle")
    assert "_id" in bundle and "composition" in bundle
    assert "_text" not in bundle
    assert bundle["composition"].expression == "Bundle.entry[0].resource"


def test_unknown_types_and_codes() -> None:
    assert params_for("NotAType") == {}
    assert params_for("Resource") == {}
    assert param("Patient", "no-such-param") is None
    assert param("NotAType", "_id") is None


def test_codes_are_unique_per_type() -> None:
    for resource_type in supported_resource_types():
        seen = [d.code for d in all_params() if resource_type in d.base]
        assert len(seen) == len(set(seen)), resource_type


def test_supported_resource_types() -> None:
    types = supported_resource_types()
    assert types == sorted(types)
    assert {"Patient", "Observation", "Encounter", "Bundle", "MolecularSequence"} <= set(types)
    # R4-only types that the R4B models of fhir.resources cannot validate.
    assert "MedicinalProduct" not in types and "SubstanceSpecification" not in types
    assert "Resource" not in types and "DomainResource" not in types
    assert 100 < len(types) < 146


def test_split_union_respects_parentheses_and_quotes() -> None:
    assert split_union("(A.b as C) | A.d.where(x = 'p|q') | A.e") == [
        "(A.b as C)",
        "A.d.where(x = 'p|q')",
        "A.e",
    ]
    assert split_union("A.b") == ["A.b"]
