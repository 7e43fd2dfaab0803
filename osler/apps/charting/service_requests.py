"""EpicCare Ambulatory (charting): what lab orders and referrals say — the ServiceRequest of each.

A lab order names a LOINC order code from the lab's catalog (58410-2 CBC, 24331-1 lipid panel…),
category laboratory (SNOMED 108252007) and the specimen type to collect (v2-0487, in the
``specimen-type`` extension; default the test's usual one). A referral is category referral
(SNOMED 3457005) to a specialty (``performerType``), optionally to a named practitioner or clinic.
Signing, replacing and the fields every order shares are ``orders``' business.
"""

from __future__ import annotations

from typing import Any

from osler.apps import terminology
from osler.apps.charting import vocabulary as v
from osler.apps.charting.encounters import EncounterContext, read_known
from osler.apps.charting.requests import LabOrder, Referral
from osler.apps.clinic import Clinic
from osler.chronicle.records import Actor


def lab_order(clinic: Clinic, context: EncounterContext, request: LabOrder, actor: Actor) -> dict[str, Any]:
    test = v.known(terminology.LOINC, request.code, what="LOINC order code", use="lab-order")
    specimen = request.specimen or test.properties["charting"]["specimen"]
    if specimen not in v.SPECIMEN_TYPES:
        raise terminology.UnknownCode(f"specimen type {specimen!r} is not one of {', '.join(v.SPECIMEN_TYPES)} "
                                      "(v2-0487)")
    return {"resourceType": "ServiceRequest",
            "extension": [v.extension(v.SPECIMEN_TYPE_EXT, valueCodeableConcept=v.concept(
                v.SPECIMEN_TYPE_SYSTEM, specimen, v.SPECIMEN_TYPES[specimen]))],
            "category": [v.coded(terminology.SNOMED, v.LAB_CATEGORY, what="order category")],
            "code": {"coding": [test.coding()]}}


def referral(clinic: Clinic, context: EncounterContext, request: Referral, actor: Actor) -> dict[str, Any]:
    specialty = v.known(terminology.SNOMED, request.specialty, what="specialty", use="specialty")
    category = v.coded(terminology.SNOMED, v.REFERRAL_CATEGORY, what="order category")
    resource = {"resourceType": "ServiceRequest", "category": [category],
                "code": {**category, "text": f"Referral to {specialty.display}"},
                "performerType": {"coding": [specialty.coding()]}}
    if request.performer:
        res_type, _, res_id = request.performer.partition("/")
        read_known(clinic, res_type, res_id, actor=actor)
        resource["performer"] = [v.reference(request.performer)]
    return resource
