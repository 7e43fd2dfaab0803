"""The analytics transform: dbt builds the reporting tables on DuckDB from the extract, and its tests pass.

A small hand-built population exercises every reporting table (through the `osler etl` command), then a
second night's changes go through the incremental build, which must leave exactly the tables a full rebuild
of the same extract gives; the 100 shared Synthea bundles check the row counts at scale when ../shared/data
is present.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb

from osler.analytics.layout import AnalyticsLayout
from osler.analytics.pipeline import run_etl
from osler.analytics.transform import build
from osler.chronicle.bulk_load import LoadReport, find_files, load_files_parallel
from osler.chronicle.store import Chronicle

CLINIC_DAY = "2026-11-20T"


def at(clock: str) -> str:
    return f"{CLINIC_DAY}{clock}:00Z"


def ref(res_type: str, res_id: str) -> dict:
    return {"reference": f"{res_type}/{res_id}"}


def code(text: str, value: str = "1") -> dict:
    return {"coding": [{"system": "http://loinc.org", "code": value, "display": text}], "text": text}


POPULATION: list[dict] = [
    {"resourceType": "Organization", "id": "org", "name": "Osler Clinic"},
    {"resourceType": "Location", "id": "dept", "name": "Family Medicine",
     "managingOrganization": ref("Organization", "org")},
    {"resourceType": "Location", "id": "room1", "name": "Exam 1", "partOf": ref("Location", "dept"),
     "physicalType": {"coding": [{"code": "ro"}]}},
    {"resourceType": "Practitioner", "id": "doc", "name": [{"family": "Osler", "given": ["William"]}],
     "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}]},
    {"resourceType": "PractitionerRole", "id": "doc-fm", "practitioner": ref("Practitioner", "doc"),
     "specialty": [{"text": "Family Medicine"}]},
    *[{"resourceType": "Patient", "id": f"pat{n}", "name": [{"family": f"Doe{n}", "given": ["Jan"]}],
       "gender": "female", "birthDate": "1980-01-0" + str(n + 1),
       "identifier": [{"system": "urn:osler:mrn", "value": f"MRN{n}"}]} for n in range(3)],
    {"resourceType": "Coverage", "id": "cov", "status": "active", "beneficiary": ref("Patient", "pat0"),
     "payor": [{"display": "Acme Health"}], "subscriberId": "S-1"},
    {"resourceType": "Appointment", "id": "appt", "status": "fulfilled", "start": at("09:00"), "end": at("09:20"),
     "participant": [{"actor": ref("Patient", "pat0"), "status": "accepted"},
                     {"actor": ref("Practitioner", "doc"), "status": "accepted"},
                     {"actor": ref("Location", "dept"), "status": "accepted"}]},
    {"resourceType": "Encounter", "id": "enc0", "status": "finished", "class": {"code": "AMB"},
     "subject": ref("Patient", "pat0"), "appointment": [ref("Appointment", "appt")],
     "statusHistory": [{"status": "arrived", "period": {"start": at("08:55"), "end": at("09:05")}}],
     "location": [{"location": ref("Location", "room1"), "status": "completed",
                   "period": {"start": at("09:05"), "end": at("09:30")}}],
     "participant": [{"individual": ref("Practitioner", "doc"), "period": {"start": at("09:10"), "end": at("09:30")}}],
     "period": {"start": at("08:55"), "end": at("09:30")}},
    {"resourceType": "Encounter", "id": "enc1", "status": "in-progress", "class": {"code": "AMB"},
     "subject": ref("Patient", "pat1"), "period": {"start": at("10:00")}},
    {"resourceType": "ServiceRequest", "id": "order", "status": "completed", "intent": "order",
     "subject": ref("Patient", "pat0"), "encounter": ref("Encounter", "enc0"), "code": code("Basic panel", "51990-0"),
     "requester": ref("Practitioner", "doc")},
    {"resourceType": "Observation", "id": "na", "status": "final", "code": code("Sodium", "2951-2"),
     "subject": ref("Patient", "pat0"), "valueQuantity": {"value": 140, "unit": "mmol/L"}},
    {"resourceType": "Observation", "id": "k", "status": "final", "code": code("Potassium", "2823-3"),
     "subject": ref("Patient", "pat0"), "valueQuantity": {"value": 4.1, "unit": "mmol/L"}},
    {"resourceType": "DiagnosticReport", "id": "report", "status": "final", "code": code("Basic panel", "51990-0"),
     "subject": ref("Patient", "pat0"), "basedOn": [ref("ServiceRequest", "order")],
     "result": [ref("Observation", "na"), ref("Observation", "k")], "issued": at("11:00")},
    {"resourceType": "MedicationRequest", "id": "rx", "status": "active", "intent": "order",
     "subject": ref("Patient", "pat0"), "encounter": ref("Encounter", "enc0"), "requester": ref("Practitioner", "doc"),
     "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                               "code": "197361"}], "text": "Amlodipine 5 MG"}},
    # Valid FHIR, but no patient to file them under: the transform rejects them and goes on.
    {"resourceType": "Observation", "id": "orphan", "status": "final", "code": code("Glucose", "2345-7")},
    {"resourceType": "Encounter", "id": "stray", "status": "finished", "class": {"code": "AMB"},
     "subject": ref("Patient", "ghost")},
]


def osler(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "osler.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OSLER_HOME": str(home)})


def table(layout: AnalyticsLayout, sql: str) -> list[tuple]:
    with duckdb.connect(str(layout.warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def count(layout: AnalyticsLayout, name: str) -> int:
    return table(layout, f"select count(*) from reporting.{name}")[0][0]


BUILT_SCHEMAS = ("staging", "intermediate", "reporting", "warehouse", "omop")


def every_table(layout: AnalyticsLayout) -> dict[str, list[tuple]]:
    """Every built table's rows, in a stable order: what an incremental and a full build must agree on."""
    with duckdb.connect(str(layout.warehouse), read_only=True) as connection:
        names = connection.execute("select table_catalog || '.' || table_schema || '.\"' || table_name || '\"' "
                                   "from information_schema.tables "
                                   f"where table_schema in {BUILT_SCHEMAS} order by 1").fetchall()
        return {name: sorted(connection.execute(f"select * from {name}").fetchall(), key=repr) for (name,) in names}


