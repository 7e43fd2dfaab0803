"""``osler dme demo``: a supplier's day in a few seconds. An Osler server (started in a temporary home, or the
one named) gets a supplier Organization and, for some synthetic cases, the patient, coverage, prescriber, an
open visit, the supporting documents (DocumentReferences with PDF attachments — inline and as ``Binary``) and
the signed DME order, placed through ``/api/charting`` as a clinician would; the other cases' paperwork lands
in a fax folder, mixed. Then the pipeline runs once over both and the delivered orders are printed.

Everything goes over HTTP: ``osler.dme`` knows the EHR only as a FHIR server.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from osler.dme.sources.fhir import MBI_SYSTEM, NPI_SYSTEM

CLINICIAN = {"X-Osler-User": "dme-demo@clinic"}
MR_TYPE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
# The field vocabulary's settings → charting's DME order settings.
SETTINGS = {"pressure": "pressure", "pressure_min": "pressure_min", "pressure_max": "pressure_max", "ipap": "ipap",
            "epap": "epap", "mask": "mask", "humidifier": "humidifier", "oxygen_lpm": "oxygen_flow"}


class EhrSeeder:
    """Writes what an EHR would hold for a DME order, through Osler's FHIR and charting APIs."""

    def __init__(self, fhir_url: str) -> None:
        self.fhir_url = fhir_url.rstrip("/")
        self.api_url = self.fhir_url.removesuffix("/fhir") + "/api/charting"
        self.client = httpx.Client(timeout=30, headers={"Accept": "application/fhir+json", **CLINICIAN})

    def close(self) -> None:
        self.client.close()

    def create(self, resource: dict[str, Any]) -> str:
        answer = self.client.post(f"{self.fhir_url}/{resource['resourceType']}", json=resource)
        if answer.status_code != 201:
            raise RuntimeError(f"the EHR refused a {resource['resourceType']}: HTTP {answer.status_code} "
                               f"{answer.text[:300]}")
        return answer.json()["id"]

    def supplier(self, name: str) -> str:
        return self.create({"resourceType": "Organization", "name": name})

    def patient(self, name: dict[str, str], birth_date: str, *, sex: str | None = None, mrn: str | None = None,
                mbi: str | None = None) -> str:
        identifiers = ([{"type": MR_TYPE, "system": "urn:osler:mrn", "value": mrn}] if mrn else []) + \
                      ([{"system": MBI_SYSTEM, "value": mbi}] if mbi else [])
        resource: dict[str, Any] = {"resourceType": "Patient", "birthDate": birth_date, "identifier": identifiers,
                                    "name": [{"family": name["family"], "given": name["given"].split()}]}
        if sex:
            resource["gender"] = sex
        return self.create(resource)

    def practitioner(self, name: dict[str, str], npi: str | None) -> str:
        return self.create({"resourceType": "Practitioner", "name": [{"family": name["family"],
                                                                      "given": name["given"].split()}],
                            "identifier": [{"system": NPI_SYSTEM, "value": npi}] if npi else []})

    def coverage(self, patient: str, payer: str, member_id: str | None) -> str:
        payer_id = self.create({"resourceType": "Organization", "name": payer})
        resource: dict[str, Any] = {"resourceType": "Coverage", "status": "active",
                                    "beneficiary": {"reference": f"Patient/{patient}"},
                                    "payor": [{"reference": f"Organization/{payer_id}", "display": payer}]}
        if member_id:
            resource["subscriberId"] = member_id
        return self.create(resource)

    def open_visit(self, patient: str, practitioner: str, department: str) -> str:
        return self.create({
            "resourceType": "Encounter", "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{patient}"},
            "serviceProvider": {"reference": f"Organization/{department}"},
            "participant": [{"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                                   "code": "PPRF"}]}],
                             "individual": {"reference": f"Practitioner/{practitioner}"}}]})

    def document(self, patient: str, title: str, pdf: bytes, *, as_binary: bool = False) -> str:
        """A DocumentReference whose PDF is inline (``data``) or a ``Binary`` it points to (``url``)."""
        if as_binary:
            binary = self.create({"resourceType": "Binary", "contentType": "application/pdf",
                                  "data": base64.b64encode(pdf).decode()})
            attachment = {"contentType": "application/pdf", "url": f"Binary/{binary}", "title": title}
        else:
            attachment = {"contentType": "application/pdf", "data": base64.b64encode(pdf).decode(), "title": title}
        return self.create({"resourceType": "DocumentReference", "status": "current", "description": title,
                            "subject": {"reference": f"Patient/{patient}"}, "content": [{"attachment": attachment}]})

    def dme_order(self, encounter: str, *, hcpcs: str, settings: dict[str, Any], reasons: list[str], supplier: str,
                  documents: list[str], cc: list[str] | None = None, quantity: int = 1) -> str:
        body = {"kind": "dme", "hcpcs": hcpcs, "quantity": quantity, "reasons": reasons, "supplier": supplier,
                "settings": {SETTINGS[k]: v for k, v in settings.items() if k in SETTINGS and v is not None},
                "supporting_documents": documents, "cc": cc or [], "sign": True}
        answer = self.client.post(f"{self.api_url}/encounters/{encounter}/orders", json=body)
        if answer.status_code != 201:
            raise RuntimeError(f"the EHR refused the DME order: HTTP {answer.status_code} {answer.text[:300]}")
        return answer.json()["id"]


