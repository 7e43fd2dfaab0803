"""Beaker: filing results — the lab's hot path (benchmarked at ≥ 300 results/s through HTTP).

Reads: the Specimen by accession (one token search), its order, and the patient only when the test
has sex-specific ranges. Then everything is checked (``measurements``) before one ``transact`` writes,
all or nothing: one Observation per component, the DiagnosticReport, the clinician's review Task
(``critical-result`` at ``stat`` priority when a value is beyond a critical limit), the patient's
release message unless the test is held (``release``), the order completed and the Specimen marked
``resulted`` — both with ``ifMatch``, so that results filed twice at once cannot both be written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from osler.apps.clinic import Clinic, instant
from osler.apps.inbasket import post_entry
from osler.apps.lab.catalog import LabTest
from osler.apps.lab.measurements import Measurement, measure_all
from osler.apps.lab.release import patient_notice, release_marks
from osler.apps.lab.reports import ResultContext, conclusion_text, diagnostic_report, observation, review_task
from osler.apps.lab.requests import ResultValue
from osler.apps.lab.specimens import find_specimen, order_test, specimen_order_id
from osler.apps.lab.vocabulary import RELEASE_TAG, STAGE_TAG, WrongState, put_entry, tag_code, with_tag
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import VersionConflict


@dataclass
class Filed:
    """What one filing (or correction) wrote."""

    report: Stored
    observations: list[Stored]
    measurements: list[Measurement]
    task: Stored | None = None
    messages: list[Stored] = field(default_factory=list)

    @property
    def critical(self) -> bool:
        return any(m.critical for m in self.measurements)

    def as_json(self) -> dict[str, Any]:
        return {"report": self.report.res_id, "status": self.report.resource["status"],
                "observations": [o.res_id for o in self.observations],
                "interpretation": {m.component.code: m.flag for m in self.measurements},
                "critical": self.critical, "task": self.task.res_id if self.task else None,
                "messages": [m.res_id for m in self.messages],
                "released": tag_code(self.report.resource, RELEASE_TAG) == "released"}


def urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def file_results(clinic: Clinic, accession: str, values: Sequence[ResultValue], *, performer: str | None = None,
                 conclusion: str | None = None, actor: Actor = SYSTEM) -> Filed:
    """File the results of a received specimen; see the module docstring for what is written."""
    chronicle = clinic.chronicle
    specimen = find_specimen(clinic, accession, actor=actor)
    stage = tag_code(specimen.resource, STAGE_TAG)
    if stage == "collected":
        raise WrongState(f"specimen {accession} has not been received in the lab yet: receive it first")
    if stage == "resulted":
        raise WrongState(f"specimen {accession} already has results; send a correction to change them")
    order = chronicle.read("ServiceRequest", specimen_order_id(specimen.resource), actor=actor)
    if order.resource.get("status") != "active":
        raise WrongState(f"ServiceRequest/{order.res_id} is {order.resource.get('status')}: results cannot be filed")
    test = order_test(order)
    measured = measure_all(test, values, patient_gender(clinic, test, order.resource["subject"]["reference"], actor))
    now = clinic.now()
    context = ResultContext.of(order, specimen, instant(now), performer)
    observations = [{"fullUrl": urn(), **post_entry(observation(m, context))} for m in measured]
    summary = conclusion or conclusion_text(measured)
    report = {"fullUrl": urn(), **post_entry({
        **diagnostic_report(test, context, [o["fullUrl"] for o in observations], summary),
        **release_marks(test, now)})}
    entries = [*observations, report,
               put_entry("ServiceRequest", order.res_id, {**order.resource, "status": "completed"}, order.etag),
               put_entry("Specimen", specimen.res_id, with_tag(specimen.resource, STAGE_TAG, "resulted"),
                         specimen.etag)]
    task = review_task(clinic, test, measured, context, report["fullUrl"])
    if task is not None:
        entries.append(post_entry(task))
    if not test.sensitive:
        entries.append(post_entry(patient_notice(clinic, test, report["resource"], report["fullUrl"])))
    try:
        written = [r.stored for r in chronicle.transact(entries, actor=actor)]
    except VersionConflict:
        raise WrongState(f"specimen {accession} or its order changed while the results were being filed (filed "
                         "twice at once?); nothing was written") from None
    return _filed(written, measured)


def _filed(written: list[Stored | None], measured: list[Measurement]) -> Filed:
    stored = [s for s in written if s is not None]
    by_type: dict[str, list[Stored]] = {}
    for item in stored:
        by_type.setdefault(item.res_type, []).append(item)
    return Filed(report=by_type["DiagnosticReport"][0], observations=by_type.get("Observation", []),
                 measurements=measured, task=next(iter(by_type.get("Task", [])), None),
                 messages=by_type.get("Communication", []))


def patient_gender(clinic: Clinic, test: LabTest, patient: str, actor: Actor) -> str | None:
    """The patient's administrative gender, read only when the test has sex-specific ranges."""
    if not test.sex_specific:
        return None
    res_type, _, res_id = patient.partition("/")
    return clinic.chronicle.read(res_type, res_id, actor=actor).resource.get("gender")
