"""The de-identified research export (HIPAA Safe Harbor): no identifier of a population stuffed with them survives.

The population (tests/omop_population.py) carries names, street addresses, a restricted 3-digit ZIP, phones,
an email, a URL, an SSN, an MRN, a Medicare MBI, an NPI, exact dates, free text quoting a phone and a date, FHIR
ids that carry an MRN, and a woman of 96. Every value of every exported file is scanned.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from osler.analytics.deid import DeidError, export_deidentified
from osler.analytics.layout import AnalyticsLayout
from tests.omop_population import ELDER_BIRTH_YEAR, IDENTIFIERS

DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}")


def exported(out: Path) -> dict[str, tuple[list[tuple[str, str]], list[tuple]]]:
    """table → (columns with their types, rows) of each Parquet file of the export."""
    files = {}
    with duckdb.connect() as connection:
        for path in sorted(out.glob("*.parquet")):
            source = f"read_parquet('{path}')"
            columns = [(row[0], row[1]) for row in connection.execute(f"describe select * from {source}").fetchall()]
            files[path.stem] = (columns, connection.execute(f"select * from {source}").fetchall())
    return files


@pytest.fixture(scope="module")
def export(omop_warehouse: AnalyticsLayout, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("deid") / "research"
    written = export_deidentified(omop_warehouse.warehouse, out)
    assert written["person"] == 3 and written["drug_exposure"] == 3
    return out


def test_no_identifier_survives_in_any_value(export: Path, omop_warehouse: AnalyticsLayout) -> None:
    files = exported(export)
    assert len(files) == 16
    with duckdb.connect(str(omop_warehouse.warehouse), read_only=True) as connection:
        # The warehouse's own ids are hashes of FHIR ids: re-identifying codes the export must not carry either.
        internal_ids = {row[0] for row in connection.execute(
            "select person_id from omop.person union select visit_occurrence_id from omop.visit_occurrence "
            "union select provider_id from omop.provider union select location_id from omop.location").fetchall()}
    needles = [needle.lower() for needle in IDENTIFIERS]
    for table, (columns, rows) in files.items():
        assert not [name for name, kind in columns if kind in ("DATE", "TIME") or kind.startswith("TIMESTAMP")], table
        for row in rows:
            for value in row:
                text = str(value).lower()
                assert not [needle for needle in needles if needle in text], (table, value)
                assert not DATE_LIKE.search(text), (table, value)
                assert value not in internal_ids and value != ELDER_BIRTH_YEAR, (table, value)


def test_what_is_kept_is_generalized(export: Path) -> None:
    files = exported(export)
    person_columns, persons = files["person"]
    names = [name for name, _ in person_columns]
    assert "person_source_value" not in names and "month_of_birth" not in names and "birth_datetime" not in names
    people = sorted((row[names.index("year_of_birth")], row[names.index("age_90_or_older")]) for row in persons
                    if row[names.index("year_of_birth")] is not None) + [
        (row[names.index("year_of_birth")], row[names.index("age_90_or_older")]) for row in persons
        if row[names.index("year_of_birth")] is None]
    assert people == [(1950, False), (1960, False), (None, True)]  # Ruth, 96, is "90 or older" without a year
    location_columns, locations = files["location"]
    assert [name for name, _ in location_columns] == ["location_id", "state", "zip3", "country_concept_id"]
    assert sorted(row[1:3] for row in locations) == [("MA", "021"), ("NH", "000")]  # 036xx: fewer than 20,000
    condition_columns, conditions = files["condition_occurrence"]
    condition_names = [name for name, _ in condition_columns]
    assert sorted((row[condition_names.index("condition_source_value")],
                   row[condition_names.index("condition_concept_id")],
                   row[condition_names.index("condition_start_year")]) for row in conditions) == [
        ("44054006", 201826, 2024), ("G43.909", 0, 2024)]
    observation_names = [name for name, _ in files["observation"][0]]
    assert "value_as_string" not in observation_names  # free text goes
    provider_names = [name for name, _ in files["provider"][0]]
    assert "npi" not in provider_names and "provider_name" not in provider_names


def test_pseudonyms_link_tables_and_are_drawn_per_export(export: Path, omop_warehouse: AnalyticsLayout,
                                                             tmp_path: Path) -> None:
    with duckdb.connect() as connection:
        def one(sql: str) -> list[tuple]:
            return connection.execute(sql.replace("@", str(export))).fetchall()

        # Alice's drug exposures, conditions and measurement all point at one pseudonymous person.
        assert one("select count(distinct person_id) from (select person_id from '@/drug_exposure.parquet' "
                   "union all select person_id from '@/measurement.parquet' "
                   "union all select person_id from '@/condition_occurrence.parquet')") == [(1,)]
        assert one("select count(*) from '@/drug_exposure.parquet' d join '@/person.parquet' p using (person_id) "
                   "where p.year_of_birth = 1960") == [(3,)]
    again = tmp_path / "again"
    export_deidentified(omop_warehouse.warehouse, again)
    first = {row[0] for row in exported(export)["visit_occurrence"][1]}
    assert {row[0] for row in exported(again)["visit_occurrence"][1]} == first == {1, 2}  # drawn from 1..n


def test_export_refuses_a_folder_that_is_not_empty(omop_warehouse: AnalyticsLayout, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(DeidError, match="not empty"):
        export_deidentified(omop_warehouse.warehouse, tmp_path)


def test_deid_export_command(omop_warehouse: AnalyticsLayout, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "osler.cli", "analytics", "deid-export", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "OSLER_HOME": str(omop_warehouse.root.parent)})
    assert result.returncode == 0, result.stderr
    assert "de-identified rows in 16 tables" in result.stderr
    assert len(list((tmp_path / "out").glob("*.parquet"))) == 16
