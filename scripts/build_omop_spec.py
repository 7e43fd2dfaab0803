"""Regenerate what Osler derives from the OMOP CDM 5.4 specification and OHDSI's DataQualityDashboard checks.

Source: ../shared/data/omop/dqd-OMOP_CDMv5.4_Field_Level.csv (OHDSI/DataQualityDashboard inst/csv, Apache-2.0:
the CDM 5.4 field specification with each field's check thresholds), in the column order of
cdm-OMOP_CDMv5.4_Field_Level.csv beside it (OHDSI/CommonDataModel). For the CDM tables Osler builds it writes:

- osler/analytics/quality/data/omop_field_checks.csv — the field-level checks Osler runs (osler.analytics.quality);
- osler/analytics/quality/data/omop_gender_checks.csv — the concept-level plausibleGender checks (a condition or
  procedure plausible for one sex only);
- osler/analytics/dbt/macros/omop_spec.sql — each table's columns and types in CDM order (the models select
  through it, so names and types follow the spec);
- osler/analytics/dbt/models/omop/schema.yml — one dbt test per table (``table_conformance``, in one query):
  required fields not null, the primary key unique and not null, and foreign keys to the tables Osler builds
  and to the vocabulary's concept table pointing at existing rows.

    python scripts/build_omop_spec.py [--dqd PATH]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DQD = REPO.parent / "shared" / "data" / "omop" / "dqd-OMOP_CDMv5.4_Field_Level.csv"
CDM_FIELDS = "cdm-OMOP_CDMv5.4_Field_Level.csv"  # beside the DQD file: the CDM's own column order
CHECKS_OUT = REPO / "osler" / "analytics" / "quality" / "data" / "omop_field_checks.csv"
GENDER_OUT = REPO / "osler" / "analytics" / "quality" / "data" / "omop_gender_checks.csv"
CONCEPT_LEVEL = "dqd-OMOP_CDMv5.4_Concept_Level.csv"  # beside the DQD field file: checks per concept
MACRO_OUT = REPO / "osler" / "analytics" / "dbt" / "macros" / "omop_spec.sql"
SCHEMA_OUT = REPO / "osler" / "analytics" / "dbt" / "models" / "omop" / "schema.yml"

TABLES = ["person", "observation_period", "visit_occurrence", "condition_occurrence", "drug_exposure", "measurement",
          "procedure_occurrence", "observation", "device_exposure", "death", "location", "care_site", "provider",
          "payer_plan_period", "condition_era", "drug_era"]
CHECK_COLUMNS = ["cdmTableName", "cdmFieldName", "isRequired", "isRequiredThreshold", "cdmDatatype",
                 "cdmDatatypeThreshold", "isPrimaryKey", "isPrimaryKeyThreshold", "isForeignKey",
                 "isForeignKeyThreshold", "fkTableName", "fkFieldName", "fkDomain", "fkDomainThreshold",
                 "plausibleValueLow", "plausibleValueLowThreshold", "plausibleValueHigh", "plausibleValueHighThreshold",
                 "plausibleTemporalAfter", "plausibleTemporalAfterTableName", "plausibleTemporalAfterFieldName",
                 "plausibleTemporalAfterThreshold", "plausibleStartBeforeEnd", "plausibleStartBeforeEndFieldName",
                 "plausibleStartBeforeEndThreshold"]


def sql_type(field: str, cdm_type: str) -> str:
    """The warehouse type of a CDM type. Row ids are hashes of FHIR ids, so they are bigint (as OHDSI's BigQuery
    and Spark DDLs make them); concept ids and counts stay integer."""
    cdm_type = cdm_type.lower()
    if cdm_type == "integer":
        return "bigint" if field.endswith("_id") and not field.endswith("concept_id") else "integer"
    if cdm_type == "float":
        return "double precision"
    if cdm_type == "datetime":
        return "timestamp"
    return "varchar" if cdm_type.startswith("varchar") else cdm_type


def target(row: dict[str, str]) -> tuple[str, str] | None:
    """The table and field a foreign key points at, when it is one Osler builds or the vocabulary's concept."""
    if row["fkTableName"] == "concept":
        return "source('vocab', 'concept')", "concept_id"
    if row["fkTableName"] in TABLES:
        return f"ref('{row['fkTableName']}')", row["fkFieldName"].lower()
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dqd", type=Path, default=DEFAULT_DQD)
    arguments = parser.parse_args()
    with arguments.dqd.open(encoding="utf-8-sig") as handle:
        fields = [row for row in csv.DictReader(handle) if row["cdmTableName"].lower() in TABLES]
    for row in fields:
        row["cdmTableName"] = row["cdmTableName"].lower()
        row["fkTableName"] = row["fkTableName"].lower()
        row["plausibleTemporalAfterTableName"] = row["plausibleTemporalAfterTableName"].lower()
    with (arguments.dqd.parent / CDM_FIELDS).open(encoding="utf-8-sig") as handle:
        order = {(row["cdmTableName"].lower(), row["cdmFieldName"]): number
                 for number, row in enumerate(csv.DictReader(handle))}
    fields.sort(key=lambda row: (TABLES.index(row["cdmTableName"]), order[row["cdmTableName"], row["cdmFieldName"]]))

    CHECKS_OUT.parent.mkdir(parents=True, exist_ok=True)
    with CHECKS_OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, CHECK_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(fields)

    with (arguments.dqd.parent / CONCEPT_LEVEL).open(encoding="utf-8-sig") as handle:
        genders = [row for row in csv.DictReader(handle)
                   if row["plausibleGender"] and row["cdmTableName"].lower() in TABLES]
    with GENDER_OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        # No concept names: some are CPT descriptions, which Osler may not ship.
        writer.writerow(["cdmTableName", "cdmFieldName", "conceptId", "plausibleGender", "plausibleGenderThreshold"])
        writer.writerows([row["cdmTableName"].lower(), row["cdmFieldName"].lower(), row["conceptId"],
                          row["plausibleGender"], row["plausibleGenderThreshold"]]
                         for row in genders)

    lines = ["{# Generated by scripts/build_omop_spec.py from OHDSI's CDM 5.4 field specification: do not edit. #}",
             "{% macro omop_spec() -%}", "{{ return({"]
    for table in TABLES:
        columns = ", ".join(f"('{row['cdmFieldName']}', '{sql_type(row['cdmFieldName'], row['cdmDatatype'])}')"
                            for row in fields if row["cdmTableName"] == table)
        lines.append(f"    '{table}': [{columns}],")
    lines += ["}) }}", "{%- endmacro %}", ""]
    MACRO_OUT.write_text("\n".join(lines))

    out = ["# Generated by scripts/build_omop_spec.py from OHDSI's CDM 5.4 field specification: do not edit.",
           "version: 2", "", "models:"]
    for table in TABLES:
        rows = [r for r in fields if r["cdmTableName"] == table]
        out += [f"  - name: {table}", f"    description: OMOP CDM 5.4 {table.upper()}", "    data_tests:",
                "      - table_conformance:",
                f"          name: {table}_conforms_to_cdm", "          arguments:"]
        keys = [row["cdmFieldName"] for row in rows if row["isPrimaryKey"] == "Yes"]
        if keys:
            out.append(f"            primary_key: {keys[0]}")
        required = [row["cdmFieldName"] for row in rows if row["isRequired"] == "Yes"]
        out.append(f"            required: [{', '.join(required)}]")
        references = [(row["cdmFieldName"], target(row)) for row in rows if row["isForeignKey"] == "Yes"]
        out.append("            references:")
        out += [f"              - {{column: {column}, to: \"{to}\", field: {field}}}"
                for column, (to, field) in ((column, found) for column, found in references if found)]
        out.append("    columns:")
        out += [f"      - name: {row['cdmFieldName']}" for row in rows]
    SCHEMA_OUT.write_text("\n".join(out) + "\n")
    print(f"{len(fields)} fields of {len(TABLES)} tables")


if __name__ == "__main__":
    main()
