"""Medicare home oxygen — LCD L33797, the part intake paperwork can show exactly:

* a qualifying blood gas study within 30 days before the order date. Group I: SpO2 ≤ 88 % or PaO2
  ≤ 55 mm Hg at rest, during exercise, or during sleep. Group II: SpO2 89 % or PaO2 56-59 mm Hg with
  documented dependent edema/heart failure, pulmonary hypertension or cor pulmonale, or erythrocythemia;
* a face-to-face evaluation by the treating practitioner within 30 days before the order;
* the order's elements and a valid MBI.

Not checked (noted on the decision instead, for a person to confirm from the report): that a sleep
desaturation lasted at least 5 minutes, the exercise test's three readings (at rest, exercising without
and with oxygen), the hematocrit behind "erythrocythemia", and Group II's repeat test between the 61st
and 90th day.
"""

from __future__ import annotations

import re

from osler.dme.qualify.context import Judgement
from osler.dme.qualify.orders import check_mbi, check_order

WINDOW_DAYS = 30
GROUP_I_SPO2 = 88.0
GROUP_I_PAO2 = 55.0
GROUP_II_SPO2 = 89.0
GROUP_II_PAO2 = (56.0, 59.0)
GROUP_II_CONDITIONS = re.compile(r"heart failure|\bchf\b|edema|cor pulmonale|pulmonary (?:arterial )?hypertension|"
                                 r"\bpah\b|erythrocytosis|erythrocythemia|polycythemia")


def check_oxygen(judgement: Judgement) -> None:
    check_order(judgement)
    check_mbi(judgement)
    _check_visit(judgement)
    test = judgement.value("oxygen_test")
    if not test or (test.get("spo2") is None and test.get("pao2") is None):
        judgement.fail_absent("oxygen-test", "No oxygen test report (oximetry SpO2 or arterial blood gas PaO2) "
                              "within 30 days before the order.")
        return
    _check_window(judgement, "oxygen_test", "oxygen-test-date", "The oxygen test")
    _check_value(judgement, test)


def _check_window(judgement: Judgement, field: str, code: str, what: str) -> None:
    when, ordered = judgement.date_of(field), judgement.date_of("order_date")
    if when is None or ordered is None:
        which = what.removeprefix("The ").lower() if when is None else "order"
        judgement.fail(code, f"The date of the {which} cannot be read, so it cannot be shown that {what.lower()} "
                       f"was within {WINDOW_DAYS} days before the order.")
        return
    days = (ordered - when).days
    if days < 0:
        judgement.fail(code, f"{what} ({when}) is dated after the order ({ordered}); it must be within "
                       f"{WINDOW_DAYS} days before the order.")
    elif days > WINDOW_DAYS:
        judgement.fail(code, f"{what} ({when}) is {days} days before the order ({ordered}); it must be within "
                       f"{WINDOW_DAYS} days before the order.")
    else:
        judgement.passed(f"{what} ({when}) is {days} days before the order.")


def _check_visit(judgement: Judgement) -> None:
    if not judgement.value("face_to_face"):
        judgement.fail_absent("face-to-face", f"No face-to-face evaluation by the treating practitioner within "
                              f"{WINDOW_DAYS} days before the order.")
        return
    _check_window(judgement, "face_to_face", "face-to-face-date", "The face-to-face evaluation")


def _check_value(judgement: Judgement, test: dict) -> None:
    spo2, pao2 = test.get("spo2"), test.get("pao2")
    condition = test.get("condition") or "an unstated condition"
    reading = " and ".join(text for text in (f"SpO2 {spo2:g} %" if spo2 is not None else "",
                                             f"PaO2 {pao2:g} mm Hg" if pao2 is not None else "") if text)
    if (spo2 is not None and spo2 <= GROUP_I_SPO2) or (pao2 is not None and pao2 <= GROUP_I_PAO2):
        judgement.passed(f"Oxygen test: {reading} during {condition} qualifies (group I).")
        if condition == "sleep":
            judgement.passed("To confirm on the report: the desaturation during sleep lasted at least 5 minutes.")
        elif condition == "exercise":
            judgement.passed("To confirm on the report: the exercise test shows improvement with oxygen.")
        return
    group_ii = (spo2 is not None and spo2 <= GROUP_II_SPO2) or \
        (pao2 is not None and GROUP_II_PAO2[0] <= pao2 <= GROUP_II_PAO2[1])
    visit = judgement.value("face_to_face") or {}
    written = " | ".join(str(c).lower() for c in [*(visit.get("comorbidities") or []), *(visit.get("symptoms") or [])])
    if group_ii and GROUP_II_CONDITIONS.search(written):
        judgement.passed(f"Oxygen test: {reading} during {condition} with a documented group II condition.")
        return
    judgement.fail("oxygen-saturation", f"Oxygen test: {reading} during {condition} does not qualify: it must be "
                   "SpO2 ≤ 88 % or PaO2 ≤ 55 mm Hg (or SpO2 89 % / PaO2 56-59 mm Hg with documented heart failure "
                   "with edema, pulmonary hypertension or erythrocythemia).")
