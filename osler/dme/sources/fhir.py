"""The FHIR R4 source: DeviceRequests sent to the supplier (``performer``) or copied to it, from any EHR.

Discovery polls ``DeviceRequest?performer=Organization/<supplier>&status=active`` and the in-basket
``Communication``s Osler sends a copied recipient (category ``cc-order``, ``about`` the order), each by
``_lastUpdated=ge<watermark>`` following ``next`` links; the watermark is kept by the caller (the
pipeline's ledger) so a restart resumes where it stopped. Fetch reads the order, its patient, coverage
and prescriber, and the attachments of every ``supportingInfo`` DocumentReference (inline
``data``, a ``Binary/<id>`` on the same server, or an absolute URL). Facts the resources state
(patient identity, MBI, payer, the items and settings, the prescriber's NPI, diagnoses) become fields
whose provenance names the resource and element they were read from. The order's Encounter is not read:
no field comes from it — the face-to-face evaluation counts only as documented in a note.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx

from osler.dme.model import ExtractedField, Provenance
from osler.dme.sources.base import Auth, AuthFlow, BearerToken, Discovered, FetchedFile, FetchedOrder

MBI_SYSTEM = "http://hl7.org/fhir/sid/us-mbi"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
HCPCS = ("https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "urn:oid:2.16.840.1.113883.6.285")
CC_ORDER_CATEGORY = "urn:osler:inbasket:category|cc-order"
SIGNED_AT_EXT = "http://osler.dev/fhir/StructureDefinition/signed-at"
# DeviceRequest.parameter codes → the settings keys of the field vocabulary (osler.dme.model).
QUANTITY_SETTINGS = {"pressure": "pressure", "ipap": "ipap", "epap": "epap", "oxygen-flow": "oxygen_lpm"}


class FhirSourceError(RuntimeError):
    """The EHR answered something we cannot use (an error status, not JSON)."""


class FhirSource:
    name = "fhir"

    def __init__(self, base_url: str, supplier: str, *, auth: Auth | None = None, watermark: str = "",
                 timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.supplier = supplier
        self.watermark = watermark  # the greatest meta.lastUpdated seen; callers persist it
        self.client = httpx.Client(auth=AuthFlow(auth or BearerToken("")), timeout=timeout,
                                   headers={"Accept": "application/fhir+json"})

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------------------- discovery

    def discover(self) -> Iterator[Discovered]:
        # ``ge``, not ``gt``: two resources may share the watermark's instant; the idempotency key makes
        # seeing one again harmless.
        since = {"_lastUpdated": f"ge{self.watermark}"} if self.watermark else {}
        supplier = f"Organization/{self.supplier}"
        seen: set[str] = set()
        newest = self.watermark
        for order in self._search("DeviceRequest", {"performer": supplier, "status": "active", **since}):
            newest = max(newest, order.get("meta", {}).get("lastUpdated", ""))
            seen.add(order["id"])
        copied: list[str] = []
        for message in self._search("Communication", {"category": CC_ORDER_CATEGORY, "recipient": supplier, **since}):
            newest = max(newest, message.get("meta", {}).get("lastUpdated", ""))
            copied += [ref["reference"].split("/", 1)[1] for ref in message.get("about", [])
                       if ref.get("reference", "").startswith("DeviceRequest/")]
        for order_id in sorted(seen | set(copied)):
            yield Discovered(f"fhir:{self.base_url}/DeviceRequest/{order_id}", self.name, {"id": order_id})
        self.watermark = newest

    def _search(self, resource_type: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        bundle = self._get_json(f"{self.base_url}/{resource_type}", params={**params, "_count": "100"})
        while True:
            for entry in bundle.get("entry", []):
                if entry.get("resource", {}).get("resourceType") == resource_type:
                    yield entry["resource"]
            following = next((link["url"] for link in bundle.get("link", []) if link.get("relation") == "next"), None)
            if not following:
                return
            bundle = self._get_json(following)

    def _get_json(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.client.get(url, params=params)
        if response.status_code != 200:
            raise FhirSourceError(f"GET {response.request.url.path} answered {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise FhirSourceError(f"GET {response.request.url.path} did not answer JSON") from None

    def read(self, reference: str) -> dict[str, Any]:
        return self._get_json(f"{self.base_url}/{reference}")

    # ----------------------------------------------------------------------------------- fetch

    def fetch(self, item: Discovered) -> FetchedOrder:
        order = self.read(f"DeviceRequest/{item.ref['id']}")
        fields: dict[str, ExtractedField] = {}
        fields.update(order_fields(order))
        patient_ref = order.get("subject", {}).get("reference", "")
        if patient_ref.startswith("Patient/"):
            fields.update(patient_fields(self.read(patient_ref)))
            coverages = list(self._search("Coverage", {"beneficiary": patient_ref}))
            if coverages:
                fields.update(coverage_fields(coverages[0]))
        requester = order.get("requester", {}).get("reference", "")
        if requester.startswith("Practitioner/"):
            fields.update(prescriber_fields(self.read(requester)))
        files = [self._document(ref["reference"]) for ref in order.get("supportingInfo", [])
                 if ref.get("reference", "").startswith("DocumentReference/")]
        return FetchedOrder(item.key, self.name, is_order=True, files=[f for f in files if f.parts], fields=fields)

    def archive(self, item: Discovered) -> None:
        """Nothing to move: the EHR keeps its orders; the watermark moves discovery on."""

    def _document(self, reference: str) -> FetchedFile:
        document = self.read(reference)
        parts = []
        for content in document.get("content", []):
            attachment = content.get("attachment", {})
            media = attachment.get("contentType", "application/pdf")
            if attachment.get("data"):
                parts.append((base64.b64decode(attachment["data"]), media))
            elif attachment.get("url"):
                parts.append((self._attachment_bytes(attachment["url"], media), media))
        title = document.get("description") or (document.get("type", {}).get("text")) or reference
        return FetchedFile(f"fhir:{reference}", title, parts)

    def _attachment_bytes(self, url: str, media: str) -> bytes:
        absolute = url if url.startswith(("http://", "https://")) else f"{self.base_url}/{url}"
        response = self.client.get(absolute, headers={"Accept": media})
        if response.status_code != 200:
            raise FhirSourceError(f"GET {response.request.url.path} answered {response.status_code}")
        if "json" in response.headers.get("content-type", ""):  # a Binary resource, not its raw content
            return base64.b64decode(response.json().get("data", ""))
        return response.content


# ------------------------------------------------------------------------ resources → fields


def _field(name: str, value: Any, reference: str, element: str) -> tuple[str, ExtractedField]:
    """A fact read from a FHIR resource: page 0 (no page), the element as the provenance text."""
    return name, ExtractedField(name, value, 1.0, Provenance(f"fhir:{reference}", 0, 0, 0, element), "fhir")


def _ref(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource.get('id', '')}"


def _name(resource: dict[str, Any]) -> dict[str, str] | None:
    names = resource.get("name") or []
    if not names:
        return None
    official = next((n for n in names if n.get("use") == "official"), names[0])
    return {"family": official.get("family", ""), "given": " ".join(official.get("given", []))}


def _identifier(resource: dict[str, Any], *, system: str | None = None, type_code: str | None = None) -> str | None:
    for identifier in resource.get("identifier", []):
        codes = {coding.get("code") for coding in identifier.get("type", {}).get("coding", [])}
        if (system and identifier.get("system") == system) or (type_code and type_code in codes):
            return identifier.get("value")
    return None


def patient_fields(patient: dict[str, Any]) -> dict[str, ExtractedField]:
    ref = _ref(patient)
    found = []
    if (name := _name(patient)) is not None:
        found.append(_field("patient_name", name, ref, "Patient.name"))
    if patient.get("birthDate"):
        found.append(_field("birth_date", patient["birthDate"], ref, "Patient.birthDate"))
    if patient.get("gender") in ("female", "male"):
        found.append(_field("sex", patient["gender"], ref, "Patient.gender"))
    if mrn := _identifier(patient, type_code="MR"):
        found.append(_field("mrn", mrn, ref, "Patient.identifier[MR]"))
    if mbi := _identifier(patient, system=MBI_SYSTEM):
        found.append(_field("mbi", mbi, ref, f"Patient.identifier[{MBI_SYSTEM}]"))
    return dict(found)


def coverage_fields(coverage: dict[str, Any]) -> dict[str, ExtractedField]:
    ref = _ref(coverage)
    found = []
    payer = next((p.get("display") for p in coverage.get("payor", []) if p.get("display")), None)
    if payer:
        found.append(_field("payer", payer, ref, "Coverage.payor.display"))
    member = coverage.get("subscriberId") or _identifier(coverage, type_code="MB")
    if member:
        found.append(_field("member_id", member, ref, "Coverage.subscriberId"))
    return dict(found)


def prescriber_fields(practitioner: dict[str, Any]) -> dict[str, ExtractedField]:
    ref = _ref(practitioner)
    found = []
    if (name := _name(practitioner)) is not None:
        found.append(_field("prescriber_name", name, ref, "Practitioner.name"))
    if npi := _identifier(practitioner, system=NPI_SYSTEM):
        found.append(_field("prescriber_npi", npi, ref, f"Practitioner.identifier[{NPI_SYSTEM}]"))
    return dict(found)


def order_fields(order: dict[str, Any]) -> dict[str, ExtractedField]:
    ref = _ref(order)
    found = []
    codings = order.get("codeCodeableConcept", {}).get("coding", [])
    hcpcs = next((c["code"] for c in codings if c.get("system") in HCPCS), codings[0]["code"] if codings else None)
    if hcpcs:
        quantity, settings = 1, {}
        for parameter in order.get("parameter", []):
            code = next((c.get("code") for c in parameter.get("code", {}).get("coding", [])), None)
            if code == "quantity":
                quantity = int(parameter.get("valueQuantity", {}).get("value", 1))
            elif code in QUANTITY_SETTINGS:
                settings[QUANTITY_SETTINGS[code]] = parameter.get("valueQuantity", {}).get("value")
            elif code == "pressure-range":
                settings["pressure_min"] = parameter["valueRange"]["low"]["value"]
                settings["pressure_max"] = parameter["valueRange"]["high"]["value"]
            elif code == "mask":
                settings["mask"] = next(c.get("code") for c in parameter["valueCodeableConcept"]["coding"])
            elif code == "humidifier":
                settings["humidifier"] = parameter.get("valueBoolean")
        found.append(_field("items", [{"hcpcs": hcpcs, "quantity": quantity, "settings": settings}], ref,
                            "DeviceRequest.codeCodeableConcept, DeviceRequest.parameter"))
    if order.get("authoredOn"):
        found.append(_field("order_date", order["authoredOn"][:10], ref, "DeviceRequest.authoredOn"))
    diagnoses = [c["code"] for reason in order.get("reasonCode", []) for c in reason.get("coding", [])
                 if c.get("system") == ICD10CM]
    if diagnoses:
        found.append(_field("diagnoses", diagnoses, ref, "DeviceRequest.reasonCode"))
    signed = order.get("status") == "active" and any(e.get("url") == SIGNED_AT_EXT for e in order.get("extension", []))
    found.append(_field("signature_present", signed, ref, "DeviceRequest.status, signed-at extension"))
    return dict(found)
