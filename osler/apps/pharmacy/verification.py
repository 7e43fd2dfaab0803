"""Willow: pharmacist verification of a prescription (Epic: the Willow verification queue).

``verify_prescription`` runs the checks of ``screening`` and then, in one transaction, records a
``DetectedIssue`` per finding (severity, Willow and HL7 alert codes, detail, implicated resources; an
override as its ``mitigation``) and moves the fill Task to *verified* (creating it for a first fill).

A hard stop without an override reason refuses the verification: 409 with an OperationOutcome naming
every finding, and **nothing is written** — not even the DetectedIssues. The pharmacist sees them in
the answer; a verification that goes through (clean, with warnings only, or overridden) is the only one
that leaves a record, so the chart never holds issues for a verification that did not happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from osler.apps.clinic import Clinic, instant
from osler.apps.pharmacy import vocabulary as v
from osler.apps.pharmacy.errors import VerificationRefused, WrongState
from osler.apps.pharmacy.fills import advance, new_fill, put, require_state
from osler.apps.pharmacy.prescriptions import (
    Prescription,
    active_allergies,
    active_medications,
    current_fill,
    load_prescription,
    require_party,
)
from osler.apps.pharmacy.screening import Finding, screen
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.fhir.outcome import Issue

MAX_REASON = 1000


@dataclass(frozen=True)
class Verification:
    task: Stored
    issues: list[Stored]  # the DetectedIssues written
    findings: list[Finding]
    overridden: bool


def verify_prescription(clinic: Clinic, medication_request_id: str, pharmacist: str,
                        override_reason: str | None = None, *, actor: Actor = SYSTEM) -> Verification:
    """Verify a prescription waiting at its pharmacy; 409 (nothing written) on a hard stop not overridden."""
    prescription = load_prescription(clinic, medication_request_id, actor=actor)
    task, earlier_fills = current_fill(clinic, prescription, actor=actor)
    if task is None and earlier_fills:
        raise WrongState(f"{prescription.reference} has no fill waiting: its fills are done; request a refill")
    if task is not None:
        require_state(task, earlier_fills, prescription, "to-verify", doing="verify")
    require_party(clinic, f"Practitioner/{pharmacist}", ("Practitioner",), what="pharmacist", actor=actor)
    reason = (override_reason or "").strip()[:MAX_REASON] or None

    findings = screen(prescription.resource, prescription.drug,
                      active_allergies(clinic, prescription.patient, actor=actor),
                      active_medications(clinic, prescription, actor=actor))
    hard_stops = [f for f in findings if f.hard_stop]
    if hard_stops and reason is None:
        raise VerificationRefused(
            f"{prescription.reference} cannot be verified: {len(hard_stops)} hard stop(s) need a pharmacist "
            "override with a reason", issues=[_issue(f) for f in findings])

    issue_urls = [f"urn:uuid:{uuid4()}" for _ in findings]
    entries = [{"fullUrl": url, "request": {"method": "POST", "url": "DetectedIssue"},
                "resource": _detected_issue(clinic, prescription, finding, pharmacist, reason)}
               for url, finding in zip(issue_urls, findings, strict=True)]
    outputs = [v.parameter("verified-by", valueReference=v.reference(f"Practitioner/{pharmacist}")),
               *(v.parameter("detected-issue", valueReference=v.reference(url)) for url in issue_urls)]
    if task is None:
        fill = advance(clinic, new_fill(clinic, prescription, 1, "to-verify"), "verified", *outputs)
        entries.append({"request": {"method": "POST", "url": "Task"}, "resource": fill})
    else:
        entries.append(put(task, advance(clinic, task.resource, "verified", *outputs)))
    results = clinic.chronicle.transact(entries, actor=actor)
    stored = [r.stored for r in results if r.stored is not None]
    return Verification(stored[-1], stored[:-1], findings, overridden=bool(hard_stops))


def _issue(finding: Finding) -> Issue:
    severity = "error" if finding.hard_stop else "warning"
    return Issue("business-rule", f"[{finding.kind}] {v.ISSUES[finding.kind][0]}: {finding.detail}",
                 severity=severity)


def _detected_issue(clinic: Clinic, prescription: Prescription, finding: Finding, pharmacist: str,
                    override_reason: str | None) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "resourceType": "DetectedIssue", "status": "final", "code": v.issue_concept(finding.kind),
        "severity": finding.severity, "patient": v.reference(prescription.patient),
        "identifiedDateTime": instant(clinic.now()), "author": v.reference(f"Practitioner/{pharmacist}"),
        "implicated": [v.reference(prescription.reference), *(v.reference(r) for r in finding.implicated)],
        "detail": finding.detail}
    if finding.hard_stop and override_reason:
        issue["mitigation"] = [{"action": {"text": f"Overridden by the pharmacist: {override_reason}"},
                                "date": instant(clinic.now()),
                                "author": v.reference(f"Practitioner/{pharmacist}")}]
    return issue
