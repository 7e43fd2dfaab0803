"""Beaker: releasing results to the patient's portal inbox, and the clinician's comments on them.

Policy: a result is released when it is filed — a ``result-released`` Communication to the patient,
about the DiagnosticReport, written in the same transaction — unless its test is sensitive in the
catalog (HIV, pregnancy…): then the report is tagged ``held`` with the time it may be released
(``RELEASE_DUE_EXT``: issued + the test's hold), and ``release_due_results``, a periodic job, releases
it once that time has come. The clinician may comment on a report (``add_result_comment``): the
comment is kept on the report as an Annotation extension; the release message carries the comments
made so far, and a comment made after the release goes to the patient as a follow-up message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from osler.apps.clinic import Clinic, instant, parse_instant
from osler.apps.inbasket import compose_message, post_entry
from osler.apps.lab.catalog import LabTest, lab_test
from osler.apps.lab.vocabulary import (
    CLINICIAN_COMMENT_EXT,
    RELEASE_DUE_EXT,
    RELEASE_TAG,
    WrongState,
    put_entry,
    tag,
    tag_code,
    with_tag,
)
from osler.apps.terminology import LOINC
from osler.chronicle.reactions import Reactor
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import NotFound, VersionConflict

RELEASE_JOB = "lab-release-due"
RELEASE_INTERVAL_SECONDS = 300
RELEASE_ACTOR = Actor("lab-release", "TREAT")


def release_marks(test: LabTest, issued: datetime) -> dict[str, Any]:
    """The tag (and for a sensitive test the due time) a new report is filed with."""
    if not test.sensitive:
        return {"meta": {"tag": [tag(RELEASE_TAG, "released")]}}
    return {"meta": {"tag": [tag(RELEASE_TAG, "held")]},
            "extension": [{"url": RELEASE_DUE_EXT, "valueDateTime": instant(issued + test.hold)}]}


def is_released(report: dict[str, Any]) -> bool:
    return tag_code(report, RELEASE_TAG) == "released"


def report_test(report: Stored) -> LabTest:
    """The catalog test of a lab DiagnosticReport; ``NotFound`` for a report the lab did not file."""
    if tag_code(report.resource, RELEASE_TAG) is None:
        raise NotFound(f"DiagnosticReport/{report.res_id} is not a lab report")
    code = next((c.get("code") for c in report.resource["code"].get("coding") or [] if c.get("system") == LOINC), None)
    return lab_test(code)


def comments(report: dict[str, Any]) -> list[str]:
    return [e["valueAnnotation"]["text"] for e in report.get("extension") or []
            if e.get("url") == CLINICIAN_COMMENT_EXT]


def patient_notice(clinic: Clinic, test: LabTest, report: dict[str, Any], about: str, *, news: str = "") -> \
        dict[str, Any]:
    """The patient's portal message about a report (not stored): that it is available (or ``news``),
    with the clinician's comments so far."""
    collected = parse_instant(report["effectiveDateTime"]).astimezone(clinic.zone).date()
    text = news or f"Your {test.name} result from {collected:%B %d, %Y} is available. Log in to see it."
    notes = comments(report)
    if notes:
        text += "\n\nA note from your care team: " + "\n".join(notes)
    return compose_message(clinic, category="result-released", recipient=report["subject"]["reference"],
                           subject=f"Your {test.name} result", text=text, patient=report["subject"]["reference"],
                           about=[about])


def release_due_results(clinic: Clinic, *, actor: Actor = RELEASE_ACTOR) -> list[Stored]:
    """Release every held report whose hold has run out: each its own transaction (report tagged
    ``released`` + the patient's message). A report changed meanwhile (a correction, a comment) is left
    for the next run. The messages written."""
    now = clinic.now()
    held = clinic.chronicle.search("DiagnosticReport", [("_tag", f"{RELEASE_TAG}|held"), ("_count", "500")],
                                   actor=actor).matches
    released = []
    for report in held:
        due = next((e["valueDateTime"] for e in report.resource.get("extension") or [] if e.get("url") ==
                    RELEASE_DUE_EXT), None)
        if due is not None and parse_instant(due) > now:
            continue
        message = patient_notice(clinic, report_test(report), report.resource, f"DiagnosticReport/{report.res_id}")
        entries = [put_entry("DiagnosticReport", report.res_id, with_tag(report.resource, RELEASE_TAG, "released"),
                             report.etag), post_entry(message)]
        try:
            stored = clinic.chronicle.transact(entries, actor=actor)[1].stored
        except VersionConflict:
            continue
        assert stored is not None
        released.append(stored)
    return released


def register_lab(reactor: Reactor, clinic: Clinic) -> None:
    """Have ``reactor`` release held results when their time has come."""
    reactor.every(RELEASE_JOB, RELEASE_INTERVAL_SECONDS, lambda _chronicle: release_due_results(clinic))


@dataclass(frozen=True)
class Commented:
    report: Stored
    message: Stored | None  # the follow-up to the patient when the report was already released


def add_result_comment(clinic: Clinic, report_id: str, text: str, *, author: str,
                       actor: Actor = SYSTEM) -> Commented:
    """Add the clinician's comment to a report; the patient gets it now if the report is released,
    else with the release message."""
    report = clinic.chronicle.read("DiagnosticReport", report_id, actor=actor)
    test = report_test(report)
    note = {"url": CLINICIAN_COMMENT_EXT,
            "valueAnnotation": {"authorReference": {"reference": author}, "time": instant(clinic.now()), "text": text}}
    updated = {**report.resource, "extension": [*report.resource.get("extension", []), note]}
    entries = [put_entry("DiagnosticReport", report_id, updated, report.etag)]
    if is_released(report.resource):
        follow_up = patient_notice(clinic, test, {**updated, "extension": [note]}, f"DiagnosticReport/{report_id}",
                                   news=f"Your care team commented on your {test.name} result.")
        entries.append(post_entry(follow_up))
    try:
        results = clinic.chronicle.transact(entries, actor=actor)
    except VersionConflict:
        raise WrongState(f"DiagnosticReport/{report_id} was changed meanwhile; read it again") from None
    stored = results[0].stored
    assert stored is not None
    return Commented(stored, results[1].stored if len(results) > 1 else None)
