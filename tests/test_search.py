"""Search end to end: a small handcrafted chart loaded through ``Chronicle.create``, then exact result
sets for every parameter type, prefix, modifier, chain, ``_has``, include and sort — on SQLite and on
PostgreSQL (the ``db_url`` fixture)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from osler.chronicle.search import include_pks, match_pks, match_statement, parse_search
from osler.chronicle.store import Chronicle
from osler.fhir.outcome import BadRequest

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"
VIP = {"system": "http://tags", "code": "vip"}


def concept(system: str | None, code: str, display: str | None = None, text: str | None = None) -> dict:
    coding: dict[str, Any] = {"code": code}
    if system:
        coding["system"] = system
    if display:
        coding["display"] = display
    result: dict[str, Any] = {"coding": [coding]}
    if text:
        result["text"] = text
    return result


def lab(category: str) -> list[dict]:
    return [concept(CATEGORY, category)]


def qty(value: float, code: str) -> dict:
    return {"value": value, "unit": code, "system": UCUM, "code": code}


# Keys are test names; "@key" inside a reference is replaced by the id the resource got when created.
CHART: list[tuple[str, dict]] = [
    ("pr1", {"resourceType": "Practitioner", "name": [{"family": "House", "given": ["Gregory"]}],
             "identifier": [{"system": "http://npi", "value": "111"}]}),
    ("pr2", {"resourceType": "Practitioner", "name": [{"family": "Wilson", "given": ["James"]}],
             "identifier": [{"system": "http://npi", "value": "222"}]}),
    ("org1", {"resourceType": "Organization", "name": "Princeton Plainsboro"}),
    ("p1", {"resourceType": "Patient", "meta": {"profile": [US_CORE], "tag": [VIP]},
            "name": [{"family": "Chalmers", "given": ["Peter", "James"]}], "gender": "male",
            "birthDate": "1974-12-25", "identifier": [{"system": "http://hospital/mrn", "value": "MRN1"}],
            "address": [{"city": "Zürich"}], "generalPractitioner": [{"reference": "Practitioner/@pr1"}]}),
    ("p2", {"resourceType": "Patient", "meta": {"source": "http://example.org/source/a"},
            "name": [{"family": "Müller", "given": ["Petra"]}], "gender": "female", "birthDate": "1980-03",
            "identifier": [{"system": "http://hospital/mrn", "value": "MRN2"}],
            "generalPractitioner": [{"reference": "Organization/@org1"}]}),
    ("p3", {"resourceType": "Patient",
            "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                                   "code": "R"}]},
            "name": [{"family": "Smith", "given": ["Anna"], "text": "Anna Smith, Jr"}], "gender": "female",
            "birthDate": "2001-07-04", "active": False,
            "generalPractitioner": [{"reference": "Practitioner/@pr2"}]}),
    ("p4", {"resourceType": "Patient", "name": [{"family": "Deleted", "given": ["Peter"]}], "gender": "male",
            "birthDate": "1974-12-25", "identifier": [{"system": "http://hospital/mrn", "value": "MRN4"}]}),
    ("e1", {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
            "subject": {"reference": "Patient/@p1"},
            "period": {"start": "2020-01-01T10:00:00Z", "end": "2020-01-01T11:00:00Z"},
            "participant": [{"individual": {"reference": "Practitioner/@pr1"}}]}),
    ("e2", {"resourceType": "Encounter", "status": "in-progress", "class": {"code": "IMP"},
            "subject": {"reference": "Patient/@p2"}, "period": {"start": "2021-06-01"}}),
    ("o1", {"resourceType": "Observation", "status": "final", "category": lab("laboratory"),
            "code": concept(LOINC, "2345-7", text="Glucose"), "subject": {"reference": "Patient/@p1"},
            "encounter": {"reference": "Encounter/@e1"}, "effectiveDateTime": "2020-01-01T10:30:00Z",
            "performer": [{"reference": "Practitioner/@pr1"}], "valueQuantity": qty(100, "mg/dL")}),
    ("o2", {"resourceType": "Observation", "status": "final", "category": lab("vital-signs"),
            "code": concept(LOINC, "85354-9", "Blood pressure panel"), "subject": {"reference": "Patient/@p1"},
            "effectiveDateTime": "2020-02-15", "performer": [{"identifier": {"system": "http://npi", "value": "111"}}],
            "component": [{"code": concept(LOINC, "8480-6", "Systolic"), "valueQuantity": qty(120, "mm[Hg]")},
                          {"code": concept(LOINC, "8462-4", "Diastolic"), "valueQuantity": qty(80, "mm[Hg]")}]}),
    ("o3", {"resourceType": "Observation", "status": "preliminary", "category": lab("laboratory"),
            "code": concept(LOINC, "2345-7", "Glucose [Mass/volume] in Serum"),
            "subject": {"reference": "Patient/@p2"}, "effectiveDateTime": "2021-06-01T08:00:00Z",
            "valueQuantity": qty(99.6, "mg/dL")}),
    ("o4", {"resourceType": "Observation", "status": "final", "category": lab("laboratory"),
            "code": concept(LOINC, "718-7", "Hemoglobin"), "subject": {"reference": "Patient/@p2"},
            "effectiveDateTime": "2021", "valueQuantity": qty(13.2, "g/dL")}),
    ("o5", {"resourceType": "Observation", "status": "final", "meta": {"tag": [VIP]},
            "category": lab("social-history"), "code": concept(LOINC, "72166-2", "Tobacco smoking status"),
            "subject": {"reference": "Patient/@p3"}, "effectiveDateTime": "2022-03-01",
            "valueCodeableConcept": concept(SNOMED, "266919005", "Never smoker")}),
    ("o6", {"resourceType": "Observation", "status": "amended", "code": concept(LOINC, "8302-2", "Body height"),
            "subject": {"reference": "Patient/@p3"},
            "effectivePeriod": {"start": "2019-12-31", "end": "2020-01-02"}, "valueQuantity": qty(170, "cm")}),
    ("o7", {"resourceType": "Observation", "status": "final", "code": concept(LOINC, "8251-1", "Service comment"),
            "subject": {"reference": "http://other.org/fhir/Patient/ext1"},
            "valueString": "Patient reports mild headache"}),
    ("o8", {"resourceType": "Observation", "status": "final", "category": lab("laboratory"),
            "code": concept(LOINC, "2345-7", text="glucose"), "subject": {"reference": "Patient/@p1"},
            "effectiveDateTime": "2023-05-05T00:00:00Z", "valueQuantity": qty(250, "mg/dL")}),
    ("o9", {"resourceType": "Observation", "status": "final", "code": concept(LOINC, "21112-8", "Birth date"),
            "subject": {"reference": "Patient/@p1"}, "valueDateTime": "1974-12-25"}),
    ("o10", {"resourceType": "Observation", "status": "final", "code": concept(None, "deleted-ref"),
             "subject": {"reference": "Patient/@p4"}}),
    ("c1", {"resourceType": "Condition", "code": concept(SNOMED, "44054006", "Diabetes mellitus type 2"),
            "subject": {"reference": "Patient/@p1"}, "onsetDateTime": "2015", "recordedDate": "2015-03-01"}),
    ("c2", {"resourceType": "Condition", "code": concept(SNOMED, "38341003", "Hypertension"),
            "subject": {"reference": "Patient/@p2"}, "recordedDate": "2019-05-01"}),
    ("c3", {"resourceType": "Condition", "code": concept(None, "local-1", "Local problem"),
            "subject": {"reference": "Patient/@p3"}}),
    ("ra1", {"resourceType": "RiskAssessment", "status": "final", "subject": {"reference": "Patient/@p1"},
             "prediction": [{"probabilityDecimal": 0.25}]}),
    ("ra2", {"resourceType": "RiskAssessment", "status": "final", "subject": {"reference": "Patient/@p2"},
             "prediction": [{"probabilityDecimal": 0.8}]}),
    ("prov1", {"resourceType": "Provenance", "recorded": "2020-01-01T12:00:00Z",
               "target": [{"reference": "Observation/@o1"}, {"reference": "Patient/@p1"}],
               "agent": [{"who": {"reference": "Practitioner/@pr1"}}]}),
    ("prov2", {"resourceType": "Provenance", "recorded": "2021-06-02T12:00:00Z",
               "target": [{"reference": "Observation/@o3"}],
               "agent": [{"who": {"reference": "Practitioner/@pr2"}}]}),
]
DELETED = ("p4",)


class Chart:
    """The loaded chart: test keys <-> ids and pks, and search helpers answering in keys."""

    def __init__(self, chronicle: Chronicle) -> None:
        self.chronicle = chronicle
        self.ids: dict[str, str] = {}
        self.key_of_pk: dict[int, str] = {}
        for key, template in CHART:
            text = json.dumps(template)
            for known, res_id in sorted(self.ids.items(), key=lambda item: -len(item[0])):
                text = text.replace(f"@{known}\"", f"{res_id}\"")
            assert "@" not in text, f"{key} refers to a resource defined after it"
            stored = chronicle.create(json.loads(text)).stored
            self.ids[key] = stored.res_id
            self.key_of_pk[stored.pk] = key
        for key in DELETED:
            chronicle.delete(template_type(key), self.ids[key])

    def sub(self, text: str) -> str:
        """Replace ``@key`` by the key's id."""
        for key, res_id in sorted(self.ids.items(), key=lambda item: -len(item[0])):
            text = text.replace(f"@{key}", res_id)
        return text

    def pairs(self, query: str) -> list[tuple[str, str]]:
        found = []
        for part in self.sub(query).split("&"):
            name, _, value = part.partition("=")
            found.append((name, value))
        return found

    def ordered(self, res_type: str | None, query: str, *, strict: bool = False) -> list[str]:
        parsed = parse_search(res_type, self.pairs(query), strict=strict)
        with self.chronicle.engine.connect() as conn:
            return [self.key_of_pk[pk] for pk in match_pks(conn, parsed)]

    def find(self, res_type: str | None, query: str, *, strict: bool = False) -> set[str]:
        found = self.ordered(res_type, query, strict=strict)
        assert len(found) == len(set(found)), f"duplicates in {found}"
        return set(found)

    def included(self, res_type: str, query: str) -> tuple[list[str], list[str]]:
        parsed = parse_search(res_type, self.pairs(query), strict=True)
        with self.chronicle.engine.connect() as conn:
            page = match_pks(conn, parsed)
            extra = include_pks(conn, parsed, page)
        return [self.key_of_pk[pk] for pk in page], [self.key_of_pk[pk] for pk in extra]


