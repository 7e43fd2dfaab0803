"""Regenerate the OMOP vocabulary subset Osler ships (osler/analytics/vocabulary/data/), in Athena's format.

Source: ../shared/data/omop/eunomia-synthea27nj-cdm54.zip (OHDSI EunomiaDatasets, Apache-2.0), whose CONCEPT and
CONCEPT_RELATIONSHIP are real OMOP vocabulary rows for Synthea's codes (SNOMED, LOINC, RxNorm, CVX, UCUM, Visit).
Written: every Eunomia concept; its 'Maps to' rows between shipped concepts; CONCEPT_ANCESTOR rows ingredient →
drug derived from Eunomia's own RxNorm relationships (drug 'Consists of'/'RxNorm is a'/'Tradename of' … a
component that an ingredient is 'RxNorm ing of'), since Eunomia ships CONCEPT_ANCESTOR empty; the few core concepts
OMOP fixes whose ids are certain (0, genders, races, EHR type); and VOCABULARY/DOMAIN/CONCEPT_CLASS rows naming
what the concepts use (their own concept id 0: the ids of those meta-concepts are not in the source).
It prints how many of the codes in Osler's terminology files the subset covers; the rest map to concept 0.

    python scripts/build_omop_vocabulary_subset.py [--eunomia PATH]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import zipfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "osler" / "analytics" / "vocabulary" / "data"
TERMINOLOGY = REPO / "osler" / "apps" / "terminology" / "data"
DEFAULT_EUNOMIA = REPO.parent / "shared" / "data" / "omop" / "eunomia-synthea27nj-cdm54.zip"

CONCEPT_COLUMNS = ["concept_id", "concept_name", "domain_id", "vocabulary_id", "concept_class_id",
                   "standard_concept", "concept_code", "valid_start_date", "valid_end_date", "invalid_reason"]
# OMOP's fixed concepts that Eunomia's shard leaves out (ids as published in the OMOP vocabulary).
CORE_CONCEPTS = [
    (0, "No matching concept", "Metadata", "None", "Undefined", "", "No matching concept"),
    (8507, "MALE", "Gender", "Gender", "Gender", "S", "M"),
    (8532, "FEMALE", "Gender", "Gender", "Gender", "S", "F"),
    (8527, "White", "Race", "Race", "Race", "S", "5"),
    (8516, "Black or African American", "Race", "Race", "Race", "S", "3"),
    (8515, "Asian", "Race", "Race", "Race", "S", "2"),
    (8657, "American Indian or Alaska Native", "Race", "Race", "Race", "S", "1"),
    (8557, "Native Hawaiian or Other Pacific Islander", "Race", "Race", "Race", "S", "4"),
    (32817, "EHR", "Type Concept", "Type Concept", "Type Concept", "S", "OMOP4976890"),
]
# Osler's code systems → OMOP vocabulary_id.
SYSTEM_VOCABULARY = {"http://loinc.org": "LOINC", "http://snomed.info/sct": "SNOMED",
                     "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm", "http://hl7.org/fhir/sid/icd-10-cm":
                     "ICD10CM", "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": "HCPCS",
                     "http://unitsofmeasure.org": "UCUM", "http://www.ama-assn.org/go/cpt": "CPT4"}
ANCESTRY_RELATIONSHIPS = {"Consists of", "RxNorm is a", "Tradename of", "Quantified form of", "Has form", "Contains"}


def athena_date(iso: str) -> str:
    return iso.replace("-", "")


def read_member(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))


def write_table(name: str, columns: list[str], rows: list[list[object]]) -> None:
    with (OUT / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, quotechar=None)
        writer.writerow(columns)
        writer.writerows(rows)


def osler_codes() -> set[tuple[str, str]]:
    codes = set()
    for path in TERMINOLOGY.glob("*.json"):
        document = json.loads(path.read_text())
        vocabulary = SYSTEM_VOCABULARY.get(document["system"])
        codes.update((vocabulary, concept["code"]) for concept in document["concepts"] if vocabulary)
    return codes


def drug_ingredients(concepts: dict[str, dict[str, str]], relationships: list[dict[str, str]]) -> dict[str, set[str]]:
    """drug concept id → its ingredient concept ids, through the components both name."""
    ingredients = {cid for cid, row in concepts.items() if row["concept_class_id"] == "Ingredient"}
    ingredient_of, parts = defaultdict(set), defaultdict(set)
    for row in relationships:
        one, two, kind = row["concept_id_1"], row["concept_id_2"], row["relationship_id"]
        if kind == "RxNorm ing of" and one in ingredients:
            ingredient_of[two].add(one)
        elif kind in ANCESTRY_RELATIONSHIPS and one in concepts:
            parts[one].add(two)
    found = {}
    for drug, row in concepts.items():
        if row["domain_id"] != "Drug" or row["standard_concept"] != "S":
            continue
        reach, frontier = {drug}, {drug}
        while frontier:
            frontier = {part for node in frontier for part in parts.get(node, ())} - reach
            reach |= frontier
        found[drug] = {drug} & ingredients | {ing for node in reach for ing in ingredient_of.get(node, ())}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eunomia", type=Path, default=DEFAULT_EUNOMIA)
    arguments = parser.parse_args()
    with zipfile.ZipFile(arguments.eunomia) as archive:
        concepts = {row["concept_id"]: row for row in read_member(archive, "CONCEPT.csv")}
        relationships = read_member(archive, "CONCEPT_RELATIONSHIP.csv")
    for concept_id, name, domain, vocabulary, concept_class, standard, code in CORE_CONCEPTS:
        concepts.setdefault(str(concept_id), dict(zip(CONCEPT_COLUMNS, [
            str(concept_id), name, domain, vocabulary, concept_class, standard, code, "1970-01-01", "2099-12-31",
            ""], strict=True)))
    OUT.mkdir(parents=True, exist_ok=True)
    ordered = sorted(concepts.values(), key=lambda row: int(row["concept_id"]))
    write_table("CONCEPT.csv", CONCEPT_COLUMNS, [
        [row[c] if not c.startswith("valid_") else athena_date(row[c]) for c in CONCEPT_COLUMNS] for row in ordered])
    maps_to = sorted({(r["concept_id_1"], r["concept_id_2"], athena_date(r["valid_start_date"]),
                       athena_date(r["valid_end_date"])) for r in relationships
                      if r["relationship_id"] == "Maps to" and r["concept_id_1"] in concepts
                      and r["concept_id_2"] in concepts}, key=lambda r: (int(r[0]), int(r[1])))
    write_table("CONCEPT_RELATIONSHIP.csv", ["concept_id_1", "concept_id_2", "relationship_id", "valid_start_date",
                                             "valid_end_date", "invalid_reason"],
                [[one, two, "Maps to", start, end, ""] for one, two, start, end in maps_to])
    ancestry = set()
    for drug, ingredients in drug_ingredients(concepts, relationships).items():
        ancestry.update((ingredient, drug, 0 if ingredient == drug else 1) for ingredient in ingredients)
    write_table("CONCEPT_ANCESTOR.csv", ["ancestor_concept_id", "descendant_concept_id", "min_levels_of_separation",
                                         "max_levels_of_separation"],
                [[a, d, level, level] for a, d, level in sorted(ancestry, key=lambda r: (int(r[0]), int(r[1])))])
    write_table("VOCABULARY.csv", ["vocabulary_id", "vocabulary_name", "vocabulary_reference", "vocabulary_version",
                                   "vocabulary_concept_id"],
                [[v, v, "OMOP vocabulary subset (Eunomia Synthea27Nj)", "v5.0 09-APR-22", 0]
                 for v in sorted({row["vocabulary_id"] for row in ordered})])
    write_table("DOMAIN.csv", ["domain_id", "domain_name", "domain_concept_id"],
                [[d, d, 0] for d in sorted({row["domain_id"] for row in ordered})])
    write_table("CONCEPT_CLASS.csv", ["concept_class_id", "concept_class_name", "concept_class_concept_id"],
                [[c, c, 0] for c in sorted({row["concept_class_id"] for row in ordered})])
    shipped = {(row["vocabulary_id"], row["concept_code"]) for row in ordered}
    wanted = osler_codes()
    print(f"{len(ordered)} concepts, {len(maps_to)} 'Maps to', {len(ancestry)} ancestor rows; "
          f"{len(wanted & shipped)} of {len(wanted)} codes in Osler's terminology files covered")


if __name__ == "__main__":
    main()
