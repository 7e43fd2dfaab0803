"""The FHIR REST API in-process, on SQLite and PostgreSQL: interactions, headers, Prefer, paging and
every error answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from osler.config import load_settings
from osler.interfaces.fhir_api import create_app

FHIR = {"Content-Type": "application/fhir+json"}


@pytest.fixture
def client(tmp_path: Path, db_url: str) -> Iterator[TestClient]:
    settings = load_settings(home=tmp_path, database_url=db_url, max_body_bytes=200_000)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def patient(**extra: object) -> dict:
    return {"resourceType": "Patient", "name": [{"family": "Chalmers", "given": ["Peter"]}],
            "identifier": [{"system": "urn:mrn", "value": "7"}], **extra}


def assert_outcome(response, status: int, text: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"] and body["issue"][0]["diagnostics"]
    if text is not None:
        assert text in response.text
    return body


def test_create_read_update_delete_with_headers(client: TestClient) -> None:
    created = client.post("/fhir/Patient", json=patient(), headers=FHIR)
    assert created.status_code == 201
    pid = created.json()["id"]
    assert created.headers["Location"].endswith(f"/fhir/Patient/{pid}/_history/1")
    assert created.headers["ETag"] == 'W/"1"' and created.headers["Last-Modified"].endswith("GMT")

    read = client.get(f"/fhir/Patient/{pid}")
    assert read.status_code == 200 and read.json()["name"][0]["family"] == "Chalmers"
    assert client.get(f"/fhir/Patient/{pid}", headers={"If-None-Match": 'W/"1"'}).status_code == 304

    body = {**read.json(), "gender": "male"}
    updated = client.put(f"/fhir/Patient/{pid}", json=body, headers={**FHIR, "If-Match": 'W/"1"'})
    assert updated.status_code == 200 and updated.headers["ETag"] == 'W/"2"'
    assert client.get(f"/fhir/Patient/{pid}/_history/1").json()["meta"]["versionId"] == "1"
    history = client.get(f"/fhir/Patient/{pid}/_history").json()
    assert history["type"] == "history" and history["total"] == 2

    assert client.delete(f"/fhir/Patient/{pid}").status_code == 204
    assert_outcome(client.get(f"/fhir/Patient/{pid}"), 410)


def test_prefer_return(client: TestClient) -> None:
    minimal = client.post("/fhir/Patient", json=patient(), headers={**FHIR, "Prefer": "return=minimal"})
    assert minimal.status_code == 201 and minimal.content == b"" and "Location" in minimal.headers
    outcome = client.post("/fhir/Patient", json=patient(),
                          headers={**FHIR, "Prefer": "return=OperationOutcome"})
    assert outcome.status_code == 201 and outcome.json()["resourceType"] == "OperationOutcome"


def test_conditional_create_header(client: TestClient) -> None:
    first = client.post("/fhir/Patient", json=patient(), headers={**FHIR, "If-None-Exist": "identifier=urn:mrn|7"})
    second = client.post("/fhir/Patient", json=patient(), headers={**FHIR, "If-None-Exist": "identifier=urn:mrn|7"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


def test_patch_json_patch(client: TestClient) -> None:
    pid = client.post("/fhir/Patient", json=patient(), headers=FHIR).json()["id"]
    patched = client.patch(f"/fhir/Patient/{pid}", json=[{"op": "add", "path": "/gender", "value": "female"}],
                           headers={"Content-Type": "application/json-patch+json"})
    assert patched.status_code == 200 and patched.json()["gender"] == "female"


def follow(client: TestClient, bundle: dict, relation: str = "next") -> dict | None:
    url = next((link["url"] for link in bundle["link"] if link["relation"] == relation), None)
    return client.get("/fhir" + url.split("/fhir", 1)[1]).json() if url else None


def ids_of(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"]


def create_patients(client: TestClient, count: int) -> list[str]:
    return [client.post("/fhir/Patient", json=patient(identifier=[{"system": "urn:mrn", "value": str(n)}]),
                        headers=FHIR).json()["id"] for n in range(count)]


def test_keyset_paging_neither_repeats_nor_skips_while_data_changes(client: TestClient) -> None:
    created = create_patients(client, 7)
    page = client.get("/fhir/Patient", params={"name": "chalmers", "_count": 3}).json()
    assert page["type"] == "searchset" and page["total"] == 7 and ids_of(page) == created[:3]
    # Between pages: one already seen is deleted (offset paging would now skip one) and one is added.
    client.delete(f"/fhir/Patient/{created[0]}")
    late = client.post("/fhir/Patient", json=patient(), headers=FHIR).json()["id"]
    seen = ids_of(page)
    while (page := follow(client, page)) is not None:
        seen += ids_of(page)
    assert seen == [*created, late]
    back = follow(client, client.get("/fhir/Patient", params={"name": "chalmers", "_count": 3}).json(), "last")
    assert ids_of(back) == [created[5], created[6], late]
    assert ids_of(follow(client, back, "previous")) == created[2:5]


def test_sorted_paging_is_a_snapshot(client: TestClient) -> None:
    created = create_patients(client, 7)
    page = client.get("/fhir/Patient", params={"name": "chalmers", "_count": 3, "_sort": "-_id"}).json()
    client.post("/fhir/Patient", json=patient(), headers=FHIR)  # not part of the frozen results
    seen = ids_of(page)
    while (page := follow(client, page)) is not None:
        seen += ids_of(page)
    assert seen == sorted(created, reverse=True)


def test_summary_count(client: TestClient) -> None:
    create_patients(client, 4)
    count_only = client.get("/fhir/Patient", params={"_summary": "count"}).json()
    assert count_only["total"] == 4 and "entry" not in count_only


def test_unknown_parameter_lenient_and_strict(client: TestClient) -> None:
    client.post("/fhir/Patient", json=patient(), headers=FHIR)
    lenient = client.get("/fhir/Patient", params={"nonsense": "1"})
    assert lenient.status_code == 200
    outcomes = [e for e in lenient.json()["entry"] if e["search"]["mode"] == "outcome"]
    assert outcomes and "nonsense" in str(outcomes[0]["resource"])
    assert_outcome(client.get("/fhir/Patient", params={"nonsense": "1"}, headers={"Prefer": "handling=strict"}),
                   400, "nonsense")


def test_elements_and_summary(client: TestClient) -> None:
    client.post("/fhir/Patient", json=patient(gender="male"), headers=FHIR)
    bundle = client.get("/fhir/Patient", params={"_elements": "gender"}).json()
    resource = bundle["entry"][0]["resource"]
    assert resource["gender"] == "male" and "name" not in resource
    assert resource["meta"]["tag"][0]["code"] == "SUBSETTED"


def test_transaction_and_everything(client: TestClient) -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:aaaaaaaa-0000-0000-0000-000000000001", "resource": patient(),
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Condition", "code": {"text": "migraine"},
                      "subject": {"reference": "urn:uuid:aaaaaaaa-0000-0000-0000-000000000001"}},
         "request": {"method": "POST", "url": "Condition"}},
    ]}
    response = client.post("/fhir", json=bundle, headers=FHIR)
    assert response.status_code == 200
    result = response.json()
    assert result["type"] == "transaction-response"
    assert [e["response"]["status"] for e in result["entry"]] == ["201 Created", "201 Created"]
    pid = result["entry"][0]["response"]["location"].split("/")[1]
    everything = client.get(f"/fhir/Patient/{pid}/$everything").json()
    assert sorted(e["resource"]["resourceType"] for e in everything["entry"]) == ["Condition", "Patient"]


def test_metadata_is_generated(client: TestClient) -> None:
    statement = client.get("/fhir/metadata").json()
    assert statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    types = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {"Patient", "Observation", "Encounter"} <= set(types)
    assert {"name", "birthdate", "identifier"} <= {p["name"] for p in types["Patient"]["searchParam"]}


# ---------------------------------------------------------------------------- errors
def test_malformed_json_is_400(client: TestClient) -> None:
    assert_outcome(client.post("/fhir/Patient", content=b"{not json", headers=FHIR), 400, "not valid JSON")
    assert_outcome(client.post("/fhir/Patient", content=b"", headers=FHIR), 400)


def test_invalid_resource_is_422_with_path(client: TestClient) -> None:
    body = assert_outcome(client.post("/fhir/Patient", json={"resourceType": "Patient", "birthDate": "soon"},
                                      headers=FHIR), 422)
    assert body["issue"][0]["expression"] == ["Patient.birthDate"]
    assert_outcome(client.post("/fhir/Patient", json={"resourceType": "Patient", "favouriteColour": "red"},
                               headers=FHIR), 422, "Patient.favouriteColour")


def test_not_found_and_unknown_type_are_404(client: TestClient) -> None:
    assert_outcome(client.get("/fhir/Patient/nope"), 404)
    assert_outcome(client.get("/fhir/Spaceship/1"), 404, "Spaceship")
    assert_outcome(client.get("/nowhere"), 404)


def test_method_not_allowed_is_405(client: TestClient) -> None:
    assert_outcome(client.delete("/fhir/metadata"), 405)


def test_version_conflict_is_412(client: TestClient) -> None:
    pid = client.post("/fhir/Patient", json=patient(), headers=FHIR).json()["id"]
    body = {**patient(), "id": pid}
    assert_outcome(client.put(f"/fhir/Patient/{pid}", json=body, headers={**FHIR, "If-Match": 'W/"9"'}), 412)


def test_body_too_large_is_413(client: TestClient) -> None:
    huge = {**patient(), "text": {"status": "generated", "div": "<div>" + "x" * 300_000 + "</div>"}}
    assert_outcome(client.post("/fhir/Patient", json=huge, headers=FHIR), 413)


def test_wrong_media_type_is_415(client: TestClient) -> None:
    assert_outcome(client.post("/fhir/Patient", content=b"<Patient/>", headers={"Content-Type": "application/xml"}),
                   415)


def test_id_mismatch_and_bad_search_values_are_400(client: TestClient) -> None:
    pid = client.post("/fhir/Patient", json=patient(), headers=FHIR).json()["id"]
    assert_outcome(client.put(f"/fhir/Patient/{pid}", json={**patient(), "id": "other"}, headers=FHIR), 400)
    assert_outcome(client.get("/fhir/Patient", params={"birthdate": "not-a-date"}), 400, "birthdate")
    assert_outcome(client.post("/fhir", json={"resourceType": "Bundle", "type": "collection"}, headers=FHIR), 400)