def template_type(key: str) -> str:
    return dict(CHART)[key]["resourceType"]


@pytest.fixture
def chart(db_url: str) -> Iterator[Chart]:
    chronicle = Chronicle.open(db_url)
    try:
        yield Chart(chronicle)
    finally:
        chronicle.close()


ALL_OBS = {f"o{n}" for n in range(1, 11)}
LIVE_PATIENTS = {"p1", "p2", "p3"}


# --------------------------------------------------------------------------- string
def test_string(chart: Chart) -> None:
    assert chart.find("Patient", "name=pet") == {"p1", "p2"}  # p4 is deleted
    assert chart.find("Patient", "name=PETER") == {"p1"}
    assert chart.find("Patient", "name=peter,anna") == {"p1", "p3"}
    assert chart.find("Patient", "name:exact=Peter") == {"p1"}
    assert chart.find("Patient", "name:exact=peter") == set()
    assert chart.find("Patient", "name:contains=ALM") == {"p1"}
    assert chart.find("Patient", "name:contains=e") == {"p1", "p2"}
    assert chart.find("Patient", "family=muller") == {"p2"}  # accents stripped
    assert chart.find("Patient", "family:exact=Müller") == {"p2"}
    assert chart.find("Patient", "family:exact=Muller") == set()
    assert chart.find("Patient", "address-city=zurich") == {"p1"}
    assert chart.find("Patient", "name=anna smith\\, jr") == {"p3"}  # escaped comma is literal
    assert chart.find("Patient", "name=smith\\, j") == set()
    assert chart.find("Patient", "name=zzz") == set()
    assert chart.find("Patient", "name=pet&name=chal") == {"p1"}  # AND
    assert chart.find("Patient", "address-city:missing=true") == {"p2", "p3"}
    assert chart.find("Patient", "address-city:missing=false") == {"p1"}
    assert chart.find("Patient", "name=") == LIVE_PATIENTS  # empty values are ignored
    assert chart.find("Practitioner", "name=gre") == {"pr1"}
    # LIKE wildcards in values are literal
    assert chart.find("Patient", "name=_") == set()
    assert chart.find("Patient", "name:contains=%") == set()
    assert chart.find("Patient", "name:contains=_") == set()
    assert chart.find("Patient", "_source:below=http://example.org/%") == set()
    assert chart.find("Observation", "value-string=patient rep") == {"o7"}


