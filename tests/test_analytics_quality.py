"""OHDSI-style data-quality checks over the OMOP tables: they pass on clean data and catch planted violations."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from osler.analytics.layout import AnalyticsLayout
from osler.analytics.quality import load_checks, run_checks


def test_checks_are_derived_from_the_dqd_definitions() -> None:
    checks = load_checks()
    kinds = {check.name for check in checks}
    assert kinds == {"isRequired", "cdmDatatype", "isPrimaryKey", "isForeignKey", "fkDomain", "plausibleValueLow",
                     "plausibleValueHigh", "plausibleTemporalAfter", "plausibleStartBeforeEnd",
                     "plausibleGenderMale", "plausibleGenderFemale"}
    required = {(check.table, check.field) for check in checks if check.name == "isRequired"}
    assert ("person", "year_of_birth") in required and ("drug_era", "drug_era_end_date") in required
    low = next(check for check in checks if check.name == "plausibleValueLow" and check.field == "year_of_birth")
    assert "1850" in low.sql and low.threshold == 1


def test_clean_population_passes_every_check(omop_warehouse: AnalyticsLayout) -> None:
    results = run_checks(omop_warehouse.warehouse)
    assert len(results) == len(load_checks()) > 400
    assert [result.describe() for result in results if not result.passed] == []


def test_planted_violations_fail_with_their_counts(omop_warehouse: AnalyticsLayout, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(omop_warehouse.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as connection:
        bob = "(select person_id from omop.person where person_source_value = 'bob')"
        # A visit that ends before it starts; an IUD insertion for a man; a Condition concept in MEASUREMENT.
        connection.execute("update omop.visit_occurrence set visit_end_date = visit_start_date - 1 "
                           "where visit_concept_id = 9203")
        connection.execute(f"insert into omop.procedure_occurrence (procedure_occurrence_id, person_id, "
                           f"procedure_concept_id, procedure_date, procedure_type_concept_id) "
                           f"values (1, {bob}, 4275113, date '2025-05-30', 32817)")
        connection.execute("update omop.measurement set measurement_concept_id = 201826")
    failed = {(r.check.name, r.check.table, r.check.field): (r.violated, r.total)
              for r in run_checks(warehouse) if not r.passed}
    assert failed == {
        ("plausibleStartBeforeEnd", "visit_occurrence", "visit_start_date"): (1, 2),
        ("plausibleTemporalAfter", "visit_occurrence", "visit_end_date"): (1, 2),
        ("plausibleGenderFemale", "procedure_occurrence", "procedure_concept_id"): (1, 1),
        ("fkDomain", "measurement", "measurement_concept_id"): (1, 1),
    }


def test_dq_command_reports_and_exits_by_the_thresholds(omop_warehouse: AnalyticsLayout) -> None:
    result = subprocess.run([sys.executable, "-m", "osler.cli", "analytics", "dq"], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "OSLER_HOME": str(omop_warehouse.root.parent)})
    assert result.returncode == 0, result.stderr
    total = len(load_checks())
    assert f"{total} of {total} data-quality checks passed" in result.stderr


def test_synthea_omop_passes_the_thresholds_but_two_true_findings(synthea_omop_warehouse: AnalyticsLayout) -> None:
    results = run_checks(synthea_omop_warehouse.warehouse)
    # What the checks find in Synthea's data, kept as it is: five elderly patients have records from the 1930s
    # and 1940s (DQD wants observation periods from 1950 on), and two children have a condition or prescription
    # dated years before their birth, so their observation period starts before it.
    assert [result.describe() for result in results if not result.passed] == [
        "FAIL plausibleValueLow observation_period.observation_period_start_date: 5 of 100 rows "
        "(5.00 %, threshold 1 %)",
        "FAIL plausibleTemporalAfter observation_period.observation_period_start_date: 2 of 100 rows "
        "(2.00 %, threshold 1 %)"]
    assert sum(result.total for result in results if result.check.name == "isRequired") > 100_000
