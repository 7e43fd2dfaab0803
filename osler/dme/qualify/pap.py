"""Medicare PAP devices for obstructive sleep apnea — LCD L33718 and policy article A52467, as far as
paperwork can show them: CPAP E0601 (and its supplies and accessories, which ride on the same coverage)
needs

* a face-to-face clinical evaluation by the treating practitioner before the sleep test;
* a Medicare-covered sleep test (PSG or HST) with AHI or RDI ≥ 15, or 5 to 14 with documented excessive
  daytime sleepiness, impaired cognition, mood disorder or insomnia, or hypertension, ischemic heart
  disease or history of stroke; resting on two hours of recording or, short of that, on at least the events
  two hours at that rate would give (30, or 10 for the 5-14 range);
* the order's elements, a valid MBI, and the diagnosis G47.33;
* supplies within their replacement schedule (``supplies``).

Bilevel without backup rate E0470 adds that CPAP was tried and proven ineffective or not tolerated: here,
a sentence of the notes or the order that names CPAP together with a failure word ("failed",
"intolerant", "unable to tolerate", "ineffective"…). Bilevel with backup rate (E0471) is not covered
for OSA and is left to a person. The supplier's instruction of the beneficiary and the 12-week
adherence re-evaluation happen after intake and are not checked here.
"""

from __future__ import annotations

import re

from osler.dme.model import DocumentKind
from osler.dme.qualify.context import Judgement
from osler.dme.qualify.orders import check_diagnosis, check_mbi, check_order
from osler.dme.qualify.supplies import check_supplies

FULL_QUALIFYING_INDEX = 15.0
MINIMUM_INDEX = 5.0
MINIMUM_RECORDING_HOURS = 2.0

# Conditions that make an AHI/RDI of 5-14 qualify, as the face-to-face note may word them.
QUALIFYING_CONDITIONS: dict[str, re.Pattern[str]] = {
    "excessive daytime sleepiness": re.compile(r"sleepiness|somnolence|hypersomnolence|\beds\b|falls? asleep"),
    "impaired cognition": re.compile(r"cognit|memory"),
    "mood disorder": re.compile(r"mood|depress"),
    "insomnia": re.compile(r"insomnia"),
    "hypertension": re.compile(r"(?<!pulmonary )(?<!pulmonary arterial )hypertension|\bhtn\b|high blood pressure"),
    "ischemic heart disease": re.compile(r"ischemic heart|coronary|\bcad\b|\bihd\b|myocardial infarction"),
    "history of stroke": re.compile(r"stroke|\bcva\b|cerebrovascular accident"),
}
CPAP_FAILED = re.compile(r"\b(?:c?pap|e0601)\b[^.\n]*\b(?:fail\w*|intoleran\w*|not tolerat\w*|unable to tolerate|"
                         r"could not tolerate|ineffective|did not tolerate)|\b(?:fail\w*|intoleran\w*|"
                         r"unable to tolerate|could not tolerate|did not tolerate)\b[^.\n]*\b(?:c?pap|e0601)\b")


def documented_conditions(symptoms: list[str], comorbidities: list[str]) -> list[str]:
    written = " | ".join(str(s).lower() for s in [*symptoms, *comorbidities])
    return [name for name, pattern in QUALIFYING_CONDITIONS.items() if pattern.search(written)]


def check_cpap(judgement: Judgement) -> None:
    check_order(judgement)
    check_mbi(judgement)
    check_diagnosis(judgement, "G47.33", "obstructive sleep apnea")
    check_supplies(judgement)
    study = judgement.value("sleep_study")
    visit = judgement.value("face_to_face")
    if not visit:
        judgement.fail_absent("face-to-face", "No face-to-face clinical evaluation by the treating practitioner "
                              "before the sleep study (an office note documenting the signs and symptoms of sleep "
                              "apnea).")
    if not study or (study.get("ahi") is None and study.get("rdi") is None):
        judgement.fail_absent("sleep-study", "No sleep study report (polysomnography or home sleep test) with an "
                              "AHI or RDI.")
        return
    if visit:
        _check_visit_before_study(judgement)
    _check_index(judgement, study, visit or {})


def check_bilevel(judgement: Judgement) -> None:
    check_cpap(judgement)
    readable = [d for d in judgement.case.documents if d.quarantined is None and d.kind in
                (DocumentKind.OFFICE_NOTE, DocumentKind.ENCOUNTER_SUMMARY, DocumentKind.DME_ORDER,
                 DocumentKind.SLEEP_STUDY)]
    tried = any(CPAP_FAILED.search(document.text.lower()) for document in readable)
    judgement.check(tried, "cpap-trial", "Bilevel (E0470): no documentation that CPAP (E0601) was tried and proven "
                    "ineffective or not tolerated; please send the note that documents the CPAP trial.",
                    "CPAP tried and failed, documented.")


def _check_visit_before_study(judgement: Judgement) -> None:
    visit_date, study_date = judgement.date_of("face_to_face"), judgement.date_of("sleep_study")
    if visit_date is None or study_date is None:
        which = "face-to-face evaluation" if visit_date is None else "sleep study"
        judgement.fail("face-to-face-before-study", f"The date of the {which} cannot be read, so it cannot be "
                       "shown that the face-to-face evaluation came before the sleep study.")
        return
    judgement.check(visit_date <= study_date, "face-to-face-before-study",
                    f"The face-to-face evaluation ({visit_date}) is dated after the sleep study ({study_date}); "
                    "Medicare needs the treating practitioner's evaluation before the sleep test.",
                    f"Face-to-face evaluation ({visit_date}) before the sleep study ({study_date}).")


def _check_index(judgement: Judgement, study: dict, visit: dict) -> None:
    label, index = ("AHI", float(study["ahi"])) if study.get("ahi") is not None else ("RDI", float(study["rdi"]))
    if index >= FULL_QUALIFYING_INDEX:
        judgement.passed(f"Sleep study: {label} {index:.1f} ≥ 15.")
        _check_events(judgement, study, index, label, 30)
        return
    if index < MINIMUM_INDEX:
        judgement.fail("ahi-threshold", f"Sleep study: {label} {index:.1f} is below 5 events per hour; it does not "
                       "qualify for PAP therapy.")
        return
    conditions = documented_conditions(visit.get("symptoms") or [], visit.get("comorbidities") or [])
    if not conditions:
        judgement.fail("ahi-threshold", f"Sleep study: {label} {index:.1f} is below 15 and the face-to-face note "
                       f"documents none of {', '.join(QUALIFYING_CONDITIONS)}.")
        return
    judgement.passed(f"Sleep study: {label} {index:.1f} (5-14) with documented {', '.join(conditions)}.")
    _check_events(judgement, study, index, label, 10)


def _check_events(judgement: Judgement, study: dict, index: float, label: str, needed: int) -> None:
    """The index must rest on at least two hours of sleep or, if less was recorded, on at least the events two
    hours at that rate would give. A recording of two hours or more meets it whatever the event count reads
    (a misread count does not undo it); otherwise the stated count, or the one the index and hours imply."""
    hours = study.get("recording_hours")
    if hours is not None and hours >= MINIMUM_RECORDING_HOURS:
        return
    events = study.get("total_events")
    if events is None and hours is not None:
        events = round(index * hours)
    if events is None:
        return
    recorded = f"{hours:.1f} hours recorded" if hours is not None else "recording time not stated"
    judgement.check(events >= needed, "sleep-study-events",
                    f"Sleep study: {recorded} with {events} events; on less than 2 hours of recording at least "
                    f"{needed} events are needed for this {label}.",
                    f"Sleep study: {events} events.")
