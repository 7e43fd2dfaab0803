"""OMOP CDM 5.4 built by dbt from the extract: exact rows for a hand-built population, and the Synthea bundles.

The population (tests/omop_population.py) holds a condition with a known mapping, a code the vocabulary lacks,
a LOINC measurement with a unit, a LOINC code whose standard concept is an Observation, and lisinopril
prescribed on day 0, day 20 and day 60 (one drug era of two exposures, then a new one).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import duckdb

from osler.analytics.layout import AnalyticsLayout
from osler.analytics.quality.checks import DATA as CHECK_DATA
from osler.analytics.transform import run_tests

OMOP_TABLES = ["person", "observation_period", "visit_occurrence", "condition_occurrence", "drug_exposure",
               "measurement", "procedure_occurrence", "observation", "device_exposure", "death", "location",
               "care_site", "provider", "payer_plan_period", "condition_era", "drug_era"]


def query(layout: AnalyticsLayout, sql: str) -> list[tuple]:
    with duckdb.connect(str(layout.warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def spec() -> list[dict[str, str]]:
    with (CHECK_DATA / "omop_field_checks.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def of(person: str) -> str:
    """A join condition picking the rows of the person whose FHIR id is ``person``."""
    return f"person_id = (select person_id from omop.person where person_source_value = '{person}')"


def test_every_table_has_the_cdm_columns_in_order(omop_warehouse: AnalyticsLayout) -> None:
    fields = spec()
    for table in OMOP_TABLES:
        built = [name for (name,) in query(omop_warehouse, "select column_name from information_schema.columns "
                                                           f"where table_schema = 'omop' and table_name = '{table}' "
                                                           "order by ordinal_position")]
        assert built == [row["cdmFieldName"] for row in fields if row["cdmTableName"] == table], table


def test_population_maps_to_exact_omop_rows(omop_warehouse: AnalyticsLayout) -> None:
    counts = {table: query(omop_warehouse, f"select count(*) from omop.{table}")[0][0] for table in OMOP_TABLES}
    assert counts == {"person": 3, "observation_period": 2, "visit_occurrence": 2, "condition_occurrence": 2,
                      "drug_exposure": 3, "measurement": 1, "procedure_occurrence": 0, "observation": 2,
                      "device_exposure": 0, "death": 1, "location": 2, "care_site": 1, "provider": 1,
                      "payer_plan_period": 1, "condition_era": 1, "drug_era": 2}
    assert query(omop_warehouse, "select person_source_value, gender_concept_id, year_of_birth, month_of_birth, "
                                 "day_of_birth, race_concept_id, location_id is not null from omop.person "
                                 "order by 1") == [
        ("bob", 8507, 1950, 2, 3, 0, False), ("pt-778899", 8532, 1960, 5, 1, 0, True),
        ("ruth", 8532, 1930, 7, 4, 0, True)]
    # Type 2 diabetes maps to 201826; the ICD-10-CM migraine code is not in the vocabulary: concept 0, kept.
    assert query(omop_warehouse, "select condition_source_value, condition_concept_id, condition_source_concept_id, "
                                 "condition_start_date, condition_type_concept_id, visit_occurrence_id is not null "
                                 f"from omop.condition_occurrence where {of('pt-778899')} order by 1") == [
        ("44054006", 201826, 201826, dt.date(2024, 1, 10), 32817, True),
        ("G43.909", 0, 0, dt.date(2024, 2, 1), 32817, False)]
    assert query(omop_warehouse, "select measurement_source_value, measurement_concept_id, value_as_number, "
                                 "unit_concept_id, unit_source_value, measurement_date from omop.measurement") == [
        ("4548-4", 3004410, 7.2, 8554, "%", dt.date(2024, 1, 10))]
    # Tobacco smoking status is a LOINC code whose standard concept lives in the Observation domain.
    assert query(omop_warehouse, "select observation_source_value, observation_concept_id, value_as_string "
                                 "from omop.observation order by value_as_string") == [
        ("72166-2", 43054909, "Alice Example (617-555-0142) quit on 2024-01-10"),
        ("72166-2", 43054909, "Never smoker")]
    assert query(omop_warehouse, "select visit_concept_id, visit_start_date, visit_end_date, provider_id is not null, "
                                 "care_site_id is not null from omop.visit_occurrence order by 2") == [
        (9202, dt.date(2024, 1, 10), dt.date(2024, 1, 10), True, True),
        (9203, dt.date(2025, 5, 30), dt.date(2025, 5, 31), False, False)]
    assert query(omop_warehouse, f"select death_date, death_type_concept_id from omop.death where {of('bob')}") == [
        (dt.date(2025, 6, 1), 32817)]
    assert query(omop_warehouse, "select observation_period_start_date, observation_period_end_date "
                                 f"from omop.observation_period where {of('pt-778899')}") == [
        (dt.date(2024, 1, 10), dt.date(2024, 4, 30))]
    assert query(omop_warehouse, "select zip, state, city from omop.location order by zip") == [
        ("02115", "MA", "Boston"), ("03601", "NH", "Lebanon")]


def test_drug_era_merges_exposures_20_days_apart_and_splits_at_40(omop_warehouse: AnalyticsLayout) -> None:
    assert query(omop_warehouse, "select drug_concept_id, drug_source_value, drug_exposure_start_date "
                                 "from omop.drug_exposure order by 3") == [
        (19080128, "314076", dt.date(2024, 3, 1)), (19080128, "314076", dt.date(2024, 3, 21)),
        (19080128, "314076", dt.date(2024, 4, 30))]
    # Rolled up to the ingredient lisinopril (1308216) through CONCEPT_ANCESTOR; CDM 5.4 era dates are datetimes.
    assert query(omop_warehouse, "select drug_concept_id, drug_era_start_date::date, drug_era_end_date::date, "
                                 "drug_exposure_count, gap_days from omop.drug_era order by 2") == [
        (1308216, dt.date(2024, 3, 1), dt.date(2024, 3, 21), 2, 20),
        (1308216, dt.date(2024, 4, 30), dt.date(2024, 4, 30), 1, 0)]
    assert query(omop_warehouse, "select condition_concept_id, condition_era_start_date::date, condition_era_end_date"
                                 "::date, condition_occurrence_count from omop.condition_era") == [
        (201826, dt.date(2024, 1, 10), dt.date(2024, 1, 11), 1)]


def test_ids_are_stable_hashes_of_the_fhir_ids(omop_warehouse: AnalyticsLayout, tmp_path: Path) -> None:
    from tests.omop_population import POPULATION, build_warehouse

    again, _ = build_warehouse(tmp_path, [r for r in POPULATION if r["resourceType"] in ("Patient", "Organization")])
    assert query(again, "select person_id, person_source_value from omop.person order by 2") == query(
        omop_warehouse, "select person_id, person_source_value from omop.person order by 2")


def test_synthea_population_fills_the_required_fields(synthea_omop_warehouse: AnalyticsLayout) -> None:
    layout = synthea_omop_warehouse
    assert query(layout, "select count(*) from omop.person")[0][0] == 100
    assert query(layout, "select count(distinct person_id) from omop.observation_period")[0][0] == 100
    for table in ("visit_occurrence", "condition_occurrence", "drug_exposure", "measurement", "procedure_occurrence",
                  "observation", "condition_era", "drug_era"):
        assert query(layout, f"select count(*) from omop.{table}")[0][0] > 0, table
    for row in spec():
        if row["isRequired"] == "Yes":
            table, field = row["cdmTableName"], row["cdmFieldName"]
            assert query(layout, f"select count(*) from omop.{table} where {field} is null")[0][0] == 0, (table, field)
    # Synthea's SNOMED conditions are in the shipped subset but for two whose standard concept Eunomia lacks
    # (hypertensive disorder, prediabetes): they keep concept 0 and are counted, as OMOP does.
    assert query(layout, "select distinct condition_source_value from omop.condition_occurrence "
                         "where condition_concept_id = 0 order by 1") == [("15777000",), ("38341003",)]
    mapped, total = query(layout, "select count(*) filter (where condition_concept_id <> 0), count(*) "
                                  "from omop.condition_occurrence")[0]
    assert (mapped, total) == (646, 710)
    # Race and ethnicity from the US Core extensions' OMB category; Synthea files "Other" under 2135-2 (the OMB
    # code of Hispanic or Latino, an ethnicity), which is no race: concept 0, the code kept as the source value.
    assert query(layout, "select race_concept_id, race_source_value, ethnicity_concept_id, count(*) "
                         "from omop.person group by all order by 1") == [
        (0, "2135-2", 38003564, 16), (8515, "2028-9", 38003564, 4), (8516, "2054-5", 38003564, 9),
        (8527, "2106-3", 38003564, 69), (8657, "1002-5", 38003564, 2)]


def test_conformance_tests_name_each_broken_rule(omop_warehouse: AnalyticsLayout, tmp_path: Path) -> None:
    """The one-query table tests catch what the per-column tests did: a duplicate key, a required field left
    null and a foreign key to no row each come back as a failed check, and an untouched table passes."""
    layout = AnalyticsLayout(tmp_path / "analytics")
    shutil.copytree(omop_warehouse.root, layout.root)
    with duckdb.connect(str(layout.warehouse)) as connection:
        connection.execute("insert into omop.person select * from omop.person limit 1")  # a duplicate key
        connection.execute("update omop.person set gender_concept_id = null "
                           "where person_id = (select max(person_id) from omop.person)")
        connection.execute("update omop.person set location_id = -1 "
                           "where person_id = (select min(person_id) from omop.person)")
        connection.execute("update reporting.PATIENT set PAT_ID = null "
                           "where PAT_ID = (select min(PAT_ID) from reporting.PATIENT)")
    report = run_tests(layout, select=["person", "death", "PATIENT"])
    failed = dict(failure.split(": ", 1) for failure in report.failures)
    assert failed["person_conforms_to_cdm"] == "fail: Got 3 results, configured to fail if != 0"  # one per rule
    assert failed["primary_key_PATIENT_PAT_ID"].startswith("fail: Got 1 result")
    assert "death_conforms_to_cdm" not in failed and report.tests_passed >= 1  # an untouched table passes