def test_etl_builds_every_reporting_table_and_follows_changes(tmp_path: Path) -> None:
    chronicle = Chronicle.open(f"sqlite:///{tmp_path / 'osler.db'}")
    for resource in POPULATION:
        chronicle.update(resource["resourceType"], resource["id"], resource)
    chronicle.close()

    result = osler("etl", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"extracted {len(POPULATION)} resources of 12 type(s)" in result.stderr
    assert "tests passed, 2 rejected resource(s)" in result.stderr and "Traceback" not in result.stderr
    layout = AnalyticsLayout.under(tmp_path)
    assert {name: count(layout, name) for name in (
        "PATIENT", "PAT_ENC", "APPOINTMENT", "ORDER_PROC", "ORDER_RESULTS", "ORDER_MED", "CLARITY_SER",
        "CLARITY_DEP", "COVERAGE", "rejects")} == {
        "PATIENT": 3, "PAT_ENC": 2, "APPOINTMENT": 1, "ORDER_PROC": 1, "ORDER_RESULTS": 2, "ORDER_MED": 1,
        "CLARITY_SER": 1, "CLARITY_DEP": 1, "COVERAGE": 1, "rejects": 2}
    assert table(layout, "select resource_type, res_id, reject_reason from reporting.rejects order by 1") == [
        ("Encounter", "stray", "Patient not in the extract"), ("Observation", "orphan", "no subject Patient")]
    assert table(layout, "select PAT_MRN_ID, PAT_NAME, SEX from reporting.PATIENT where PAT_ID = 'pat0'") == [
        ("MRN0", "DOE0,JAN", "Female")]
    assert table(layout, "select DEPARTMENT_ID, VISIT_PROV_ID, APPT_STATUS from reporting.PAT_ENC "
                         "order by PAT_ENC_CSN_ID") == [("dept", "doc", "Completed"), (None, None, "Arrived")]
    clock = table(layout, "select PAT_ENC_CSN_ID, DEPARTMENT_ID, strftime(CHECKIN_DTTM at time zone 'UTC', '%H:%M'), "
                          "strftime(ROOMED_DTTM at time zone 'UTC', '%H:%M'), "
                          "strftime(SEEN_BY_PROV_DTTM at time zone 'UTC', '%H:%M'), "
                          "strftime(CHECKOUT_DTTM at time zone 'UTC', '%H:%M') from reporting.APPOINTMENT")
    assert clock == [("enc0", "dept", "08:55", "09:05", "09:10", "09:30")]
    assert table(layout, "select ORDER_PROC_ID, LINE, COMPONENT_ID, ORD_NUM_VALUE from reporting.ORDER_RESULTS "
                         "order by LINE") == [("order", 1, "2951-2", 140.0), ("order", 2, "2823-3", 4.1)]
    assert table(layout, "select PROV_NAME, NPI, SPECIALTY from reporting.CLARITY_SER") == [
        ("OSLER, WILLIAM", "1234567893", "Family Medicine")]

    # The next night: one patient renamed, one deleted, the patient the stray encounter named arrives, a report
    # drops a result, an observation is deleted — only they are extracted, and only they are staged again.
    chronicle = Chronicle.open(f"sqlite:///{tmp_path / 'osler.db'}")
    renamed = {**chronicle.read("Patient", "pat1").resource, "name": [{"family": "Roe", "given": ["Jan"]}]}
    chronicle.update("Patient", "pat1", renamed)
    chronicle.delete("Patient", "pat2")
    chronicle.update("Patient", "ghost", {"resourceType": "Patient", "id": "ghost", "gender": "male"})
    report_resource = chronicle.read("DiagnosticReport", "report").resource
    chronicle.update("DiagnosticReport", "report", {**report_resource, "result": [ref("Observation", "na")]})
    chronicle.delete("Observation", "orphan")
    # A prescriber nobody loaded: the relationship test warns, the load goes on.
    rx = next(r for r in POPULATION if r["id"] == "rx")
    chronicle.update("MedicationRequest", "rx2", {**rx, "id": "rx2", "requester": ref("Practitioner", "ghost")})
    report = run_etl(chronicle, layout)
    assert report.extract.resources == {"Patient": 3, "DiagnosticReport": 1, "Observation": 1, "MedicationRequest": 1}
    assert report.transform is not None and report.transform.ok, report.transform
    assert report.transform.tests_warned == 1 and report.transform.rejects == 0
    assert table(layout, "select PAT_ID, PAT_LAST_NAME from reporting.PATIENT order by PAT_ID") == [
        ("ghost", None), ("pat0", "Doe0"), ("pat1", "Roe")]
    assert count(layout, "ORDER_MED") == 2 and count(layout, "ORDER_RESULTS") == 1 and count(layout, "PAT_ENC") == 3
    # A night that touches one provider only: the staging model that reads practitioners and what is
    # downstream of it are built and tested, the other types' staging models are not run at all.
    doctor = chronicle.read("Practitioner", "doc").resource
    chronicle.update("Practitioner", "doc", {**doctor, "name": [{"family": "Osler", "given": ["Bill"]}]})
    built: list[str] = []
    report = run_etl(chronicle, layout, on_node=lambda node, status: built.append(node))
    assert report.transform is not None and report.transform.ok, report.transform
    assert {"stg_fhir__practitioner", "CLARITY_SER", "ProviderDim", "provider"} <= set(built)
    assert not {"stg_fhir__patient", "stg_fhir__observation", "stg_fhir__encounter"} & set(built)
    assert table(layout, "select PROV_NAME from reporting.CLARITY_SER") == [("OSLER, BILL",)]
    incremental = every_table(layout)
    # Nothing new: neither the extract nor the warehouse is touched.
    assert run_etl(chronicle, layout).transform is None
    chronicle.close()
    rebuilt = build(layout, full_refresh=True)
    assert rebuilt.ok, rebuilt.failures
    assert every_table(layout) == incremental


def test_etl_refuses_an_unknown_format_in_one_line(tmp_path: Path) -> None:
    result = osler("etl", "--format", "csv", home=tmp_path)
    assert result.returncode == 1
    assert "unknown format 'csv'" in result.stderr and "Traceback" not in result.stderr


def test_synthea_population_builds_with_real_counts(synthea_dir: Path, tmp_path: Path) -> None:
    expected: Counter[str] = Counter()
    for bundle in synthea_dir.glob("*.json"):
        expected.update(entry["resource"]["resourceType"] for entry in json.loads(bundle.read_bytes())["entry"])
    database_url = f"sqlite:///{tmp_path / 'osler.db'}"
    chronicle = Chronicle.open(database_url)
    loaded = LoadReport()
    load_files_parallel(chronicle, database_url, find_files([synthea_dir]), loaded, jobs=2)
    assert loaded.failures == []

    layout = AnalyticsLayout.under(tmp_path)
    report = run_etl(chronicle, layout)
    chronicle.close()
    assert report.extract.resources == dict(expected)
    assert report.transform is not None and report.transform.ok, report.transform.failures
    assert report.transform.tests_passed > 100 and report.transform.rejects == 0
    assert count(layout, "PATIENT") == expected["Patient"] == 100
    assert count(layout, "PAT_ENC") == expected["Encounter"]
    assert count(layout, "ORDER_MED") == expected["MedicationRequest"]
    assert count(layout, "ORDER_PROC") == expected["DiagnosticReport"]  # Synthea's reports come without orders
    assert count(layout, "CLARITY_SER") == expected["Practitioner"]
    assert count(layout, "ORDER_RESULTS") > expected["DiagnosticReport"]