# --------------------------------------------------------------------------- token
def test_token(chart: Chart) -> None:
    assert chart.find("Observation", "code=2345-7") == {"o1", "o3", "o8"}
    assert chart.find("Observation", f"code={LOINC}|2345-7") == {"o1", "o3", "o8"}
    assert chart.find("Observation", "code=http://other|2345-7") == set()
    assert chart.find("Observation", "code=|2345-7") == set()
    assert chart.find("Observation", "code=|deleted-ref") == {"o10"}
    assert chart.find("Condition", "code=|local-1") == {"c3"}
    assert chart.find("Condition", f"code={SNOMED}|") == {"c1", "c2"}
    assert chart.find("Observation", "code=2345-7,718-7") == {"o1", "o3", "o4", "o8"}
    assert chart.find("Observation", "category=laboratory,vital-signs") == {"o1", "o2", "o3", "o4", "o8"}
    assert chart.find("Observation", "category=laboratory&code=718-7") == {"o4"}
    assert chart.find("Patient", "gender=male&gender=female") == set()
    assert chart.find("Patient", "gender=female") == {"p2", "p3"}
    assert chart.find("Patient", "identifier=http://hospital/mrn|MRN1") == {"p1"}
    assert chart.find("Patient", "identifier=MRN4") == set()  # deleted
    assert chart.find("Patient", "active=false") == {"p3"}
    assert chart.find("Patient", "identifier:missing=true") == {"p3"}
    assert chart.find("Patient", "identifier:missing=false") == {"p1", "p2"}
    # :text — starts-with on the normalized CodeableConcept.text or Coding.display
    assert chart.find("Observation", "code:text=GLU") == {"o1", "o3", "o8"}
    assert chart.find("Observation", "code:text=glucose [mass") == {"o3"}
    assert chart.find("Observation", "code:text=blood pressure,hemo") == {"o2", "o4"}
    # :not — also the resources without any value
    assert chart.find("Observation", "code:not=2345-7") == ALL_OBS - {"o1", "o3", "o8"}
    assert chart.find("Observation", "category:not=laboratory") == {"o2", "o5", "o6", "o7", "o9", "o10"}
    assert chart.find("Observation", "category:not=laboratory,vital-signs") == {"o5", "o6", "o7", "o9", "o10"}
    assert chart.find("Observation", "status=final&category:not=laboratory") == {"o2", "o5", "o7", "o9", "o10"}


