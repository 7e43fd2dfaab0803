"""The synthetic order cases: who the patient and prescriber are, what was ordered, the clinical facts, and the
scenario — a clean order or one that fails exactly one documentation rule — with the decision it must get.

Expected decisions follow Medicare's documentation rules (the ground truth the evaluation scores against).
Every case has a complete order (items, date, prescriber, diagnosis) and an MBI or plan member id somewhere;
it then fails at most one of: CPAP E0601 and bilevel E0470 need a signed order with a valid NPI, a
face-to-face evaluation dated before the sleep study, and AHI (or RDI) >= 15, or 5-14 with a documented
qualifying condition (excessive daytime sleepiness, impaired cognition, mood disorder, insomnia,
hypertension, ischemic heart disease, stroke — snoring alone does not qualify); bilevel adds a documented
failed CPAP trial. Oxygen (E1390/E0431) needs a signed order with a valid NPI, a face-to-face visit before
the order, and a qualifying test (SpO2 <= 88 % or PaO2 <= 55 mm Hg, at rest, on exertion or asleep, matching
the prescribed use) within 30 days before the order, and a face-to-face visit within those 30 days.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from osler.dme.corpus import identifiers, wording

# scenario → the missing codes the decision must name (empty: qualified)
PAP_SCENARIOS: dict[str, tuple[str, ...]] = {
    "qualified-ahi-15": (),
    "qualified-ahi-5-symptoms": (),
    "no-face-to-face": ("face-to-face",),
    "face-to-face-after-study": ("face-to-face-before-study",),
    "ahi-below-5": ("ahi-threshold",),
    "ahi-5-14-no-symptoms": ("ahi-threshold",),
    "unsigned-order": ("prescriber-signature",),
    "invalid-npi": ("prescriber-npi",),
    "no-sleep-study": ("sleep-study",),
}
BILEVEL_SCENARIOS: dict[str, tuple[str, ...]] = {**PAP_SCENARIOS, "no-cpap-trial": ("cpap-trial",)}
OXYGEN_SCENARIOS: dict[str, tuple[str, ...]] = {
    "qualified-oxygen": (),
    "oxygen-saturation-too-high": ("oxygen-saturation",),
    "stale-oxygen-test": ("oxygen-test-date",),
    "no-oxygen-test": ("oxygen-test",),
    "unsigned-order": ("prescriber-signature",),
    "invalid-npi": ("prescriber-npi",),
}
OXYGEN_TEST_WINDOW_DAYS = 30
SCENARIOS = {"cpap": PAP_SCENARIOS, "oxygen": OXYGEN_SCENARIOS, "bilevel": BILEVEL_SCENARIOS}


@dataclass
class Person:
    given: str
    family: str
    middle: str = ""

    @property
    def value(self) -> dict[str, str]:
        return {"family": self.family, "given": self.given}


@dataclass
class Prescriber(Person):
    suffix: str = "MD"
    npi: str = ""
    practice: str = ""
    practice_npi: str = ""  # the group's NPI: printed on letterheads, never the ordering NPI
    phone: str = ""
    address: str = ""


@dataclass
class CaseSpec:
    key: str
    therapy: str  # "cpap" | "bilevel" | "oxygen"
    scenario: str
    patient: Person
    birth_date: date
    sex: str
    mrn: str
    mbi: str
    payer: str
    member_id: str | None  # None for traditional Medicare (the MBI is the member id)
    prescriber: Prescriber
    order_date: date
    items: list[dict[str, Any]]
    diagnoses: list[str]
    signed: bool
    face_to_face: dict[str, Any] | None
    sleep_study: dict[str, Any] | None
    oxygen_test: dict[str, Any] | None
    expected_missing: tuple[str, ...]
    epworth: int = 0
    pcp: Person | None = None
    interpreting: Prescriber | None = None
    cpap_trial_failed: bool = False  # bilevel E0470 needs CPAP tried and failed, documented

    @property
    def expected_status(self) -> str:
        return "missing" if self.expected_missing else "qualified"


def _person(rng: random.Random) -> Person:
    return Person(rng.choice(wording.FIRST_NAMES), rng.choice(wording.LAST_NAMES), rng.choice("ABCDEJKLMRST"))


def _prescriber(rng: random.Random, *, valid_npi: bool = True) -> Prescriber:
    person = _person(rng)
    return Prescriber(person.given, person.family, person.middle, rng.choice(wording.CLINICIAN_SUFFIXES[:3]),
                      identifiers.make_npi(rng, valid=valid_npi), rng.choice(wording.PRACTICES),
                      identifiers.make_npi(rng), f"({rng.randint(200, 989)}) {rng.randint(200, 989)}-"
                      f"{rng.randint(1000, 9999)}",
                      f"{rng.randint(10, 9999)} {rng.choice(wording.STREETS)}, {rng.choice(wording.CITIES)}")


def _pap_items(rng: random.Random, therapy: str) -> list[dict[str, Any]]:
    mask = rng.choice(("full-face", "nasal", "nasal-pillows"))
    settings: dict[str, Any] = {"mask": mask}
    if therapy == "bilevel":
        epap = rng.randint(5, 10)
        settings |= {"ipap": epap + rng.randint(4, 8), "epap": epap}
    elif rng.random() < 0.5:
        settings["pressure"] = rng.randint(6, 15)
    else:
        low = rng.randint(4, 8)
        settings |= {"pressure_min": low, "pressure_max": low + rng.randint(6, 12)}
    humidifier = rng.random() < 0.7
    if humidifier:
        settings["humidifier"] = True
    items = [{"hcpcs": "E0470" if therapy == "bilevel" else "E0601", "quantity": 1, "settings": settings}]
    if humidifier:
        items.append({"hcpcs": "E0562", "quantity": 1, "settings": {}})
    supplies = [("A7030" if mask == "full-face" else "A7034", 1), ("A7035", 1), ("A7037", 1), ("A7038", 2)]
    items += [{"hcpcs": code, "quantity": qty, "settings": {}} for code, qty in supplies if rng.random() < 0.75]
    return items


OXYGEN_USE = {"rest": "continuous", "exercise": "exertional", "sleep": "nocturnal"}  # what the test qualifies for


def _oxygen_items(rng: random.Random, condition: str) -> list[dict[str, Any]]:
    use = OXYGEN_USE[condition]
    items = [{"hcpcs": "E1390", "quantity": 1, "settings": {"oxygen_lpm": rng.choice((1, 1.5, 2, 2, 3, 4)),
                                                             "oxygen_use": use}}]
    if use != "nocturnal" and rng.random() < 0.6:
        items.append({"hcpcs": "E0431", "quantity": 1, "settings": {}})
    return items


def _conditions(rng: random.Random, scenario: str) -> tuple[list[str], list[str]]:
    """Symptoms and comorbidities the face-to-face note documents; for an AHI of 5-14 whether any of them
    qualifies is the point of the scenario."""
    symptoms = set(rng.sample(wording.SLEEP_SYMPTOMS, rng.randint(1, 3)))
    comorbidities = set(rng.sample(wording.QUALIFYING_COMORBIDITIES, rng.randint(0, 2)))
    if scenario == "ahi-5-14-no-symptoms":
        symptoms -= set(wording.QUALIFYING_SYMPTOMS)
        comorbidities.clear()
    elif scenario == "qualified-ahi-5-symptoms" and not (symptoms & set(wording.QUALIFYING_SYMPTOMS) or comorbidities):
        symptoms.add(rng.choice(wording.QUALIFYING_SYMPTOMS))
    return sorted(symptoms), sorted(comorbidities)


def _sleep_study(rng: random.Random, when: date, scenario: str) -> dict[str, Any]:
    if scenario == "ahi-below-5":
        index = round(rng.uniform(1.0, 4.6), 1)
    elif scenario in ("qualified-ahi-5-symptoms", "ahi-5-14-no-symptoms"):
        index = round(rng.uniform(5.4, 14.4), 1)
    else:
        index = round(rng.uniform(15.6, 62.0), 1)
    study_type = rng.choice(("PSG", "HST"))
    hours = round(rng.uniform(5.0, 7.8), 1)
    uses_rdi = study_type == "HST" and rng.random() < 0.35
    return {"date": when.isoformat(), "type": study_type, "ahi": None if uses_rdi else index,
            "rdi": index if uses_rdi else None, "total_events": round(index * hours), "recording_hours": hours}


def _oxygen_test(rng: random.Random, when: date, scenario: str, condition: str) -> dict[str, Any]:
    high = scenario == "oxygen-saturation-too-high"
    # "too high" stays clear of Group II (SpO2 89 % / PaO2 56-59 with heart failure), which would qualify
    if condition == "rest" and rng.random() < 0.3:  # an arterial blood gas
        return {"date": when.isoformat(), "spo2": None, "pao2": float(rng.randint(61, 72) if high else
                                                                      rng.randint(44, 55)), "condition": condition}
    spo2 = float(rng.randint(90, 94) if high else rng.randint(80, 88))
    return {"date": when.isoformat(), "spo2": spo2, "pao2": None, "condition": condition}


def make_case(rng: random.Random, key: str, therapy: str, scenario: str) -> CaseSpec:
    expected = SCENARIOS[therapy][scenario]
    sex = rng.choice(("female", "male"))
    patient = _person(rng)
    patient.given = rng.choice(wording.FEMALE_NAMES if sex == "female" else wording.MALE_NAMES)
    prescriber = _prescriber(rng, valid_npi=scenario != "invalid-npi")
    birth = date(rng.randint(1934, 1959), rng.randint(1, 12), rng.randint(1, 28))
    medicare = rng.random() < 0.6
    payer = rng.choice(wording.MEDICARE_PAYERS if medicare else wording.ADVANTAGE_PAYERS)
    anchor = date(2025, 1, 6) + timedelta(days=rng.randint(0, 300))
    face_to_face = sleep = oxygen = None
    epworth = 0
    if therapy == "oxygen":
        condition = rng.choice(("rest", "exercise", "sleep"))
        items = _oxygen_items(rng, condition)
        diagnoses = sorted(rng.sample(("J44.9", "J96.11", "I50.9"), rng.randint(1, 2)))
        order_date = anchor + timedelta(days=40)
        stale = scenario == "stale-oxygen-test"
        test_date = order_date - timedelta(days=rng.randint(2 * OXYGEN_TEST_WINDOW_DAYS, 200) if stale
                                           else rng.randint(0, 20))
        if scenario != "no-oxygen-test":
            oxygen = _oxygen_test(rng, test_date, scenario, condition)
        visit = order_date - timedelta(days=rng.randint(1, 25))
        face_to_face = {"date": visit.isoformat(), "symptoms": ["dyspnea"], "comorbidities": []}
    else:
        items = _pap_items(rng, therapy)
        visit = anchor
        study_date = visit + timedelta(days=rng.randint(7, 40))
        if scenario == "face-to-face-after-study":
            visit = study_date + timedelta(days=rng.randint(4, 20))
        order_date = max(visit, study_date) + timedelta(days=rng.randint(3, 20))
        symptoms, comorbidities = _conditions(rng, scenario)
        epworth = rng.randint(11, 20) if "excessive daytime sleepiness" in symptoms else rng.randint(2, 9)
        # a hypertension code documents a comorbidity, so it appears exactly when the note names hypertension
        diagnoses = ["G47.33"] + (["E66.01"] if rng.random() < 0.4 else []) + (
            ["I10"] if "hypertension" in comorbidities else [])
        if scenario != "no-face-to-face":
            face_to_face = {"date": visit.isoformat(), "symptoms": symptoms, "comorbidities": comorbidities}
        if scenario != "no-sleep-study":
            sleep = _sleep_study(rng, study_date, scenario)
    if face_to_face:  # the diagnoses the note's assessment lists document their conditions as well
        written = {wording.DIAGNOSIS_CONDITIONS[c] for c in diagnoses if c in wording.DIAGNOSIS_CONDITIONS}
        face_to_face["comorbidities"] = sorted(set(face_to_face["comorbidities"]) | written)
    return CaseSpec(
        key=key, therapy=therapy, scenario=scenario, patient=patient, birth_date=birth, sex=sex,
        mrn=identifiers.make_mrn(rng), mbi=identifiers.make_mbi(rng), payer=payer,
        member_id=None if medicare else identifiers.make_member_id(rng), prescriber=prescriber,
        order_date=order_date, items=items, diagnoses=diagnoses, signed=scenario != "unsigned-order",
        face_to_face=face_to_face, sleep_study=sleep, oxygen_test=oxygen, expected_missing=expected,
        epworth=epworth, pcp=_person(rng), interpreting=_prescriber(rng),
        cpap_trial_failed=therapy == "bilevel" and scenario != "no-cpap-trial")


def plan_cases(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """(therapy, scenario) for each case: every scenario appears before any repeats, in a seeded order."""
    plan = [(therapy, scenario) for therapy, scenarios in SCENARIOS.items() for scenario in scenarios]
    rng.shuffle(plan)
    return [plan[i % len(plan)] for i in range(count)]
