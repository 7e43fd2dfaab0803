"""Beaker (lab): the code systems, identifiers, tags and extensions it writes, and its errors.

Everything the lab stores is plain FHIR R4; these are the markers it adds, in one place so that the
portal, analytics and the lab itself read them the same way.

* ``Specimen.accessionIdentifier`` in ``ACCESSION`` (``L25-000123``): searchable as ``Specimen?accession=``.
* ``meta.tag`` ``STAGE_TAG|collected|received|resulted`` on Specimens: the lab worklist is one token search;
  ``ORDER_TAG|<ServiceRequest id>`` finds an order's specimens (R4 has no Specimen search by request).
* ``meta.tag`` ``RELEASE_TAG|released|held`` on DiagnosticReports: whether the patient may see it yet;
  a held report carries ``RELEASE_DUE_EXT`` (when it may be released).
* ``CLINICIAN_COMMENT_EXT`` (an Annotation) on DiagnosticReports: the ordering clinician's comments
  (R4's DiagnosticReport has no ``note``; Annotation keeps author and time). ``CORRECTION_REASON_EXT``
  on a corrected DiagnosticReport version says why it was corrected.
"""

from __future__ import annotations

from typing import Any

from osler.apps.errors import WrongState  # noqa: F401 — re-exported as this application's errors
from osler.fhir.outcome import FhirError, Issue, NotFound

BEAKER = "urn:osler:lab"
ACCESSION = f"{BEAKER}:accession"
ACCESSION_COUNTER = f"{BEAKER}:accession-counter"  # Basic.identifier: one counter per year
STAGE_TAG = f"{BEAKER}:stage"
ORDER_TAG = f"{BEAKER}:order"  # on Specimens: the ServiceRequest id (R4 cannot search Specimen by request)
RELEASE_TAG = f"{BEAKER}:release"

EXTENSION_BASE = "http://osler.dev/fhir/StructureDefinition"
RELEASE_DUE_EXT = f"{EXTENSION_BASE}/lab-release-due"
CLINICIAN_COMMENT_EXT = f"{EXTENSION_BASE}/lab-clinician-comment"
CORRECTION_REASON_EXT = f"{EXTENSION_BASE}/lab-correction-reason"
COUNTER_VALUE_EXT = f"{EXTENSION_BASE}/lab-accession-last"

SPECIMEN_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0487"
SPECIMEN_TYPES = {"BLD": "Whole blood", "SER": "Serum", "PLAS": "Plasma", "UR": "Urine"}
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
INTERPRETATIONS = {"N": "Normal", "L": "Low", "H": "High", "LL": "Critical low", "HH": "Critical high",
                   "A": "Abnormal"}
CRITICAL = frozenset({"LL", "HH"})
LABORATORY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                          "code": "laboratory", "display": "Laboratory"}]}
LAB_REPORT = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB",
                          "display": "Laboratory"}]}


def tag(system: str, code: str) -> dict[str, str]:
    return {"system": system, "code": code}


def tag_code(resource: dict[str, Any], system: str) -> str | None:
    return next((t.get("code") for t in (resource.get("meta") or {}).get("tag") or [] if t.get("system") == system),
                None)


def with_tag(resource: dict[str, Any], system: str, code: str) -> dict[str, Any]:
    """A copy of ``resource`` whose tag in ``system`` is ``code`` (other tags kept, server meta dropped)."""
    tags = [t for t in (resource.get("meta") or {}).get("tag") or [] if t.get("system") != system]
    return {**resource, "meta": {"tag": [*tags, tag(system, code)]}}


def reference(target: str, display: str | None = None) -> dict[str, str]:
    return {"reference": target, **({"display": display} if display else {})}


def put_entry(res_type: str, res_id: str, resource: dict[str, Any], etag: str) -> dict[str, Any]:
    """A transaction entry replacing ``res_type/res_id`` only if it is still at version ``etag``."""
    return {"request": {"method": "PUT", "url": f"{res_type}/{res_id}", "ifMatch": etag},
            "resource": {**resource, "id": res_id}}


# ------------------------------------------------------------------------------------- errors


class UnknownAccession(NotFound):
    """No specimen has this accession number (404)."""


class UnknownTest(FhirError):
    """The order's code is not a test in the lab's catalog (422)."""

    status = 422
    code = "code-invalid"


class InvalidResult(FhirError):
    """A result value the test cannot take: an unknown component, a wrong unit, a non-numeric value (422)."""

    status = 422
    code = "value"

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message, issues=[Issue(self.code, message, expression=[where] if where else [])])