def test_common_parameters(chart: Chart) -> None:
    assert chart.find("Observation", "_id=@o1") == {"o1"}
    assert chart.find("Observation", "_id=@o1,@o3,@p1") == {"o1", "o3"}
    assert chart.find("Patient", "_id=@p4") == set()  # deleted
    assert chart.find("Patient", "_id:not=@p1") == {"p2", "p3"}
    assert chart.find("Patient", "_tag=http://tags|vip") == {"p1"}
    assert chart.find("Patient", "_tag=vip&gender=male") == {"p1"}
    assert chart.find("Patient", f"_profile={US_CORE}") == {"p1"}
    assert chart.find("Patient", "_security=R") == {"p3"}
    assert chart.find("Patient", "_source=http://example.org/source/a") == {"p2"}
    assert chart.find("Patient", "_source:below=http://example.org/source") == {"p2"}
    assert chart.find("Patient", "_source:below=http://example.org/sources") == set()
    assert chart.find("Patient", "_source:above=http://example.org/source/a/b/c") == {"p2"}
    assert chart.find("Patient", "_source:above=http://example.org/source") == set()
    assert chart.find("Patient", "_profile:missing=true") == {"p2", "p3"}
    today = datetime.now(UTC).date().isoformat()
    assert chart.find("Patient", "_lastUpdated=gt2000-01-01") == LIVE_PATIENTS
    assert chart.find("Patient", f"_lastUpdated={today}") == LIVE_PATIENTS
    assert chart.find("Patient", f"_lastUpdated=ap{today}") == LIVE_PATIENTS
    assert chart.find("Patient", "_lastUpdated=lt2000") == set()
    assert chart.find("Patient", "_lastUpdated=sa2100") == set()
    assert chart.find("Patient", "_lastUpdated=gt2000&gender=male") == {"p1"}
    ordered = chart.ordered("Patient", "_sort=_lastUpdated")
    assert ordered == ["p1", "p2", "p3"]


def test_system_level(chart: Chart) -> None:
    assert chart.find(None, "_tag=http://tags|vip") == {"p1", "o5"}
    assert chart.find(None, "_tag=vip&_type=Patient") == {"p1"}
    assert chart.find(None, "_id=@o1") == {"o1"}
    assert chart.find(None, "_type=Patient,Practitioner&name=house") == {"pr1"}
    assert chart.find(None, "_type=Organization") == {"org1"}
    assert chart.find(None, "_type=Patient&_type=Organization") == set()  # repeated: intersection
    assert chart.find(None, "_type=Patient,Practitioner&_sort=-_lastUpdated") == {"p1", "p2", "p3", "pr1", "pr2"}
    lenient = parse_search(None, [("name", "x")])
    assert lenient.issues and lenient.filters == []
    with pytest.raises(BadRequest, match="name"):
        chart.find(None, "name=x", strict=True)


# --------------------------------------------------------------------------- date
def test_date_prefixes(chart: Chart) -> None:
    # o1 2020-01-01T10:30Z, o2 2020-02-15, o3 2021-06-01T08:00Z, o4 2021, o5 2022-03-01,
    # o6 [2019-12-31, 2020-01-02], o8 2023-05-05; o7, o9, o10 have no date.
    dated = {"o1", "o2", "o3", "o4", "o5", "o6", "o8"}
    later = {"o2", "o3", "o4", "o5", "o8"}
    day = "2020-01-01"
    assert chart.find("Observation", f"date={day}") == {"o1"}  # o6 spans beyond the day
    assert chart.find("Observation", f"date=eq{day}") == {"o1"}
    assert chart.find("Observation", f"date=ne{day}") == dated - {"o1"}
    assert chart.find("Observation", f"date=gt{day}") == later | {"o6"}
    assert chart.find("Observation", f"date=ge{day}") == later | {"o6", "o1"}
    assert chart.find("Observation", f"date=lt{day}") == {"o6"}
    assert chart.find("Observation", f"date=le{day}") == {"o6", "o1"}
    assert chart.find("Observation", f"date=sa{day}") == later
    assert chart.find("Observation", "date=eb2020-02-01") == {"o1", "o6"}
    # o6 [Dec 31, Jan 2] only partly overlaps these days: the spec's ge/le want more than an overlap
    assert chart.find("Observation", "date=ge2020-01-02") == later
    assert chart.find("Observation", "date=le2019-12-31") == set()
    assert chart.find("Observation", "date=lt2020-01-02") == {"o1", "o6"}
    assert chart.find("Observation", "date=gt2019-12-31") == later | {"o1", "o6"}
    assert chart.find("Observation", f"date=ap{day}") == {"o1", "o2", "o6"}
    assert chart.find("Observation", "date=2020") == {"o1", "o2"}
    assert chart.find("Observation", "date=2021") == {"o3", "o4"}
    assert chart.find("Observation", "date=2021-06") == {"o3"}  # o4 is the whole year
    assert chart.find("Observation", "date=ge2021&date=lt2022") == {"o3", "o4"}
    assert chart.find("Observation", "date=2020,2023") == {"o1", "o2", "o8"}
    # time zones: 10:30Z is 11:30+01:00
    assert chart.find("Observation", "date=2020-01-01T11:30:00+01:00") == {"o1"}
    assert chart.find("Observation", "date=gt2020-01-01T11:30:00+01:00") == later | {"o6"}
    assert chart.find("Observation", "date=2020-01-01T10:30") == {"o1"}  # minute precision
    assert chart.find("Observation", "date=lt1900") == set()
    assert chart.find("Observation", "date:missing=true") == {"o7", "o9", "o10"}
    # open-ended period: e2 starts 2021-06-01 and has not ended
    assert chart.find("Encounter", "date=gt2030") == {"e2"}
    assert chart.find("Encounter", "date=lt2021") == {"e1"}
    assert chart.find("Encounter", "date=2021-06") == set()  # open range is not within the month
    assert chart.find("Patient", "birthdate=1980") == {"p2"}
    assert chart.find("Patient", "birthdate=1980-03-15") == set()  # the month is wider than the day
    # p2's whole month overlaps the range below (and above) the 15th: it is lt/le/gt/ge but not sa/eb
    assert chart.find("Patient", "birthdate=le1980-03-15") == {"p1", "p2"}
    assert chart.find("Patient", "birthdate=lt1980-03-15") == {"p1", "p2"}
    assert chart.find("Patient", "birthdate=eb1980-03-15") == {"p1"}
    assert chart.find("Patient", "birthdate=gt1980-03-15") == {"p2", "p3"}
    assert chart.find("Patient", "birthdate=sa1980-03-15") == {"p3"}


