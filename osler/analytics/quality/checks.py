"""The DQD checks Osler runs, read from ``data/`` and written as SQL (OHDSI: DataQualityDashboard's sql/*.sql).

Each check is one query returning ``(violated, total)`` over an OMOP table; it fails when the violated share,
in percent, exceeds its threshold. Kinds (DQD's names): isRequired, cdmDatatype (integers), isPrimaryKey,
isForeignKey (to the tables Osler builds and the vocabulary), fkDomain (a concept of the right domain),
plausibleValueLow/High, plausibleTemporalAfter, plausibleStartBeforeEnd, and plausibleGender (concept level).
As in DQD, concept 0 (no matching concept) is not a domain or gender violation.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
OMOP_SCHEMA = "omop"
VOCABULARY_SCHEMA = "vocab"
BUILT_TABLES = {"person", "observation_period", "visit_occurrence", "condition_occurrence", "drug_exposure",
                "measurement", "procedure_occurrence", "observation", "device_exposure", "death", "location",
                "care_site", "provider", "payer_plan_period", "condition_era", "drug_era"}


@dataclass(frozen=True)
class Check:
    name: str  # DQD's check name, e.g. isRequired
    table: str
    field: str
    threshold: float  # percent of rows allowed to violate
    sql: str  # select violated, total


def _count(table: str, violation: str, scope: str = "true", joins: str = "") -> str:
    """Rows of ``table`` (aliased t) within ``scope`` that meet ``violation``, and all rows within ``scope``."""
    return (f"select count(case when {violation} then 1 end) as violated, count(*) as total "
            f"from {OMOP_SCHEMA}.{table} as t {joins} where {scope}")


def _bound(expression: str) -> str:
    """DQD's plausible bound (SQL Server syntax in its CSV) as portable SQL."""
    if expression == "DATEADD(dd,1,GETDATE())":
        return "current_date + 1"
    if expression == "YEAR(GETDATE())+1":
        return "extract(year from current_date) + 1"
    if re.fullmatch(r"'\d{8}'", expression):
        digits = expression.strip("'")
        return f"date '{digits[:4]}-{digits[4:6]}-{digits[6:]}'"
    if re.fullmatch(r"-?\d+(\.\d+)?", expression):
        return expression
    raise ValueError(f"unsupported plausible bound {expression!r}")


def _threshold(value: str) -> float:
    return float(value) if value else 0.0


def _field_checks(row: dict[str, str]) -> list[Check]:
    table, field = row["cdmTableName"], row["cdmFieldName"]
    checks: list[Check] = []

    def add(name: str, threshold: str, sql: str) -> None:
        checks.append(Check(name, table, field, _threshold(threshold), sql))

    if row["isRequired"] == "Yes":
        add("isRequired", row["isRequiredThreshold"], _count(table, f"t.{field} is null"))
    if row["cdmDatatype"].lower() == "integer":
        add("cdmDatatype", row["cdmDatatypeThreshold"],
            _count(table, f"cast(t.{field} as varchar) not similar to '-?[0-9]+'", f"t.{field} is not null"))
    if row["isPrimaryKey"] == "Yes":
        add("isPrimaryKey", row["isPrimaryKeyThreshold"],
            _count(table, f"t.{field} in (select {field} from {OMOP_SCHEMA}.{table} group by {field} "
                          f"having count(*) > 1)"))
    target = row["fkTableName"]
    if row["isForeignKey"] == "Yes" and (target == "concept" or target in BUILT_TABLES):
        schema = VOCABULARY_SCHEMA if target == "concept" else OMOP_SCHEMA
        key = row["fkFieldName"].lower()
        add("isForeignKey", row["isForeignKeyThreshold"],
            _count(table, f"t.{field} not in (select {key} from {schema}.{target} where {key} is not null)",
                   f"t.{field} is not null"))
    if row["fkDomain"]:
        add("fkDomain", row["fkDomainThreshold"],
            _count(table, f"c.domain_id <> '{row['fkDomain']}'", f"t.{field} is not null and t.{field} <> 0",
                   f"left join {VOCABULARY_SCHEMA}.concept as c on c.concept_id = t.{field}"))
    for side, operator in (("Low", "<"), ("High", ">")):
        bound = row[f"plausibleValue{side}"]
        if bound:
            add(f"plausibleValue{side}", row[f"plausibleValue{side}Threshold"],
                _count(table, f"t.{field} {operator} {_bound(bound)}", f"t.{field} is not null"))
    if row["plausibleTemporalAfter"] == "Yes":
        other, other_field = row["plausibleTemporalAfterTableName"], row["plausibleTemporalAfterFieldName"].lower()
        join = "" if other == table else f"join {OMOP_SCHEMA}.{other} as o on o.person_id = t.person_id"
        alias = "t" if other == table else "o"
        add("plausibleTemporalAfter", row["plausibleTemporalAfterThreshold"],
            _count(table, f"cast(t.{field} as date) < cast({alias}.{other_field} as date)",
                   f"t.{field} is not null and {alias}.{other_field} is not null", join))
    if row["plausibleStartBeforeEnd"] == "Yes":
        end = row["plausibleStartBeforeEndFieldName"].lower()
        add("plausibleStartBeforeEnd", row["plausibleStartBeforeEndThreshold"],
            _count(table, f"t.{field} > t.{end}", f"t.{field} is not null and t.{end} is not null"))
    return checks


def _gender_checks(rows: list[dict[str, str]]) -> list[Check]:
    """One check per (table, field, sex): its concepts recorded for a person of the other sex."""
    grouped: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for row in rows:
        grouped.setdefault((row["cdmTableName"], row["cdmFieldName"], row["plausibleGender"]), []).append(row)
    checks = []
    for (table, field, sex), members in grouped.items():
        concepts = ", ".join(sorted({row["conceptId"] for row in members}, key=int))
        other = 8532 if sex == "Male" else 8507
        checks.append(Check(f"plausibleGender{sex}", table, field, _threshold(members[0]["plausibleGenderThreshold"]),
                            _count(table, f"p.gender_concept_id = {other}", f"t.{field} in ({concepts})",
                                   f"join {OMOP_SCHEMA}.person as p on p.person_id = t.person_id")))
    return checks


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_checks() -> list[Check]:
    """Every check of the shipped definitions, field-level first."""
    checks = [check for row in _read("omop_field_checks.csv") for check in _field_checks(row)]
    return checks + _gender_checks(_read("omop_gender_checks.csv"))
