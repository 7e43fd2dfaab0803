"""Charting's HTTP API (``/api/charting``) in-process, on SQLite and PostgreSQL: a whole visit charted over
HTTP, and every kind of bad input answered with an OperationOutcome and nothing written."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
import pytest
from fastapi.testclient import TestClient

from osler.apps.clinic import Clinic
from osler.chronicle.store import Chronicle
from osler.config import load_settings
from osler.interfaces.fhir_api import create_app
from tests.test_charting import World, populate

API = "/api/charting"
DOCTOR = {"X-Osler-User": "dr.grey@clinic"}


class Env:
    def __init__(self, client: TestClient, world: World) -> None:
        self.client = client
        self.world = world
        self.chronicle = world.chronicle
        self.encounter = f"{API}/encounters/{world.encounter}"

    def post(self, path: str, body: Any = None, status: int = 201) -> dict[str, Any]:
        answer = self.client.post(path, json=body, headers=DOCTOR)
        assert answer.status_code == status, answer.text
        return answer.json()

    def prescription(self, **changes: Any) -> dict[str, Any]:
        return {"kind": "prescription", "rxnorm": "313420", "dose": 1, "frequency": 1, "period": 2,
                "period_unit": "h", "as_needed": True, "quantity": 9, "refills": 1, "days_supply": 30,
                "pharmacy": self.world.pharmacy, "reasons": ["G43.909"], **changes}

    def refused(self, method: str, path: str, body: Any, status: int, text: str) -> None:
        """The call is answered ``status`` with an OperationOutcome saying ``text``, and nothing is written."""
        before = self.chronicle.last_sequence()
        answer = self.client.request(method, path, json=body, headers=DOCTOR)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/fhir+json")
        outcome = answer.json()
        assert outcome["resourceType"] == "OperationOutcome", outcome
        assert text in outcome["issue"][0]["diagnostics"], outcome
        assert self.chronicle.last_sequence() == before


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Iterator[Env]:
    chronicle = Chronicle.open(db_url)
    settings = load_settings(home=tmp_path, database_url=db_url, background_reactions=0)
    world = populate(chronicle, Clinic.from_settings(chronicle, settings))
    with TestClient(create_app(settings, chronicle), raise_server_exceptions=False) as client:
        yield Env(client, world)
    chronicle.close()


def test_a_visit_charted_over_http(env: Env) -> None:
    world, client = env.world, env.client
    vitals = env.post(f"{env.encounter}/vitals", {"heart_rate": {"value": 72}, "height": {"value": 165},
                                                   "weight": {"value": 60},
                                                   "blood_pressure": {"systolic": 118, "diastolic": 76}})
    assert [o["code"]["coding"][0]["code"] for o in vitals["observations"]] == \
        ["8867-4", "8302-2", "29463-7", "39156-5", "85354-9"]
    answer = client.post(f"{env.encounter}/problems", json={"code": "G43.909"}, headers=DOCTOR)
    assert answer.status_code == 201 and answer.headers["Location"].endswith("/_history/1")
    assert client.get(f"/fhir/Condition/{answer.json()['id']}").json()["code"]["coding"][0]["code"] == "G43.909"
    diagnosed = env.post(f"{env.encounter}/diagnoses", {"diagnoses": [{"code": "G43.909"}]})
    assert diagnosed["encounter"]["diagnosis"][0]["rank"] == 1
    assert env.post(f"{env.encounter}/allergies/no-known-drug-allergies")["code"]["coding"][0]["code"] == "409137002"
    assert env.post(f"{env.encounter}/medications", {"rxnorm": "314076"})["status"] == "active"

    note = env.post(f"{env.encounter}/notes", {"text": "Throbbing headache, photophobia."})
    edited = client.put(f"{API}/notes/{note['id']}", json={"text": "Throbbing left-sided headache."}, headers=DOCTOR)
    assert edited.status_code == 200 and edited.json()["meta"]["versionId"] == "2"
    assert env.post(f"{API}/notes/{note['id']}/sign", status=200)["docStatus"] == "final"
    amended = env.post(f"{API}/notes/{note['id']}/addendum", {"text": "Patient called back: better."}, status=200)
    assert amended["docStatus"] == "amended" and amended["id"] == note["id"]

    lab = env.post(f"{env.encounter}/orders", {"kind": "lab", "code": "58410-2", "sign": True})
    assert lab["resourceType"] == "ServiceRequest" and lab["status"] == "active"
    rx = env.post(f"{env.encounter}/orders", env.prescription())
    assert rx["status"] == "draft"
    assert env.post(f"{API}/orders/prescription/{rx['id']}/sign", status=200)["status"] == "active"
    changed = env.post(f"{API}/orders/prescription/{rx['id']}/modify", env.prescription(quantity=12))
    assert changed["priorPrescription"] == {"reference": f"MedicationRequest/{rx['id']}"}
    dme = env.post(f"{env.encounter}/orders", {
        "kind": "dme", "hcpcs": "E0601", "settings": {"pressure": 10}, "reasons": ["G47.33"],
        "supplier": world.supplier, "supporting_documents": [note["id"]], "cc": [f"Organization/{world.supplier}"],
        "sign": True})
    assert dme["resourceType"] == "DeviceRequest" and dme["status"] == "active"
    referral = env.post(f"{env.encounter}/orders", {"kind": "referral", "specialty": "394591006",
                                                    "reasons": ["G43.909"]})
    assert referral["performerType"]["coding"][0]["display"] == "Neurology"
    charge = env.post(f"{env.encounter}/level-of-service", {"code": "99214"}, status=200)
    assert charge["code"]["coding"] == [{"system": "http://www.ama-assn.org/go/cpt", "code": "99214"}]

    summary = env.post(f"{env.encounter}/summary", {"instructions": "Sleep, fluids, and the sumatriptan as needed."})
    assert summary["content"][0]["attachment"]["contentType"] == "application/pdf"
    pdf = client.get(f"{env.encounter}/summary.pdf", headers=DOCTOR)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Migraine, unspecified" in text and "sumatriptan 50 MG Oral Tablet (changed)" in text

    chart = client.get(f"{env.encounter}/chart", headers=DOCTOR).json()
    assert {o["id"] for o in chart["orders"]} == {lab["id"], rx["id"], changed["id"], dme["id"], referral["id"]}
    assert [n["docStatus"] for n in chart["notes"]] == ["amended"]
    assert chart["summaries"][0]["id"] == summary["id"]


def test_bad_input_is_refused_with_an_outcome_and_nothing_written(env: Env) -> None:
    encounter = env.encounter
    env.refused("POST", f"{encounter}/vitals", {"weight": {"value": 60, "unit": "mm[Hg]"}}, 422,
                "the unit does not fit; body weight takes kg, g, [lb_av]")
    env.refused("POST", f"{encounter}/vitals", {"heart_rate": {"value": 900}}, 422,
                "heart rate 900 /min is not plausible")
    env.refused("POST", f"{encounter}/vitals", {"blood_pressure": {"systolic": 70, "diastolic": 90}}, 422,
                "diastolic pressure must be lower")
    env.refused("POST", f"{encounter}/problems", {"code": "G43.999"}, 422, "ICD-10-CM code 'G43.999' is not a known")
    env.refused("POST", f"{encounter}/orders", {"kind": "lab", "code": "99999-9"}, 422,
                "LOINC order code '99999-9' is not a known")
    env.refused("POST", f"{encounter}/orders", env.prescription(rxnorm="999999"), 422,
                "RxNorm code '999999' is not a known")
    env.refused("POST", f"{encounter}/orders", {"kind": "dme", "hcpcs": "E9999", "reasons": ["G47.33"],
                                                "supplier": env.world.supplier}, 422, "HCPCS code 'E9999'")
    env.refused("POST", f"{encounter}/level-of-service", {"code": "99999"}, 422, "E/M code '99999'")
    env.refused("POST", f"{encounter}/vitals", {}, 400, "record at least one vital sign")
    env.refused("POST", f"{encounter}/orders", {"kind": "x-ray"}, 400, "malformed request")
    env.refused("POST", f"{API}/encounters/nope/vitals", {"heart_rate": {"value": 70}}, 404, "Encounter/nope")
    env.refused("GET", f"{encounter}/summary.pdf", None, 404, "no after-visit summary")


def test_signed_notes_and_orders_are_not_edited_in_place(env: Env) -> None:
    note = env.post(f"{env.encounter}/notes", {"text": "Assessment: migraine."})
    env.post(f"{API}/notes/{note['id']}/sign", status=200)
    env.refused("PUT", f"{API}/notes/{note['id']}", {"text": "changed my mind"}, 409, "is signed and locked")
    rx = env.post(f"{env.encounter}/orders", env.prescription(sign=True))
    env.refused("PUT", f"{API}/orders/prescription/{rx['id']}", env.prescription(quantity=90), 409,
                "is signed and cannot be edited")
    env.refused("POST", f"{API}/orders/lab/{rx['id']}/sign", None, 404, "is not known")


def test_a_closed_encounter_takes_no_charting(env: Env) -> None:
    encounter = env.chronicle.read("Encounter", env.world.encounter)
    env.chronicle.update("Encounter", encounter.res_id, {**encounter.resource, "status": "finished"})
    env.refused("POST", f"{env.encounter}/vitals", {"heart_rate": {"value": 70}}, 409, "the encounter is finished")
    env.refused("POST", f"{env.encounter}/orders", {"kind": "lab", "code": "58410-2"}, 409,
                "the encounter is finished")
    env.refused("POST", f"{env.encounter}/notes", {"text": "late entry"}, 409, "the encounter is finished")