# --------------------------------------------------------------------------- number and quantity
def test_number(chart: Chart) -> None:
    assert chart.find("RiskAssessment", "probability=0.25") == {"ra1"}
    assert chart.find("RiskAssessment", "probability=0.3") == {"ra1"}  # [0.25, 0.35)
    assert chart.find("RiskAssessment", "probability=0.30") == set()  # [0.295, 0.305)
    assert chart.find("RiskAssessment", "probability=gt0.5") == {"ra2"}
    assert chart.find("RiskAssessment", "probability=ge0.25") == {"ra1", "ra2"}
    assert chart.find("RiskAssessment", "probability=lt0.25") == set()
    assert chart.find("RiskAssessment", "probability=le0.25") == {"ra1"}
    assert chart.find("RiskAssessment", "probability=ne0.25") == {"ra2"}
    assert chart.find("RiskAssessment", "probability=sa0.5") == {"ra2"}
    assert chart.find("RiskAssessment", "probability=eb0.5") == {"ra1"}
    assert chart.find("RiskAssessment", "probability=ap0.78") == {"ra2"}
    assert chart.find("RiskAssessment", "probability=0.25,0.8") == {"ra1", "ra2"}


def test_quantity(chart: Chart) -> None:
    # o1 100 mg/dL, o3 99.6 mg/dL, o4 13.2 g/dL, o6 170 cm, o8 250 mg/dL
    assert chart.find("Observation", "value-quantity=100") == {"o1", "o3"}  # [99.5, 100.5)
    assert chart.find("Observation", "value-quantity=100.0") == {"o1"}
    assert chart.find("Observation", "value-quantity=1e2") == {"o1", "o3"}
    assert chart.find("Observation", "value-quantity=gt100") == {"o6", "o8"}
    assert chart.find("Observation", "value-quantity=ge100") == {"o1", "o6", "o8"}
    assert chart.find("Observation", "value-quantity=lt100") == {"o3", "o4"}
    assert chart.find("Observation", "value-quantity=le99.6") == {"o3", "o4"}
    assert chart.find("Observation", "value-quantity=ne100") == {"o4", "o6", "o8"}
    assert chart.find("Observation", "value-quantity=ap100") == {"o1", "o3"}
    assert chart.find("Observation", f"value-quantity=100|{UCUM}|mg/dL") == {"o1", "o3"}
    assert chart.find("Observation", "value-quantity=100||mg/dL") == {"o1", "o3"}
    assert chart.find("Observation", "value-quantity=100|http://other|mg/dL") == set()
    assert chart.find("Observation", "value-quantity=13.2||g/dL") == {"o4"}
    assert chart.find("Observation", "value-quantity=100||g/dL") == set()
    assert chart.find("Observation", "value-quantity=gt50||mg/dL&value-quantity=lt200") == {"o1", "o3"}
    assert chart.find("Observation", "value-quantity:missing=true") == {"o2", "o5", "o7", "o9", "o10"}


# --------------------------------------------------------------------------- reference
def test_reference(chart: Chart) -> None:
    p1_obs = {"o1", "o2", "o8", "o9"}
    assert chart.find("Observation", "subject=Patient/@p1") == p1_obs
    assert chart.find("Observation", "subject=@p1") == p1_obs
    assert chart.find("Observation", "patient=@p1") == p1_obs
    assert chart.find("Observation", "subject:Patient=@p1") == p1_obs
    assert chart.find("Observation", "subject:Group=@p1") == set()
    assert chart.find("Observation", "subject=Patient/@p1/_history/1") == p1_obs
    assert chart.find("Observation", "subject=@p1,@p2") == p1_obs | {"o3", "o4"}
    assert chart.find("Observation", "subject=http://other.org/fhir/Patient/ext1") == {"o7"}
    assert chart.find("Observation", "patient=@p1&category=laboratory") == {"o1", "o8"}
    assert chart.find("Observation", "performer:identifier=http://npi|111") == {"o2"}
    assert chart.find("Observation", "performer:identifier=111") == {"o2"}
    assert chart.find("Observation", "performer:identifier=http://other|111") == set()
    assert chart.find("Observation", "performer=Practitioner/@pr1") == {"o1"}
    assert chart.find("Observation", "encounter:missing=false") == {"o1"}
    assert chart.find("Observation", "encounter:missing=true") == ALL_OBS - {"o1"}
    assert chart.find("Observation", "subject=Patient/@p4") == {"o10"}  # the reference is still there
    assert chart.find("Patient", "general-practitioner=@pr1") == {"p1"}
    assert chart.find("Patient", "general-practitioner:Organization=@org1") == {"p2"}
    assert chart.find("Patient", "organization=@org1") == set()


