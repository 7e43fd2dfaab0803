"""Conformance against data nobody here wrote: the 100 Synthea R4 bundles and the official R4
examples of the clinical resource types. Skipped, with the reason, when ../shared/data is absent."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func, select

from osler.chronicle.bulk_load import LoadReport, find_files, load_file
from osler.chronicle.schema import resource
from osler.chronicle.store import Chronicle
from osler.chronicle.versions import without_server_meta

CLINICAL_TYPES = {
    "Patient", "Practitioner", "PractitionerRole", "Organization", "Location", "Encounter", "Observation",
    "Condition", "AllergyIntolerance", "Procedure", "MedicationRequest", "MedicationStatement",
    "MedicationAdministration", "MedicationDispense", "DiagnosticReport", "Immunization", "CarePlan", "CareTeam",
    "Goal", "ServiceRequest", "Specimen", "DocumentReference", "Coverage", "Device", "DeviceRequest",
    "FamilyMemberHistory", "Communication", "Appointment", "Claim", "ExplanationOfBenefit",
}


def official_examples(shared_data: Path) -> Iterator[dict]:
    with tarfile.open(shared_data / "fhir" / "hl7.fhir.r4.examples-4.0.1.tgz") as archive:
        for member in archive.getmembers():
            if not member.name.endswith(".json") or not member.isfile():
                continue
            handle = archive.extractfile(member)
            try:
                example = json.load(handle)  # type: ignore[arg-type]
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(example, dict) and example.get("resourceType") in CLINICAL_TYPES and example.get("id"):
                yield example


def test_official_r4_examples_round_trip(shared_data: Path, tmp_path: Path) -> None:
    chronicle = Chronicle.open(f"sqlite:///{tmp_path / 'examples.db'}")
    examples = list(official_examples(shared_data))
    assert len(examples) > 300
    for example in examples:
        stored = chronicle.update(example["resourceType"], example["id"], example).stored
        read = chronicle.read(example["resourceType"], example["id"]).resource
        assert read["meta"]["versionId"] == str(stored.version)
        assert without_server_meta(read) == without_server_meta(example), example["id"]
    chronicle.close()


def test_all_synthea_bundles_load_and_reload_adds_nothing(synthea_dir: Path, tmp_path: Path) -> None:
    chronicle = Chronicle.open(f"sqlite:///{tmp_path / 'synthea.db'}")
    files = find_files([synthea_dir])
    assert len(files) == 100
    expected = sum(len(json.loads(f.read_bytes())["entry"]) for f in files)
    first = LoadReport()
    for path in files:
        load_file(chronicle, path, first)
    assert first.failures == []
    assert first.resources == expected and first.loaded_units == 100
    second = LoadReport()
    for path in files:
        load_file(chronicle, path, second)
    assert second.resources == 0 and second.skipped_units == 100
    with chronicle.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(resource)).scalar_one() == expected
    page = chronicle.search("Observation", [("code", "http://loinc.org|8302-2"), ("_summary", "count")])
    assert page.total and page.total > 100
    chronicle.close()
