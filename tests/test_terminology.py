"""Terminology: the shipped code subsets load, stay consistent (one display per code, no CPT
descriptions), answer lookups and searches, and are served at ``/api/terminology`` and by the FHIR
operation ``CodeSystem/$lookup``."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from osler.apps import terminology
from osler.chronicle.store import Chronicle
from osler.config import load_settings
from osler.interfaces.fhir_api import create_app
from tests.outcomes import assert_outcome

SUMATRIPTAN = "313420"


def data_files() -> list[tuple[str, dict[str, Any]]]:
    folder = resources.files(terminology.__name__) / "data"
    return [(entry.name, json.loads(entry.read_text(encoding="utf-8")))
            for entry in sorted(folder.iterdir(), key=lambda e: e.name) if entry.name.endswith(".json")]


def test_every_shipped_file_loads_into_a_known_system() -> None:
    files = data_files()
    assert files, "no terminology data files shipped"
    for name, document in files:
        assert document["system"] in terminology.SYSTEMS.values(), name
        assert document["concepts"], f"{name} has no concepts"
        for concept in document["concepts"]:
            assert isinstance(concept["code"], str) and concept["code"].strip() == concept["code"] != "", name
            assert terminology.lookup(document["system"], concept["code"]) is not None
    assert sum(len(terminology.concepts(system)) for system in terminology.SYSTEMS) > 0


def test_no_code_has_two_displays_across_files() -> None:
    displays: dict[tuple[str, str], set[str | None]] = defaultdict(set)
    for _, document in data_files():
        for concept in document["concepts"]:
            displays[(document["system"], concept["code"])].add(concept.get("display"))
    clashes = {key: found for key, found in displays.items() if len(found) > 1}
    assert clashes == {}


def test_cpt_files_carry_codes_only() -> None:
    for name, document in data_files():
        if document["system"] == terminology.CPT:
            assert all(set(c) <= {"code", "properties"} for c in document["concepts"]), name
    assert "display" not in terminology.Concept(terminology.CPT, "99213", None).coding()


def test_lookups_and_searches() -> None:
    concept = terminology.require("rxnorm", SUMATRIPTAN)
    assert concept.display == "sumatriptan 50 MG Oral Tablet" and concept.properties["tty"] == "SCD"
    assert terminology.coding(terminology.RXNORM, "37418") == {
        "system": terminology.RXNORM, "code": "37418", "display": "sumatriptan"}
    assert terminology.lookup("rxnorm", "0") is None
    with pytest.raises(terminology.UnknownCode):
        terminology.require("rxnorm", "0", what="drug")
    with pytest.raises(terminology.UnknownCode):
        terminology.lookup("no-such-system", "1")
    assert terminology.system_uri("http://unitsofmeasure.org") == terminology.UCUM
    assert SUMATRIPTAN in [c.code for c in terminology.search("rxnorm", "sumatriptan oral")]
    assert [c.code for c in terminology.search("rxnorm", "3134")] == [SUMATRIPTAN]
    assert terminology.lookup("ucum", "{tbl}").display == "tablet"  # type: ignore[union-attr]


# ------------------------------------------------------------------------------ HTTP


@pytest.fixture
def client(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    chronicle = Chronicle.open(sqlite_url)
    with TestClient(create_app(load_settings(home=tmp_path, database_url=sqlite_url), chronicle),
                    raise_server_exceptions=False) as test_client:
        yield test_client
    chronicle.close()



def test_the_api_looks_up_and_searches(client: TestClient) -> None:
    found = client.get(f"/api/terminology/rxnorm/{SUMATRIPTAN}")
    assert found.status_code == 200, found.text
    assert found.json() == {"system": terminology.RXNORM, "code": SUMATRIPTAN,
                            "display": "sumatriptan 50 MG Oral Tablet", "properties": {"tty": "SCD"}}
    by_uri = client.get(f"/api/terminology/{quote(terminology.RXNORM, safe='')}/{SUMATRIPTAN}")
    assert by_uri.status_code == 200 and by_uri.json()["code"] == SUMATRIPTAN
    assert client.get(f"/api/terminology/ucum/{quote('{tbl}')}").json()["display"] == "tablet"
    assert_outcome(client.get("/api/terminology/rxnorm/0"), 404, "not a known RxNorm code")
    assert_outcome(client.get("/api/terminology/klingon/1"), 404, "names no code")

    searched = client.get("/api/terminology/rxnorm", params={"q": "amoxicillin"})
    assert searched.status_code == 200
    codes = [c["code"] for c in searched.json()["concepts"]]
    assert {"308192", "723"} <= set(codes)
    assert_outcome(client.get("/api/terminology/rxnorm"), 400, "q")
    assert_outcome(client.get("/api/terminology/klingon", params={"q": "x"}), 404, "not one Osler ships")


def test_fhir_codesystem_lookup(client: TestClient) -> None:
    answer = client.get("/fhir/CodeSystem/$lookup", params={"system": terminology.RXNORM, "code": SUMATRIPTAN})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/fhir+json")
    parameters = answer.json()
    assert parameters["resourceType"] == "Parameters"
    values = {p["name"]: p.get("valueString") for p in parameters["parameter"]}
    assert values["name"] == "RxNorm" and values["display"] == "sumatriptan 50 MG Oral Tablet"
    tty = next(p for p in parameters["parameter"] if p["name"] == "property")
    assert tty["part"] == [{"name": "code", "valueCode": "tty"}, {"name": "value", "valueString": "SCD"}]
    assert_outcome(client.get("/fhir/CodeSystem/$lookup", params={"system": terminology.RXNORM, "code": "0"}),
                   404, "not a known")
    assert_outcome(client.get("/fhir/CodeSystem/$lookup", params={"system": "urn:nothing", "code": "1"}),
                   404, "not one Osler ships")
    assert_outcome(client.get("/fhir/CodeSystem/$lookup", params={"system": terminology.RXNORM}), 400, "code")

    cpt = terminology.concepts(terminology.CPT)
    if cpt:  # CPT codes are shipped by charting (E/M levels): numbers only, so no display
        answer = client.get("/fhir/CodeSystem/$lookup", params={"system": terminology.CPT, "code": cpt[0].code})
        assert [p["name"] for p in answer.json()["parameter"]][:1] == ["name"]
        assert "display" not in [p["name"] for p in answer.json()["parameter"]]