def seed_case(seeder: EhrSeeder, manifest: Any, case_key: str, supplier: str, department: str) -> str | None:
    """One labelled corpus case as an EHR order: returns the DeviceRequest id, or ``None`` when the case has
    no single-file order to take the facts from."""
    documents = [d for d in manifest.documents if d.case == case_key and not d.duplicate and len(d.files) == 1]
    order = next((d for d in documents if d.id == manifest.cases[case_key].order), None)
    if order is None or not order.fields.get("items") or not order.fields.get("patient_name"):
        return None
    facts = order.fields
    patient = seeder.patient(facts["patient_name"], facts.get("birth_date", "1950-01-01"), sex=facts.get("sex"),
                             mrn=facts.get("mrn"), mbi=facts.get("mbi"))
    if facts.get("payer"):
        seeder.coverage(patient, facts["payer"], facts.get("member_id"))
    prescriber = seeder.practitioner(facts.get("prescriber_name") or {"family": "Unknown", "given": ""},
                                     facts.get("prescriber_npi"))
    visit = seeder.open_visit(patient, prescriber, department)
    supporting = [seeder.document(patient, d.kind.replace("_", " "), (manifest.root / d.files[0]).read_bytes(),
                                  as_binary=number % 2 == 1)
                  for number, d in enumerate(d for d in documents if d.kind not in ("dme_order", "non_dme"))]
    item = facts["items"][0]
    return seeder.dme_order(visit, hcpcs=item["hcpcs"], settings=item.get("settings", {}),
                            reasons=facts.get("diagnoses") or ["G47.33"], supplier=supplier, documents=supporting,
                            quantity=item.get("quantity", 1))


def run_demo(fhir_url: str | None, out: Console, *, ehr_cases: int = 3, fax_cases: int = 3) -> None:
    from osler.dme.config import load_dme_settings
    from osler.dme.corpus import generate
    from osler.dme.pipeline.runner import Worker

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="osler-dme-demo-")))
        if fhir_url is None:
            fhir_url = stack.enter_context(_osler_server(work / "ehr"))
        manifest = generate(work / "corpus", cases=ehr_cases + fax_cases, seed=11, scanned_share=0.0)
        seeder = EhrSeeder(fhir_url)
        stack.callback(seeder.close)
        supplier = seeder.supplier("Acme Home Medical (DME supplier)")
        department = seeder.create({"resourceType": "Organization", "name": "Sleep & Lung Clinic"})
        keys = sorted(manifest.cases)
        ordered = [key for key in keys[:ehr_cases] if seed_case(seeder, manifest, key, supplier, department)]
        fax = work / "fax"
        fax.mkdir()
        for document in manifest.documents:
            if document.case not in ordered:
                for name in document.files:
                    (fax / name.replace("/", "-")).write_bytes((manifest.root / name).read_bytes())
        out.print(f"seeded {len(ordered)} EHR orders at {fhir_url} and {sum(1 for _ in fax.iterdir())} faxes")
        settings = load_dme_settings(home=str(work / "dme"), fhir_url=fhir_url, supplier=supplier,
                                     fax_folder=str(fax), output_folder=str(work / "delivered"),
                                     case_deadline_hours=0)
        worker = Worker(settings)
        worker.start()
        try:
            worker.drain()
            rows = [worker.runtime.ledger.order(d["order_key"]) for d in worker.runtime.ledger.deliveries()]
        finally:
            worker.stop()
        table = Table("order", "patient", "items", "decision", "missing")
        for row in rows:
            if row is None or row.case is None:
                continue
            fields, decision = row.case["fields"], row.case["decision"] or {}
            name = fields.get("patient_name", {}).get("value") or {}
            items = ", ".join(i.get("hcpcs", "?") for i in (fields.get("items", {}).get("value") or []))
            table.add_row(row.key.split("/")[-1][:24], f"{name.get('given', '')} {name.get('family', '')}", items,
                          decision.get("status", "-"), "; ".join(m["code"] for m in decision.get("missing", [])))
        out.print(table)
        packets = sorted((work / "delivered").glob("*.pdf"))
        out.print(f"{len(packets)} packet(s) delivered (removed with the demo's temporary folder)")


@contextmanager
def _osler_server(home: Path) -> Iterator[str]:
    """``osler serve`` in a temporary home, on a free port, for the length of the demo."""
    home.mkdir(parents=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (home / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "osler.cli", "serve", "--port", str(port)],
                               env={**os.environ, "OSLER_HOME": str(home)}, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/fhir"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"osler serve exited early; see {home / 'server.log'}")
            try:
                if httpx.get(f"{base}/metadata", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("osler serve did not answer within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()
