"""Beaker: corrected results — amended versions, with the history kept.

A correction writes new versions of the Observations whose value changed (status ``corrected``, the
reason as a note) and of the DiagnosticReport (status ``corrected``, conclusion recomputed, the reason
in ``CORRECTION_REASON_EXT``); the earlier versions stay readable through ``vread`` and ``_history``.
The ordering clinician gets a new review Task (``critical-result``/``stat`` when a corrected value is
critical), and the patient a message when the report had already been released to her. One
transaction, every write with ``ifMatch`` on the version read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from osler.apps.clinic import Clinic, instant
from osler.apps.inbasket import post_entry
from osler.apps.lab.measurements import Measurement, measure_all
from osler.apps.lab.release import is_released, patient_notice, report_test
from osler.apps.lab.reports import ResultContext, conclusion_text, reported_value, review_task
from osler.apps.lab.requests import ResultValue
from osler.apps.lab.results import Filed, patient_gender
from osler.apps.lab.vocabulary import CORRECTION_REASON_EXT, InvalidResult, WrongState, put_entry
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import VersionConflict

CORRECTABLE = {"final", "corrected", "amended"}


def correct_results(clinic: Clinic, report_id: str, values: Sequence[ResultValue], *, reason: str,
                    performer: str | None = None, actor: Actor = SYSTEM) -> Filed:
    """Correct the values of a filed report; see the module docstring for what is written."""
    chronicle = clinic.chronicle
    report = chronicle.read("DiagnosticReport", report_id, actor=actor)
    test = report_test(report)
    if report.resource["status"] not in CORRECTABLE:
        raise WrongState(f"DiagnosticReport/{report_id} is {report.resource['status']}: it cannot be corrected")
    filed = {obs.resource["code"]["coding"][0]["code"]: obs for obs in _observations(clinic, report, actor)}
    patient = report.resource["subject"]["reference"]
    gender = patient_gender(clinic, test, patient, actor)
    corrected = measure_all(test, values, gender)
    for index, item in enumerate(corrected):
        if item.component.code not in filed:
            raise InvalidResult(f"results[{index}]: {item.component.name} ({item.component.code}) was not reported "
                                f"in DiagnosticReport/{report_id}; only reported results can be corrected",
                                where=f"results[{index}].code")
    changed = [m for m in corrected if reported_value(filed[m.component.code].resource) !=
               ResultValue(code=m.component.code, value=m.value, unit=m.unit)]
    if not changed:
        raise InvalidResult("these values are the ones on file: there is nothing to correct")
    now = instant(clinic.now())
    order_ref = report.resource["basedOn"][0]["reference"]
    order = chronicle.read("ServiceRequest", order_ref.split("/", 1)[1], actor=actor)
    context = ResultContext(patient=patient, order=order_ref,
                            requester=(order.resource.get("requester") or {}).get("reference"),
                            encounter=None, specimen=report.resource["specimen"][0]["reference"],
                            collected=report.resource["effectiveDateTime"], issued=now,
                            performer=performer or _first_performer(report.resource))
    changed_codes = {m.component.code for m in changed}
    everything = changed + [measure_all(test, [reported_value(obs.resource)], gender)[0]
                            for code, obs in filed.items() if code not in changed_codes]
    entries = [put_entry("Observation", filed[m.component.code].res_id,
                         _corrected_observation(filed[m.component.code].resource, m, reason, now),
                         filed[m.component.code].etag) for m in changed]
    updated = _corrected_report(report.resource, conclusion_text(everything), reason, now)
    entries.append(put_entry("DiagnosticReport", report_id, updated, report.etag))
    task = review_task(clinic, test, changed, context, f"DiagnosticReport/{report_id}",
                       headline=f"Corrected {test.name} result to review ({reason})")
    if task is not None:
        entries.append(post_entry(task))
    if is_released(report.resource):
        entries.append(post_entry(patient_notice(clinic, test, updated, f"DiagnosticReport/{report_id}",
                                                 news=f"Your {test.name} result was corrected. Log in to see it.")))
    try:
        written = [r.stored for r in chronicle.transact(entries, actor=actor)]
    except VersionConflict:
        raise WrongState(f"DiagnosticReport/{report_id} or its results changed meanwhile; nothing was written; "
                         "read it again") from None
    stored = [s for s in written if s is not None]
    return Filed(report=next(s for s in stored if s.res_type == "DiagnosticReport"),
                 observations=[s for s in stored if s.res_type == "Observation"], measurements=changed,
                 task=next((s for s in stored if s.res_type == "Task"), None),
                 messages=[s for s in stored if s.res_type == "Communication"])


def _observations(clinic: Clinic, report: Stored, actor: Actor) -> list[Stored]:
    ids = [ref["reference"].split("/", 1)[1] for ref in report.resource.get("result") or []]
    return [clinic.chronicle.read("Observation", res_id, actor=actor) for res_id in ids]


def _first_performer(resource: dict[str, Any]) -> str | None:
    return next((p.get("reference") for p in resource.get("performer") or []), None)


def _corrected_observation(current: dict[str, Any], measured: Measurement, reason: str, now: str) -> dict[str, Any]:
    kept = {k: v for k, v in current.items()
            if k not in ("meta", "valueQuantity", "valueString", "interpretation", "referenceRange")}
    resource = {**kept, "status": "corrected", "issued": now, **measured.value_element(),
                "interpretation": measured.interpretation(),
                "note": [*current.get("note", []), {"time": now, "text": f"Corrected: {reason}"}]}
    ranges = measured.reference_range()
    if ranges:
        resource["referenceRange"] = ranges
    return resource


def _corrected_report(current: dict[str, Any], conclusion: str, reason: str, now: str) -> dict[str, Any]:
    extensions = [e for e in current.get("extension") or [] if e.get("url") != CORRECTION_REASON_EXT]
    return {**current, "status": "corrected", "issued": now, "conclusion": conclusion,
            "extension": [*extensions, {"url": CORRECTION_REASON_EXT, "valueString": reason}]}
