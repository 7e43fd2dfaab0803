"""The OMOP vocabulary: the shipped subset and `osler vocab load` of an Athena download folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from osler.analytics.vocabulary import SHIPPED_SUBSET, VocabularyError, ensure_vocabulary, load_vocabulary


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def write_athena(folder: Path, table: str, header: list[str], lines: list[list[str]]) -> None:
    """As Athena writes them: tab-separated, nothing quoted (a quote in a name is just a character)."""
    (folder / f"{table}.csv").write_text("".join("\t".join(line) + "\n" for line in [header, *lines]))


def test_shipped_subset_maps_synthea_codes_to_standard_concepts(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    assert ensure_vocabulary(warehouse) is True
    assert ensure_vocabulary(warehouse) is False  # already there: not reloaded
    mapped = rows(warehouse, """
        select source.vocabulary_id, source.concept_code, target.concept_id, target.domain_id
        from vocab.concept as source
        join vocab.concept_relationship as maps_to on maps_to.concept_id_1 = source.concept_id
             and maps_to.relationship_id = 'Maps to'
        join vocab.concept as target on target.concept_id = maps_to.concept_id_2
        where (source.vocabulary_id, source.concept_code) in (('SNOMED', '44054006'), ('LOINC', '4548-4'),
                                                              ('LOINC', '72166-2'), ('RxNorm', '314076'))
        order by target.concept_id""")
    assert mapped == [("SNOMED", "44054006", 201826, "Condition"), ("LOINC", "4548-4", 3004410, "Measurement"),
                      ("RxNorm", "314076", 19080128, "Drug"), ("LOINC", "72166-2", 43054909, "Observation")]
    assert rows(warehouse, "select concept_id, concept_name, valid_start_date::varchar from vocab.concept "
                           "where concept_id in (0, 8507, 32817) order by 1") == [
        (0, "No matching concept", "1970-01-01"), (8507, "MALE", "1970-01-01"), (32817, "EHR", "1970-01-01")]
    # lisinopril 10 MG rolls up to its ingredient for drug eras.
    assert rows(warehouse, "select c.concept_name from vocab.concept_ancestor a join vocab.concept c "
                           "on c.concept_id = a.ancestor_concept_id where a.descendant_concept_id = 19080128 "
                           "and a.min_levels_of_separation = 1") == [("lisinopril",)]


def test_loader_replaces_the_vocabulary_from_an_athena_folder(tmp_path: Path) -> None:
    athena = tmp_path / "athena"
    athena.mkdir()
    write_athena(athena, "CONCEPT", ["concept_id", "concept_name", "domain_id", "vocabulary_id", "concept_class_id",
                                     "standard_concept", "concept_code", "valid_start_date", "valid_end_date",
                                     "invalid_reason"],
                 [["201826", "Type 2 diabetes mellitus", "Condition", "SNOMED", "Clinical Finding", "S", "44054006",
                   "20020131", "20991231", ""], ["45576876", "Type 2 diabetes \"mellitus\" without complications",
                                                 "Condition", "ICD10CM", "4-char billing code", "", "E11.9",
                                                 "20071001", "20991231", ""]])
    write_athena(athena, "CONCEPT_RELATIONSHIP", ["concept_id_1", "concept_id_2", "relationship_id",
                                                  "valid_start_date", "valid_end_date", "invalid_reason"],
                 [["45576876", "201826", "Maps to", "20071001", "20991231", ""]])
    write_athena(athena, "CONCEPT_ANCESTOR", ["ancestor_concept_id", "descendant_concept_id",
                                              "min_levels_of_separation", "max_levels_of_separation"], [])
    warehouse = tmp_path / "warehouse.duckdb"
    load_vocabulary(warehouse, SHIPPED_SUBSET)
    seen: list[tuple[str, int]] = []
    loaded = load_vocabulary(warehouse, athena, on_table=lambda table, count: seen.append((table, count)))
    assert loaded == {"concept": 2, "concept_relationship": 1, "concept_ancestor": 0, "vocabulary": 0, "domain": 0,
                      "concept_class": 0}
    assert [table for table, _ in seen] == list(loaded)
    assert rows(warehouse, "select concept_code, concept_name, valid_start_date::varchar from vocab.concept "
                           "order by 1") == [
        ("44054006", "Type 2 diabetes mellitus", "2002-01-31"),
        ("E11.9", 'Type 2 diabetes "mellitus" without complications', "2007-10-01")]


def test_loader_refuses_a_folder_without_concepts(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError, match=r"CONCEPT\.csv"):
        load_vocabulary(tmp_path / "warehouse.duckdb", tmp_path)


def test_vocab_load_command_prints_one_line(tmp_path: Path) -> None:
    def osler(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "osler.cli", *args], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "OSLER_HOME": str(tmp_path)})

    loaded = osler("vocab", "load", str(SHIPPED_SUBSET))
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded 2,303 concepts, 2,232 relationships, 31 ancestor rows" in loaded.stderr
    missing = osler("vocab", "load", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "is not a folder" in missing.stderr and "Traceback" not in missing.stderr
