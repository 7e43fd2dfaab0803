"""EpicCare Ambulatory (charting): the after-visit summary (AVS) the patient takes home.

It prints the clinic, the visit date and provider, the vitals taken, the diagnoses, the prescriptions
with their instructions, the other orders (labs, equipment, referrals; changed orders marked), the
allergies and medication list, and the clinician's instructions, as a PDF. The PDF is stored as a
DocumentReference (LOINC 34133-9 Summary of episode note, ``application/pdf`` with size and SHA-1
hash) and sent to the patient's in-basket (category ``visit-summary``), in one transaction. Printing it
again supersedes the previous one (``relatesTo`` replaces). Works on an open or finished encounter.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from osler.apps import terminology
from osler.apps.charting import vital_signs as vs
from osler.apps.charting import vocabulary as v
from osler.apps.charting.chart import SUMMARY_TYPE, Chart, read_chart
from osler.apps.charting.encounters import EncounterContext, documented_encounter, editable, post, put, transact
from osler.apps.charting.orders import kind_of, order_title
from osler.apps.charting.requests import SummaryRequest
from osler.apps.charting.summary_pdf import VisitSummary, render
from osler.apps.clinic import Clinic, instant, parse_instant
from osler.apps.inbasket import compose_message
from osler.apps.scheduling.vocabulary import DEPARTMENT_ID, DEPARTMENT_TAG, tag_code
from osler.chronicle.records import SYSTEM, Actor, Stored

SUMMARY = "urn:uuid:after-visit-summary"
SIGNED = ("active", "completed")
VITAL_LABELS = {vital.loinc[0]: vital.label.capitalize() for vital in vs.SINGLE} | \
    {vs.BLOOD_PRESSURE_PANEL: "Blood pressure"}
PATIENT_UNITS = {"Cel": "\u00b0C", "[degF]": "\u00b0F", "[lb_av]": "lb", "[in_i]": "in", "mm[Hg]": "mmHg",
                 "kg/m2": "kg/m\u00b2"}


def after_visit_summary(clinic: Clinic, encounter_id: str, request: SummaryRequest | None = None, *,
                        actor: Actor = SYSTEM) -> Stored:
    """Print the after-visit summary and send it to the patient; the DocumentReference holding the PDF."""
    request = request or SummaryRequest()
    context = documented_encounter(clinic, encounter_id, practitioner=request.practitioner, actor=actor)
    chart = read_chart(clinic, encounter_id, actor=actor)
    summary = _summary(clinic, context, chart, request.instructions, actor)
    pdf = render(summary)
    now = instant(clinic.now())
    document: dict[str, Any] = {
        "resourceType": "DocumentReference", "status": "current", "docStatus": "final",
        "type": v.coded(terminology.LOINC, SUMMARY_TYPE, what="LOINC document type", use="summary"),
        "subject": context.patient, "date": now, "author": [context.practitioner],
        "description": "After-visit summary",
        "content": [{"attachment": {"contentType": "application/pdf", "data": base64.b64encode(pdf).decode("ascii"),
                                    "size": len(pdf), "hash": base64.b64encode(hashlib.sha1(pdf).digest()).decode(),
                                    "title": f"After-visit summary {summary.visit_date}", "creation": now}}],
        "context": {"encounter": [context.encounter]}}
    entries = [post(document, SUMMARY)]
    for previous in chart.summaries:
        document.setdefault("relatesTo", []).append(
            {"code": "replaces", "target": v.reference(f"DocumentReference/{previous.res_id}")})
        entries.append(put(previous, {**editable(previous), "status": "superseded"}))
    entries.append(post(compose_message(
        clinic, category="visit-summary", recipient=context.patient["reference"], subject="Your after-visit summary",
        text=f"The summary of your visit on {summary.visit_date} with {summary.provider} is ready.",
        patient=context.patient["reference"], sender=context.practitioner["reference"], about=[SUMMARY])))
    return transact(clinic, entries, actor=actor)[0]


def summary_pdf(document: dict[str, Any]) -> bytes:
    """The PDF bytes of an after-visit summary DocumentReference."""
    return base64.b64decode(document["content"][0]["attachment"]["data"])


def _summary(clinic: Clinic, context: EncounterContext, chart: Chart, instructions: str,
             actor: Actor) -> VisitSummary:
    chronicle = clinic.chronicle
    patient = chronicle.read("Patient", context.patient_id, actor=actor).resource
    provider = chronicle.read("Practitioner", context.practitioner_id, actor=actor).resource
    start = (chart.encounter.resource.get("period") or {}).get("start")
    day = clinic.local_day(parse_instant(start)) if start else clinic.today()
    orders = [o.resource for o in chart.orders if o.resource.get("status") in SIGNED]
    return VisitSummary(
        clinic=_clinic_name(clinic, chart, actor), patient=_name(patient), birth_date=patient.get("birthDate"),
        visit_date=f"{day:%B} {day.day}, {day.year}", provider=_name(provider), instructions=instructions,
        sections=[("Vitals", [_vital(o.resource) for o in chart.vitals]),
                  ("Diagnoses", [_coded(c.resource.get("code")) for c in chart.diagnoses]),
                  ("Prescriptions", [_prescription(o) for o in orders if kind_of(o) == "prescription"]),
                  ("Orders", [_order(o) for o in orders if kind_of(o) != "prescription"]),
                  ("Allergies", [_allergy(a.resource) for a in chart.allergies]),
                  ("Medications", [_medication(m.resource) for m in chart.medications])])


def _clinic_name(clinic: Clinic, chart: Chart, actor: Actor) -> str:
    """The department: the Encounter's serviceProvider, else the department its Appointment was booked in."""
    encounter = chart.encounter.resource
    organization = v.reference_id(encounter.get("serviceProvider"), "Organization")
    if organization:
        return clinic.chronicle.read("Organization", organization, actor=actor).resource.get("name", "Clinic")
    for ref in encounter.get("appointment") or []:
        if (appointment_id := v.reference_id(ref, "Appointment")) is None:
            continue
        department = tag_code(clinic.chronicle.read("Appointment", appointment_id, actor=actor).resource,
                              DEPARTMENT_TAG)
        found = clinic.chronicle.search("Organization", [("identifier", f"{DEPARTMENT_ID}|{department}")],
                                        actor=actor).matches if department else []
        if found:
            return found[0].resource.get("name", "Clinic")
    return "Clinic"


