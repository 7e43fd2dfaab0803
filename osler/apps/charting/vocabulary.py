"""EpicCare Ambulatory (charting): the code systems, profiles, extensions and identifiers it writes.

Everything charting stores is plain FHIR R4 coded with LOINC, SNOMED CT, ICD-10-CM, RxNorm, HCPCS,
UCUM and CPT (numbers only) from ``osler.apps.terminology``. These are the few HL7 code systems and
Osler extensions it adds, in one place so that the lab, the pharmacy, billing and the portal read
what charting writes the same way.
"""

from __future__ import annotations

from typing import Any

from osler.apps import terminology

# HL7 code systems.
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
DIAGNOSIS_ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
SPECIMEN_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0487"
DOCUMENT_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
MEDICATION_STATEMENT_CATEGORY = "http://terminology.hl7.org/CodeSystem/medication-statement-category"
MEDICATION_REQUEST_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"

# FHIR vital-signs profiles: every vital carries the base profile and its own.
VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
PROFILE_BASE = "http://hl7.org/fhir/StructureDefinition"

# Osler extensions.
EXTENSION_BASE = "http://osler.dev/fhir/StructureDefinition"
SPECIMEN_TYPE_EXT = f"{EXTENSION_BASE}/specimen-type"  # ServiceRequest (lab): v2-0487 specimen type
CC_RECIPIENT_EXT = f"{EXTENSION_BASE}/cc-recipient"  # orders: an Organization/Practitioner copied on it
SIGNED_AT_EXT = f"{EXTENSION_BASE}/signed-at"  # DocumentReference and orders: when it was signed
ADDENDUM_AUTHOR_EXT = f"{EXTENSION_BASE}/addendum-author"  # DocumentReference.content: who wrote it

# Osler code systems and identifiers.
CHARTING = "urn:osler:charting"
DME_SETTING = f"{CHARTING}:dme-setting"  # DeviceRequest.parameter.code
LEVEL_OF_SERVICE_ID = f"{CHARTING}:level-of-service"  # ChargeItem.identifier: one per Encounter

# Coded values used as they are.
VITAL_SIGNS = {"system": OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}
PROBLEM_LIST_ITEM = {"system": CONDITION_CATEGORY, "code": "problem-list-item", "display": "Problem List Item"}
ENCOUNTER_DIAGNOSIS = {"system": CONDITION_CATEGORY, "code": "encounter-diagnosis",
                       "display": "Encounter Diagnosis"}
CLINICAL_NOTE = {"system": DOCUMENT_CATEGORY, "code": "clinical-note", "display": "Clinical Note"}
BILLING_DIAGNOSIS = {"system": DIAGNOSIS_ROLE, "code": "billing", "display": "Billing"}
OUTPATIENT_RX = {"system": MEDICATION_REQUEST_CATEGORY, "code": "outpatient", "display": "Outpatient"}
PATIENT_SPECIFIED = {"system": MEDICATION_STATEMENT_CATEGORY, "code": "patientspecified",
                     "display": "Patient Specified"}
SPECIMEN_TYPES = {"BLD": "Whole blood", "SER": "Serum", "PLAS": "Plasma", "UR": "Urine", "STL": "Stool = Fecal",
                  "THRT": "Throat"}
NO_KNOWN_DRUG_ALLERGY = "409137002"
LAB_CATEGORY = "108252007"
REFERRAL_CATEGORY = "3457005"
PRIMARY_PERFORMER = "PPRF"


def concept(system: str, code: str, display: str | None = None, text: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code, **({"display": display} if display else {})}
    return {"coding": [coding], **({"text": text} if text else {})}


def known(system: str, code: str, *, what: str, use: str | None = None) -> terminology.Concept:
    """A shipped concept; ``UnknownCode`` (422) when it is not known, or when ``use`` is given and the code
    is not marked for that use in charting's data (a vital-sign LOINC named as a lab order)."""
    found = terminology.require(system, code, what=what)
    if use is not None and charting_use(found) != use:
        raise terminology.UnknownCode(f"{what} {code!r} is not one charting knows as a {use.replace('-', ' ')}")
    return found


def coded(system: str, code: str, *, what: str, use: str | None = None) -> dict[str, Any]:
    """A CodeableConcept of one shipped code (see ``known``)."""
    return {"coding": [known(system, code, what=what, use=use).coding()]}


def charting_use(concept_: terminology.Concept) -> str | None:
    return (concept_.properties.get("charting") or {}).get("use")


def status_concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def reference(target: str, display: str | None = None) -> dict[str, str]:
    return {"reference": target, **({"display": display} if display else {})}


def reference_id(ref: dict[str, Any] | None, res_type: str) -> str | None:
    """The id of a relative ``Type/id`` reference of type ``res_type``, else None."""
    kind, _, res_id = ((ref or {}).get("reference") or "").partition("/")
    return res_id if kind == res_type and res_id else None


def first_code(codeable: dict[str, Any] | None, system: str) -> str | None:
    return next((c.get("code") for c in (codeable or {}).get("coding") or [] if c.get("system") == system), None)


def extension(url: str, **value: Any) -> dict[str, Any]:
    return {"url": url, **value}


def extension_values(resource: dict[str, Any], url: str, key: str) -> list[Any]:
    return [item[key] for item in resource.get("extension") or [] if item.get("url") == url and key in item]
