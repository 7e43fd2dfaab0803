"""A small hand-built population for the OMOP tests, and a warehouse built from it through `run_etl`.

Its codes are chosen against the shipped vocabulary subset: SNOMED 44054006 maps to standard concept 201826
(Type 2 diabetes mellitus); ICD-10-CM G43.909 is not in the subset (concept 0); LOINC 4548-4 (HbA1c, unit %
→ 8554) is a Measurement; LOINC 72166-2 (tobacco smoking status) maps to an Observation-domain concept;
RxNorm 314076 (lisinopril 10 MG Oral Tablet) rolls up to the ingredient lisinopril through CONCEPT_ANCESTOR.
It is stuffed with identifiers (``IDENTIFIERS``) for the de-identification test: names, addresses, phones, an
email, an SSN, an MRN, a Medicare MBI, an NPI, exact dates, ids that carry an MRN, and a patient over 89.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from osler.analytics.layout import AnalyticsLayout
from osler.analytics.pipeline import EtlReport, run_etl
from osler.chronicle.store import Chronicle

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def ref(res_type: str, res_id: str) -> dict:
    return {"reference": f"{res_type}/{res_id}"}


def coded(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def prescription(res_id: str, authored: str) -> dict:
    return {"resourceType": "MedicationRequest", "id": res_id, "status": "active", "intent": "order",
            "subject": ref("Patient", "pt-778899"), "requester": ref("Practitioner", "doc"), "authoredOn": authored,
            "medicationCodeableConcept": coded(RXNORM, "314076", "lisinopril 10 MG Oral Tablet")}


PHONE, EMAIL, SSN, MRN, MBI, NPI = ("617-555-0142", "alice.example@mail.test", "999-12-3456", "MRN-778899",
                                   "1EG4-TE5-MK73", "1234567893")
# Every string that must not survive de-identification (exact dates included), and Ruth's birth year (she is 96).
IDENTIFIERS = ["Alice", "Example", "1 Main St", "Boston", "Suffolk", "02115", "03601", "Ruth", "Elder", "Lebanon",
               PHONE, "6175550142", EMAIL, SSN, "999123456", MRN, MBI, NPI, "pt-778899", "William", "Osler",
               "Acme Health", "1960-05-01", "2024-01-10", "1930-07-04", "http://alice.example"]
ELDER_BIRTH_YEAR = 1930


def identified(res_id: str, given: str, family: str, born: str, gender: str, address: dict) -> dict:
    return {"resourceType": "Patient", "id": res_id, "gender": gender, "birthDate": born,
            "name": [{"family": family, "given": [given]}], "address": [address],
            "telecom": [{"system": "phone", "value": PHONE}, {"system": "email", "value": EMAIL},
                        {"system": "url", "value": "http://alice.example"}]}


POPULATION: list[dict] = [
    {"resourceType": "Organization", "id": "clinic", "name": "Osler Clinic"},
    {"resourceType": "Practitioner", "id": "doc", "name": [{"family": "Osler", "given": ["William"]}],
     "gender": "male", "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": NPI}]},
    {**identified("pt-778899", "Alice", "Example", "1960-05-01", "female",
                  {"line": ["1 Main St"], "city": "Boston", "district": "Suffolk", "state": "MA",
                   "postalCode": "02115"}),
     "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": MRN},
                    {"system": "http://hl7.org/fhir/sid/us-ssn", "value": SSN},
                    {"system": "http://hl7.org/fhir/sid/us-mbi", "value": MBI}]},
    identified("ruth", "Ruth", "Elder", "1930-07-04", "female",
               {"line": ["9 Elm Rd"], "city": "Lebanon", "state": "NH", "postalCode": "03601"}),
    {"resourceType": "Patient", "id": "bob", "gender": "male", "birthDate": "1950-02-03",
     "deceasedDateTime": "2025-06-01T10:00:00Z"},
    {"resourceType": "Coverage", "id": "medicare", "status": "active", "beneficiary": ref("Patient", "pt-778899"),
     "payor": [{"display": "Acme Health"}], "subscriberId": MBI, "period": {"start": "2024-01-01"}},
    {"resourceType": "Encounter", "id": "visit", "status": "finished", "class": {"code": "AMB"},
     "subject": ref("Patient", "pt-778899"), "serviceProvider": ref("Organization", "clinic"),
     "participant": [{"individual": ref("Practitioner", "doc")}],
     "period": {"start": "2024-01-10T09:00:00Z", "end": "2024-01-10T09:30:00Z"}},
    {"resourceType": "Encounter", "id": "bob-visit", "status": "finished", "class": {"code": "EMER"},
     "subject": ref("Patient", "bob"), "period": {"start": "2025-05-30T22:00:00Z", "end": "2025-05-31T02:00:00Z"}},
    {"resourceType": "Condition", "id": "diabetes", "subject": ref("Patient", "pt-778899"),
     "encounter": ref("Encounter", "visit"), "onsetDateTime": "2024-01-10T09:00:00Z",
     "code": coded(SNOMED, "44054006", "Diabetes mellitus type 2")},
    {"resourceType": "Condition", "id": "migraine", "subject": ref("Patient", "pt-778899"),
     "onsetDateTime": "2024-02-01T00:00:00Z", "code": coded(ICD10CM, "G43.909", "Migraine, unspecified")},
    {"resourceType": "Observation", "id": "a1c", "status": "final", "subject": ref("Patient", "pt-778899"),
     "encounter": ref("Encounter", "visit"), "effectiveDateTime": "2024-01-10T09:15:00Z",
     "code": coded(LOINC, "4548-4", "Hemoglobin A1c"), "valueQuantity": {"value": 7.2, "unit": "%"}},
    {"resourceType": "Observation", "id": "smoking", "status": "final", "subject": ref("Patient", "pt-778899"),
     "effectiveDateTime": "2024-01-10T09:16:00Z", "code": coded(LOINC, "72166-2", "Tobacco smoking status"),
     "valueCodeableConcept": coded(SNOMED, "266919005", "Never smoker")},
    {"resourceType": "Observation", "id": "smoking-note", "status": "final", "subject": ref("Patient", "pt-778899"),
     "effectiveDateTime": "2024-01-10T09:17:00Z", "code": coded(LOINC, "72166-2", "Tobacco smoking status"),
     "valueString": f"Alice Example ({PHONE}) quit on 2024-01-10"},
    # Lisinopril on day 0, 20 days later (same era) and 40 days after that (a new era).
    prescription("rx1", "2024-03-01T10:00:00Z"),
    prescription("rx2", "2024-03-21T10:00:00Z"),
    prescription("rx3", "2024-04-30T10:00:00Z"),
]


def build_warehouse(home: Path, population: list[dict]) -> tuple[AnalyticsLayout, EtlReport]:
    """Store ``population`` in a fresh Chronicle under ``home`` and run the ETL (extract + dbt build)."""
    chronicle = Chronicle.open(f"sqlite:///{home / 'osler.db'}")
    for resource in population:
        chronicle.update(resource["resourceType"], resource["id"], resource)
    layout = AnalyticsLayout.under(home)
    try:
        report = run_etl(chronicle, layout)
    finally:
        chronicle.close()
    return layout, report


@pytest.fixture(scope="session")
def omop_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnalyticsLayout]:
    """The warehouse built once from ``POPULATION`` (extract, staging, …, omop) for the OMOP, DQ and de-id tests."""
    layout, report = build_warehouse(tmp_path_factory.mktemp("omop"), POPULATION)
    assert report.transform is not None and report.transform.ok, report.transform
    yield layout


@pytest.fixture(scope="session")
def synthea_omop_warehouse(synthea_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnalyticsLayout]:
    """The warehouse built once from the 100 shared Synthea bundles (skipped when ../shared/data is missing)."""
    from osler.chronicle.bulk_load import LoadReport, find_files, load_files_parallel

    home = tmp_path_factory.mktemp("synthea-omop")
    database_url = f"sqlite:///{home / 'osler.db'}"
    chronicle = Chronicle.open(database_url)
    loaded = LoadReport()
    load_files_parallel(chronicle, database_url, find_files([synthea_dir]), loaded, jobs=2)
    assert loaded.failures == []
    layout = AnalyticsLayout.under(home)
    try:
        report = run_etl(chronicle, layout)
    finally:
        chronicle.close()
    assert report.transform is not None and report.transform.ok, report.transform.failures
    yield layout