def _name(resource: dict[str, Any]) -> str:
    name = (resource.get("name") or [{}])[0]
    return name.get("text") or " ".join([*name.get("prefix", []), *name.get("given", []), name.get("family", "")]
                                        ).strip() or "(no name)"


def _coded(concept: dict[str, Any] | None) -> str:
    coding = ((concept or {}).get("coding") or [{}])[0]
    label = (concept or {}).get("text") or coding.get("display") or coding.get("code", "")
    return f"{label} ({coding['code']})" if coding.get("code") and coding.get("system") == terminology.ICD10CM \
        else label


def _amount(quantity: dict[str, Any]) -> str:
    """``72 /min``, ``98.6 °F``, ``9 tablets``: a quantity as a patient reads it."""
    value, code = quantity.get("value", 0), quantity.get("code", "")
    if code.startswith("{"):  # a count of things: tablets, capsules, puffs
        return f"{value:g} {quantity.get('unit', code.strip('{}'))}{'s' if value != 1 else ''}"
    return f"{value:g} {PATIENT_UNITS.get(code, code)}".strip()


def _vital(observation: dict[str, Any]) -> str:
    code = v.first_code(observation.get("code"), terminology.LOINC) or ""
    label = VITAL_LABELS.get(code) or _coded(observation.get("code"))
    if "component" in observation:
        values = [c["valueQuantity"] for c in observation["component"]]
        numbers = "/".join(f"{q['value']:g}" for q in values)
        return f"{label}: {numbers} {PATIENT_UNITS.get(values[0].get('code', ''), '')}"
    return f"{label}: {_amount(observation.get('valueQuantity') or {})}"


def _changed(order: dict[str, Any]) -> str:
    return " (changed)" if order.get("replaces") or order.get("priorPrescription") or order.get("priorRequest") else ""


def _prescription(order: dict[str, Any]) -> str:
    dosage = (order.get("dosageInstruction") or [{}])[0]
    dispense = order.get("dispenseRequest") or {}
    pharmacy = (dispense.get("performer") or {}).get("display")
    refills = dispense.get("numberOfRepeatsAllowed", 0)
    parts = [f"{order_title(order)}{_changed(order)}: {dosage.get('text', '')}",
             f"quantity {_amount(dispense.get('quantity') or {})}, {refills} refill{'s' if refills != 1 else ''}"]
    if pharmacy:
        parts.append(f"pharmacy {pharmacy}")
    return "; ".join(parts)


def _order(order: dict[str, Any]) -> str:
    kind = {"lab": "Lab test", "dme": "Medical equipment", "referral": "Referral"}.get(kind_of(order) or "", "Order")
    performer = order.get("performer")
    to = performer.get("display") if isinstance(performer, dict) else None
    return f"{kind}: {order_title(order)}{_changed(order)}" + (f" from {to}" if to else "")


def _allergy(allergy: dict[str, Any]) -> str:
    reactions = [_coded(m) for r in allergy.get("reaction") or [] for m in r.get("manifestation") or []]
    return _coded(allergy.get("code")) + (f" (reaction: {', '.join(reactions)})" if reactions else "")


def _medication(statement: dict[str, Any]) -> str:
    dosage = (statement.get("dosage") or [{}])[0].get("text")
    return _coded(statement.get("medicationCodeableConcept")) + (f": {dosage}" if dosage else "")