# --------------------------------------------------------------------------- composite
def test_composite(chart: Chart) -> None:
    assert chart.find("Observation", f"component-code-value-quantity={LOINC}|8480-6$gt100") == {"o2"}
    assert chart.find("Observation", "component-code-value-quantity=8480-6$lt100") == set()
    assert chart.find("Observation", "component-code-value-quantity=8462-4$lt100") == {"o2"}
    # the two components must come from the same element: 80 is the diastolic, not the systolic
    assert chart.find("Observation", "component-code-value-quantity=8480-6$80") == set()
    assert chart.find("Observation", f"component-code-value-quantity=8462-4$80|{UCUM}|mm[Hg]") == {"o2"}
    assert chart.find("Observation", "code-value-quantity=2345-7$gt200") == {"o8"}
    assert chart.find("Observation", "code-value-quantity=2345-7$100,718-7$13.2") == {"o1", "o3", "o4"}
    assert chart.find("Observation", "combo-code-value-quantity=8462-4$80") == {"o2"}
    assert chart.find("Observation", "combo-code-value-quantity=2345-7$100") == {"o1", "o3"}
    assert chart.find("Observation", f"code-value-concept=72166-2${SNOMED}|266919005") == {"o5"}
    assert chart.find("Observation", "code-value-concept=72166-2$266919005") == {"o5"}
    assert chart.find("Observation", "code-value-concept=72166-2$other") == set()
    assert chart.find("Observation", "combo-code-value-concept=72166-2$266919005") == {"o5"}
    assert chart.find("Observation", "code-value-date=21112-8$1974-12-25") == {"o9"}
    assert chart.find("Observation", "code-value-date=21112-8$gt1975") == set()
    assert chart.find("Observation", "code-value-date=21112-8$lt1975") == {"o9"}
    assert chart.find("Observation", "code-value-string=8251-1$Patient reports") == {"o7"}
    assert chart.find("Observation", "code-value-string=8251-1$mild") == set()  # starts-with
    assert chart.find("Observation", "component-code-value-quantity:missing=false") == {"o2"}


# --------------------------------------------------------------------------- chains and _has
def test_chaining(chart: Chart) -> None:
    assert chart.find("Observation", "subject:Patient.name=peter") == {"o1", "o2", "o8", "o9"}
    assert chart.find("Observation", "subject.name=peter") == {"o1", "o2", "o8", "o9"}
    assert chart.find("Observation", "patient.identifier=http://hospital/mrn|MRN2") == {"o3", "o4"}
    assert chart.find("Observation", "patient.identifier=MRN4") == set()  # the patient is deleted
    assert chart.find("Observation", "patient.gender=female&category=laboratory") == {"o3", "o4"}
    # several targets, no type modifier: every target type that defines the parameter
    assert chart.find("Patient", "general-practitioner.name=house") == {"p1"}
    assert chart.find("Patient", "general-practitioner.name=princeton") == {"p2"}
    assert chart.find("Patient", "general-practitioner.name=house,princeton") == {"p1", "p2"}
    assert chart.find("Patient", "general-practitioner:Practitioner.name=princeton") == set()
    assert chart.find("Encounter", "subject.birthdate=1974-12-25") == {"e1"}
    assert chart.find("Encounter", "participant.identifier=http://npi|111") == {"e1"}
    # chaining to the resource-table parameters
    assert chart.find("Observation", "subject:Patient._id=@p1") == {"o1", "o2", "o8", "o9"}
    assert chart.find("Observation", "subject._id=@p2,@p4") == {"o3", "o4"}
    assert chart.find("Observation", "subject._lastUpdated=lt2000") == set()
    # negative inner filters go through the resource table
    assert chart.find("Observation", "subject:Patient.address-city:missing=true") == {"o3", "o4", "o5", "o6"}
    assert chart.find("Observation", "subject:Patient.gender:not=female") == {"o1", "o2", "o8", "o9"}
    # a chain through a chain (reference inside reference)
    assert chart.find("Observation", "subject:Patient.general-practitioner:Practitioner.name=wilson") == {
        "o5", "o6"}
    assert chart.find("Observation", "subject:Patient.general-practitioner=Practitioner/@pr1&code=2345-7") == {
        "o1", "o8"}


def test_has(chart: Chart) -> None:
    assert chart.find("Patient", "_has:Observation:patient:code=2345-7") == {"p1", "p2"}
    assert chart.find("Patient", "_has:Observation:patient:code=718-7") == {"p2"}
    assert chart.find("Patient", "_has:Observation:subject:code=2345-7&gender=male") == {"p1"}
    assert chart.find("Patient", f"_has:Condition:subject:code={SNOMED}|44054006") == {"p1"}
    assert chart.find("Patient", "_has:Observation:patient:code=nothing") == set()
    assert chart.find("Patient", "_has:Observation:patient:code=deleted-ref") == set()  # p4 is deleted
    assert chart.find("Practitioner", "_has:Provenance:agent:target=Observation/@o3") == {"pr2"}
    assert chart.find("Observation", "_has:Provenance:target:agent=Practitioner/@pr1") == {"o1"}
    assert chart.find("Patient", "_has:Observation:patient:date=ge2022") == {"p1", "p3"}
    assert chart.find("Patient", "_has:Observation:patient:code=2345-7&_has:Condition:subject:code=38341003") == {
        "p2"}
    # nested _has
    assert chart.find("Patient", "_has:Observation:patient:_has:Provenance:target:agent=Practitioner/@pr1") == {
        "p1"}
    # _has with a chained inner parameter
    assert chart.find("Patient", "_has:Encounter:subject:participant.name=house") == {"p1"}


