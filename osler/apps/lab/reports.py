"""Beaker: building the result resources — one Observation per component, the DiagnosticReport that
gathers them, and the in-basket Task asking the ordering clinician to review them. Pure: the callers
(``results``, ``corrections``) read what these need and write what they return in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from osler.apps.clinic import Clinic
from osler.apps.inbasket import compose_task
from osler.apps.lab.catalog import LabTest
from osler.apps.lab.measurements import Measurement
from osler.apps.lab.requests import ResultValue
from osler.apps.lab.vocabulary import LAB_REPORT, LABORATORY, reference
from osler.chronicle.records import Stored


@dataclass(frozen=True)
class ResultContext:
    """What every resource of one report shares: who, which order and specimen, when, by whom."""

    patient: str
    order: str  # ServiceRequest/<id>
    requester: str | None  # the ordering clinician, who reviews the results
    encounter: str | None
    specimen: str  # Specimen/<id>
    collected: str  # instant: the results' effective time
    issued: str
    performer: str | None

    @classmethod
    def of(cls, order: Stored, specimen: Stored, issued: str, performer: str | None) -> ResultContext:
        request = order.resource
        return cls(patient=request["subject"]["reference"], order=f"ServiceRequest/{order.res_id}",
                   requester=(request.get("requester") or {}).get("reference"),
                   encounter=(request.get("encounter") or {}).get("reference"),
                   specimen=f"Specimen/{specimen.res_id}",
                   collected=specimen.resource["collection"]["collectedDateTime"], issued=issued,
                   performer=performer)

    def shared(self) -> dict[str, Any]:
        """The elements an Observation and a DiagnosticReport of this result have in common."""
        common: dict[str, Any] = {"subject": reference(self.patient), "basedOn": [reference(self.order)],
                                  "effectiveDateTime": self.collected, "issued": self.issued}
        if self.encounter:
            common["encounter"] = reference(self.encounter)
        if self.performer:
            common["performer"] = [reference(self.performer)]
        return common


def observation(measured: Measurement, context: ResultContext, status: str = "final") -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation", "status": status, "category": [LABORATORY],
        "code": {"coding": [measured.component.coding()]}, **context.shared(),
        "specimen": reference(context.specimen), **measured.value_element(),
        "interpretation": measured.interpretation()}
    ranges = measured.reference_range()
    if ranges:
        resource["referenceRange"] = ranges
    return resource


def diagnostic_report(test: LabTest, context: ResultContext, results: Sequence[str], conclusion: str,
                      status: str = "final") -> dict[str, Any]:
    return {"resourceType": "DiagnosticReport", "status": status, "category": [LAB_REPORT],
            "code": {"coding": [test.coding()], "text": test.name}, **context.shared(),
            "specimen": [reference(context.specimen)], "result": [reference(r) for r in results],
            "conclusion": conclusion}


def conclusion_text(measured: Sequence[Measurement]) -> str:
    abnormal = [m.summary() for m in measured if m.abnormal]
    if not abnormal:
        return "All results within the reference range."
    return f"Abnormal: {'; '.join(abnormal)}."


def review_task(clinic: Clinic, test: LabTest, measured: Sequence[Measurement], context: ResultContext,
                report: str, *, headline: str = "") -> dict[str, Any] | None:
    """The "result to review" Task for the ordering clinician — a ``critical-result`` at ``stat`` priority
    when any value is beyond a critical limit; None when the order names no requester."""
    if context.requester is None:
        return None
    critical = any(m.critical for m in measured)
    description = f"{'CRITICAL: ' if critical else ''}{headline or f'{test.name} result to review'}: " \
                  f"{conclusion_text(measured)}"
    return compose_task(clinic, category="critical-result" if critical else "result", owner=context.requester,
                        description=description, patient=context.patient, focus=report,
                        requester=context.performer, priority="stat" if critical else "routine",
                        based_on=[context.order])


def reported_value(observation_: dict[str, Any]) -> ResultValue:
    """A stored Observation's value as it was reported (to re-check it against the catalog)."""
    code = observation_["code"]["coding"][0]["code"]
    if "valueQuantity" in observation_:
        found = observation_["valueQuantity"]
        return ResultValue(code=code, value=found["value"], unit=found.get("code"))
    return ResultValue(code=code, value=observation_["valueString"])
