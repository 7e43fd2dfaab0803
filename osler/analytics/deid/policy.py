"""What Safe Harbor lets through, column by column of the OMOP CDM (HHS: the 18 identifiers of 164.514(b)(2)).

Everything not named here is dropped, so a column added to a model later leaves the export until someone
decides it is safe. The rules:

- concept ids (``*_concept_id``) and measured values are kept: they describe care, not the person;
- row and reference ids (``person_id``, ``visit_occurrence_id``, …) are replaced by random pseudonyms drawn
  for each export (``export.py``): not derived from the identifier, and the mapping is never written;
- dates and datetimes keep their year only (``condition_start_date`` becomes ``condition_start_year``). Safe
  Harbor removes every date element but the year, so shifting dates per person is not an option here;
- ``year_of_birth`` goes for a person 90 or older (at death, or at the export), flagged ``age_90_or_older``;
- a ZIP keeps its first three digits unless the 3-digit area has 20,000 people or fewer (Census 2000 list
  HHS publishes), which become "000"; street, city, county, coordinates are dropped; the state is kept;
- names, NPI/DEA, source values that are ids (person, provider, care site, plan, …), device ids and lot
  numbers, free text (sig, value_as_string, stop reasons) are dropped.
"""

from __future__ import annotations

# 3-digit ZIP areas of 20,000 people or fewer (HHS Safe Harbor guidance, 2000 Census): published as "000".
RESTRICTED_ZIP3 = frozenset({"036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831",
                             "878", "879", "884", "890", "893"})
AGE_CEILING = 89  # ages over it are one category, 90 or older

# Codes and values describing care, kept as they are.
KEPT = frozenset({
    "year_of_birth", "gender_source_value", "race_source_value", "ethnicity_source_value", "state",
    "visit_source_value", "admitted_from_source_value", "discharged_to_source_value",
    "condition_source_value", "condition_status_source_value", "drug_source_value", "route_source_value",
    "dose_unit_source_value", "measurement_source_value", "procedure_source_value", "modifier_source_value",
    "observation_source_value", "qualifier_source_value", "device_source_value", "unit_source_value",
    "cause_source_value", "specialty_source_value",
    "value_as_number", "range_low", "range_high", "quantity", "refills", "days_supply",
    "condition_occurrence_count", "drug_exposure_count", "gap_days",
})
# Ids whose value says nothing by itself but links rows: pseudonymized. A reference uses its target's pool.
ID_POOLS = {"preceding_visit_occurrence_id": "visit_occurrence_id"}
DROPPED_IDS = frozenset({"measurement_event_id", "observation_event_id", "visit_detail_id"})


def column_rule(name: str, data_type: str) -> str:
    """``keep``, ``concept``, ``pseudonym``, ``year``, ``zip3`` or ``drop`` for one OMOP column."""
    data_type = data_type.upper()
    if name.endswith("_concept_id"):
        return "concept"
    if name in DROPPED_IDS:
        return "drop"
    if name.endswith("_id"):
        return "pseudonym"
    if name == "zip":
        return "zip3"
    if name.endswith("_date") and (data_type == "DATE" or data_type.startswith("TIMESTAMP")):
        return "year"
    if name in KEPT:
        return "keep"
    return "drop"


def id_pool(name: str) -> str:
    return ID_POOLS.get(name, name)