# --------------------------------------------------------------------------- includes
def test_include(chart: Chart) -> None:
    assert chart.included("Observation", "code=718-7&_include=Observation:subject") == (["o4"], ["p2"])
    assert chart.included("Observation", "_id=@o1&_include=Observation:subject:Patient") == (["o1"], ["p1"])
    assert chart.included("Observation", "_id=@o1&_include=Observation:subject:Group") == (["o1"], [])
    page, extra = chart.included("Observation", "_id=@o1&_include=Observation:encounter"
                                                "&_include=Observation:performer")
    assert page == ["o1"] and set(extra) == {"e1", "pr1"}
    # several matches pointing at one patient include it once
    page, extra = chart.included("Observation", "patient=@p1&_include=Observation:patient")
    assert set(page) == {"o1", "o2", "o8", "o9"} and extra == ["p1"]
    # a deleted target is not included
    assert chart.included("Observation", "_id=@o10&_include=Observation:subject") == (["o10"], [])
    # wildcard: every reference of the matches
    page, extra = chart.included("Observation", "_id=@o1&_include=*")
    assert set(extra) == {"p1", "e1", "pr1"}
    # an include of another source type does nothing without :iterate
    assert chart.included("Observation", "_id=@o1&_include=Observation:patient"
                                         "&_include=Patient:general-practitioner") == (["o1"], ["p1"])


def test_revinclude_and_iterate(chart: Chart) -> None:
    assert chart.included("Observation", "_id=@o1&_revinclude=Provenance:target") == (["o1"], ["prov1"])
    assert chart.included("Patient", "_id=@p1&_revinclude=Provenance:target") == (["p1"], ["prov1"])
    assert chart.included("Patient", "_id=@p1&_revinclude=Provenance:target:Observation") == (["p1"], [])
    page, extra = chart.included("Patient", "gender=female&_revinclude=Condition:subject")
    assert set(page) == {"p2", "p3"} and set(extra) == {"c2", "c3"}
    # :iterate follows one more level from what was included
    page, extra = chart.included("Observation", "_id=@o1&_include=Observation:patient"
                                                "&_include:iterate=Patient:general-practitioner")
    assert (page, extra) == (["o1"], ["p1", "pr1"])
    page, extra = chart.included("Observation", "_id=@o3&_include=Observation:patient"
                                                "&_revinclude:iterate=Condition:subject")
    assert (page, extra) == (["o3"], ["p2", "c2"])
    # what the page already holds is never included again
    page, extra = chart.included("Patient", "_id=@p1&_revinclude=Provenance:target"
                                            "&_include:iterate=Provenance:target")
    assert (page, extra) == (["p1"], ["prov1", "o1"])
    page, extra = chart.included("Provenance", "_id=@prov1&_include=Provenance:target")
    assert page == ["prov1"] and set(extra) == {"o1", "p1"}


# --------------------------------------------------------------------------- sort
def test_sort(chart: Chart) -> None:
    assert chart.ordered("Observation", "code=2345-7&_sort=date") == ["o1", "o3", "o8"]
    assert chart.ordered("Observation", "code=2345-7&_sort=-date") == ["o8", "o3", "o1"]
    assert chart.ordered("Patient", "_sort=family") == ["p1", "p2", "p3"]  # chalmers, muller, smith
    assert chart.ordered("Patient", "_sort=-family") == ["p3", "p2", "p1"]
    assert chart.ordered("Patient", "_sort=-birthdate") == ["p3", "p2", "p1"]
    assert chart.ordered("Patient", "_sort=gender") == ["p2", "p3", "p1"]  # ties broken by pk
    assert chart.ordered("Patient", "_sort=gender,-birthdate") == ["p3", "p2", "p1"]
    # several keys: code ascending, then the value descending
    assert chart.ordered("Observation", "category=laboratory&_sort=code,-value-quantity") == [
        "o8", "o1", "o3", "o4"]
    assert chart.ordered("Observation", "category=laboratory&_sort=-code,value-quantity") == [
        "o4", "o3", "o1", "o8"]
    # resources without a value come last in both directions
    assert chart.ordered("Observation", "subject=@p1&_sort=date") == ["o1", "o2", "o8", "o9"]
    assert chart.ordered("Observation", "subject=@p1&_sort=-date") == ["o8", "o2", "o1", "o9"]
    # a multi-valued parameter sorts by its smallest value going up, its largest going down
    # (o6's period starts before o1 and ends after it)
    assert chart.ordered("Observation", "date=le2020-01-31&_sort=date") == ["o6", "o1"]
    assert chart.ordered("Observation", "date=le2020-01-31&_sort=-date") == ["o6", "o1"]
    assert chart.ordered("Observation", "_id=@o1,@o6&_sort=-date") == ["o6", "o1"]
    assert chart.ordered("Patient", "_sort=-_lastUpdated") == ["p3", "p2", "p1"]
    by_id = chart.ordered("Patient", "_sort=_id")
    assert by_id == sorted(by_id, key=lambda key: chart.ids[key])
    assert chart.ordered("RiskAssessment", "_sort=-probability") == ["ra2", "ra1"]
    assert chart.ordered("Patient", "_sort=-_profile") == ["p1", "p2", "p3"]  # uri; missing last
    subjects = chart.ordered("Observation", "code=2345-7&_sort=subject,date")
    expected = sorted(["o1", "o3", "o8"], key=lambda key: (chart.ids["p1" if key != "o3" else "p2"], key))
    assert subjects == expected


