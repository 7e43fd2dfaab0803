"""Bad input of any shape gets a 4xx OperationOutcome — never a 500, never a hang.

Hypothesis throws arbitrary JSON at the write endpoints and arbitrary query strings at search;
each answer must be a 2xx/4xx with a FHIR body, and nothing half-written may remain.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osler.config import load_settings
from osler.interfaces.fhir_api import create_app

FHIR = {"Content-Type": "application/fhir+json"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
# Resource-like objects: a real type with random elements, which exercise the validator more.
resource_like = st.builds(
    lambda rtype, body: {**body, "resourceType": rtype},
    st.sampled_from(["Patient", "Observation", "Encounter", "Bundle", "Nope", ""]),
    st.dictionaries(st.sampled_from(["id", "name", "status", "code", "subject", "birthDate", "entry", "type",
                                     "meta", "valueQuantity", "identifier", "x"]), json_values, max_size=5),
)
SEARCH_NAMES = ["name", "birthdate", "date", "code", "patient", "subject:Patient.name", "_has:Observation:patient:code",
                "value-quantity", "_sort", "_count", "_include", "_revinclude", "_elements", "_summary", "_id",
                "_lastUpdated", "identifier:of-type", "name:exact", "gender:missing", "code-value-quantity", "zzz"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    home: Path = tmp_path_factory.mktemp("robust")
    with TestClient(create_app(load_settings(home=home)), raise_server_exceptions=False) as test_client:
        yield test_client


def assert_fhir_answer(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["resourceType"] == "OperationOutcome"


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=json_values | resource_like)
def test_any_json_posted_to_a_type_is_answered(client: TestClient, body: object) -> None:
    assert_fhir_answer(client.post("/fhir/Patient", json=body, headers=FHIR))


@FUZZ
@given(entries=st.lists(st.fixed_dictionaries({}, optional={
    "fullUrl": st.sampled_from(["urn:uuid:1", "urn:uuid:2", "Patient/1", ""]),
    "resource": resource_like,
    "request": st.fixed_dictionaries({}, optional={
        "method": st.sampled_from(["POST", "PUT", "DELETE", "GET", "PATCH", "FOO"]),
        "url": st.sampled_from(["Patient", "Patient/1", "Observation", "Patient?name=x", "", "Nope/1"]),
        "ifNoneExist": st.sampled_from(["name=x", "zzz=1", ""]),
        "ifMatch": st.sampled_from(['W/"1"', "bad"]),
    })}), max_size=4), kind=st.sampled_from(["transaction", "batch", "collection"]))
def test_any_bundle_is_answered(client: TestClient, entries: list, kind: str) -> None:
    bundle = {"resourceType": "Bundle", "type": kind, "entry": entries}
    assert_fhir_answer(client.post("/fhir", json=bundle, headers=FHIR))


@FUZZ
@given(params=st.lists(st.tuples(st.sampled_from(SEARCH_NAMES), st.text(max_size=15)), max_size=4))
def test_any_search_is_answered(client: TestClient, params: list[tuple[str, str]]) -> None:
    assert_fhir_answer(client.get("/fhir/Observation", params=params))
    assert_fhir_answer(client.get("/fhir/Patient", params=params))


@FUZZ
@given(body=json_values, etag=st.text(max_size=8))
def test_any_update_or_patch_is_answered(client: TestClient, body: object, etag: str) -> None:
    headers = {**FHIR, "If-Match": etag} if etag.isprintable() and etag.isascii() else FHIR
    assert_fhir_answer(client.put("/fhir/Patient/fuzz-1", json=body, headers=headers))
    assert_fhir_answer(client.patch("/fhir/Patient/fuzz-1", json=body,
                                    headers={"Content-Type": "application/json-patch+json"}))


def test_deeply_nested_json_is_a_400(client: TestClient) -> None:
    body = b'{"resourceType":"Patient","extension":' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert_fhir_answer(client.post("/fhir/Patient", content=body, headers=FHIR))


def test_body_that_is_not_utf8_is_a_400(client: TestClient) -> None:
    response = client.post("/fhir/Patient", content=b"\xff\xfe{\x00", headers=FHIR)
    assert response.status_code == 400
