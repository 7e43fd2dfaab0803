"""EpicCare Ambulatory: charting in an open encounter — vitals, problem list, allergies, medication list,
notes the author signs, encounter diagnoses, orders (lab, prescription, DME, referral) that are signed
and then immutable, the level of service for billing, and the after-visit summary. Everything is
plain FHIR R4 stored through the Chronicle, coded from ``osler.apps.terminology``.

Every call takes a ``Clinic`` first and an ``Actor`` by keyword. Every write names an Encounter that
must be open (``EncounterClosed``, 409), checks every code, unit and value first (422) and writes in
one ``Chronicle.transact`` call, so a refused request leaves nothing behind.

=======================  ===============================================================
module                   owns
=======================  ===============================================================
``vocabulary``           the code systems, profiles, extensions and identifiers it writes
``errors``               its errors (409 closed encounter, locked note, signed order; 422…)
``requests``             the request models (pydantic), shared with the HTTP API
``encounters``           the open-encounter guard, who acts, and the one way to write
``vital_signs``          each vital's LOINC code, profile, units and plausible range (pure)
``vitals``               recording a set of vitals as vital-signs Observations
``problems``             the problem list (Condition problem-list-item)
``diagnoses``            encounter diagnoses, ranked on the Encounter
``allergies``            AllergyIntolerance, no known drug allergies, entered-in-error
``medications``          the medication list (MedicationStatement)
``notes``                clinical notes: write, edit, sign (locks), addenda (new versions)
``service_requests``     what lab orders and referrals say (ServiceRequest)
``prescriptions``        what a prescription says (MedicationRequest)
``dme``                  what a DME order says (DeviceRequest, settings, cc's)
``orders``               placing, signing, editing drafts, replacing signed orders
``level_of_service``     the E/M code as a billable ChargeItem
``chart``                reading back what an encounter documented
``summary_pdf``          laying out the after-visit summary PDF (pure)
``summary``              the after-visit summary: stored and sent to the patient
=======================  ===============================================================
"""

from osler.apps.charting.allergies import (
    mark_allergy_entered_in_error,
    record_allergy,
    record_no_known_drug_allergies,
)
from osler.apps.charting.chart import Chart, read_chart
from osler.apps.charting.diagnoses import Diagnosed, add_diagnoses
from osler.apps.charting.encounters import EncounterContext, open_encounter
from osler.apps.charting.errors import (
    Duplicate,
    EncounterClosed,
    ImplausibleValue,
    NoteLocked,
    OrderSigned,
    UnitMismatch,
    WrongState,
)
from osler.apps.charting.level_of_service import level_of_service, set_level_of_service
from osler.apps.charting.medications import add_medication, stop_medication
from osler.apps.charting.notes import add_addendum, edit_note, note_text, sign_note, write_note
from osler.apps.charting.orders import (
    RESOURCE_TYPES,
    edit_order,
    kind_of,
    modify_order,
    place_order,
    read_order,
    sign_order,
)
from osler.apps.charting.problems import add_problem, resolve_problem
from osler.apps.charting.requests import (
    Acting,
    Addendum,
    AllergyRequest,
    BloodPressure,
    DiagnosesRequest,
    DiagnosisItem,
    DmeOrder,
    DmeSettings,
    LabOrder,
    LevelOfService,
    Measurement,
    MedicationEntry,
    NoteEdit,
    NoteRequest,
    OrderKind,
    OrderRequest,
    Prescription,
    ProblemRequest,
    Referral,
    ResolveProblem,
    StopMedication,
    SummaryRequest,
    VitalsRequest,
)
from osler.apps.charting.summary import after_visit_summary, summary_pdf
from osler.apps.charting.vitals import record_vitals

__all__ = [
    "RESOURCE_TYPES", "Acting", "Addendum", "AllergyRequest", "BloodPressure", "Chart", "Diagnosed",
    "DiagnosesRequest", "DiagnosisItem", "DmeOrder", "DmeSettings", "Duplicate", "EncounterClosed",
    "EncounterContext", "ImplausibleValue", "LabOrder", "LevelOfService", "Measurement", "MedicationEntry",
    "NoteEdit", "NoteLocked", "NoteRequest", "OrderKind", "OrderRequest", "OrderSigned", "Prescription",
    "ProblemRequest", "Referral", "ResolveProblem", "StopMedication", "SummaryRequest", "UnitMismatch",
    "VitalsRequest", "WrongState", "add_addendum", "add_diagnoses", "add_medication", "add_problem",
    "after_visit_summary", "edit_note", "edit_order", "kind_of", "level_of_service",
    "mark_allergy_entered_in_error", "modify_order", "note_text", "open_encounter", "place_order", "read_chart",
    "read_order", "record_allergy", "record_no_known_drug_allergies", "record_vitals", "resolve_problem",
    "set_level_of_service", "sign_note", "sign_order", "stop_medication", "summary_pdf", "write_note",
]