# --------------------------------------------------------------------------- errors and leniency
def test_unknown_parameters(chart: Chart) -> None:
    assert chart.find("Patient", "foo=bar") == LIVE_PATIENTS
    assert chart.find("Patient", "foo=bar&gender=male") == {"p1"}
    with pytest.raises(BadRequest, match="foo"):
        chart.find("Patient", "foo=bar", strict=True)
    with pytest.raises(BadRequest, match="_text"):
        chart.find("Patient", "_text=x", strict=True)


@pytest.mark.parametrize("query", [
    "birthdate=notadate", "birthdate=xx2020", "value-quantity=abc", "value-quantity=gt",
    "name:foo=x", "identifier:of-type=x", "code:in=http://vs", "gender:missing=maybe",
    "component-code-value-quantity=8480-6", "subject:Medication=1", "_count=-1", "_sort=code-value-quantity",
])
def test_malformed_values_are_rejected(chart: Chart, query: str) -> None:
    res_type = "Patient" if query.split("=")[0].split(":")[0] in ("birthdate", "name", "identifier", "gender") \
        else "Observation"
    value = query.partition("=")[2]
    with pytest.raises(BadRequest) as caught:
        chart.find(res_type, query)
    assert query.partition("=")[0].split(":")[0] in caught.value.message
    assert value in caught.value.message or ":" in query.partition("=")[0]


def test_writes_are_seen(chart: Chart) -> None:
    """An update re-indexes and a delete removes: search follows the store."""
    updated = {**dict(CHART)["p3"], "id": chart.ids["p3"], "gender": "male",
               "generalPractitioner": [{"reference": f"Practitioner/{chart.ids['pr2']}"}]}
    chart.chronicle.update("Patient", chart.ids["p3"], updated)
    assert chart.find("Patient", "gender=male") == {"p1", "p3"}
    chart.chronicle.delete("Observation", chart.ids["o1"])
    assert chart.find("Observation", "code=2345-7") == {"o3", "o8"}
    assert chart.find("Patient", "_has:Observation:patient:code=2345-7") == {"p1", "p2"}  # o8 still


# --------------------------------------------------------------------------- query plans
TYPICAL = [
    ("Observation", "patient=@p1&category=laboratory"),
    ("Observation", "patient=Patient/@p1&code=http://loinc.org|2345-7&date=ge2020"),
    ("Observation", "patient=@p1&_sort=-date"),
    ("Observation", "subject:Patient.name=peter"),
    ("Observation", "code=2345-7&status=final"),
    ("Patient", "name=pet&gender=male"),
    ("Patient", "identifier=http://hospital/mrn|MRN1"),
    ("Patient", "_id=@p1"),
    ("Patient", "_has:Observation:patient:code=2345-7"),
    ("Condition", "patient=@p1&clinical-status=active"),
    ("Encounter", "patient=@p1&date=ge2020"),
]


@pytest.fixture
def sqlite_chart(sqlite_url: str) -> Iterator[Chart]:
    chronicle = Chronicle.open(sqlite_url)
    try:
        yield Chart(chronicle)
    finally:
        chronicle.close()


@pytest.mark.parametrize(("res_type", "query"), TYPICAL)
def test_sqlite_plans_use_the_indexes(sqlite_chart: Chart, res_type: str, query: str) -> None:
    """No full scan of a table for the everyday searches (SQLite has no statistics to save us)."""
    parsed = parse_search(res_type, sqlite_chart.pairs(query), strict=True)
    with sqlite_chart.chronicle.engine.connect() as conn:
        statement = match_statement(parsed, "sqlite")
        sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        plan = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    scans = [step for step in plan if step.startswith("SCAN")]
    assert not scans, "\n".join(plan)


def test_sqlite_include_plans_use_the_indexes(sqlite_chart: Chart) -> None:
    query = parse_search("Observation", sqlite_chart.pairs(
        "patient=@p1&_include=Observation:patient&_include=Observation:encounter&_revinclude=Provenance:target"
        "&_include:iterate=Patient:general-practitioner&_revinclude:iterate=Condition:subject"), strict=True)
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        statements.append((statement, parameters))

    engine = sqlite_chart.chronicle.engine
    with engine.connect() as conn:
        page = match_pks(conn, query)
        event.listen(engine, "before_cursor_execute", capture)
        try:
            extra = include_pks(conn, query, page)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        assert {sqlite_chart.key_of_pk[pk] for pk in extra} == {"p1", "e1", "prov1", "pr1", "c1"}
        for statement, parameters in statements:
            plan = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            assert not [step for step in plan if step.startswith("SCAN")], "\n".join(plan)
