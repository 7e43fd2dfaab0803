"""An unmodified third-party FHIR client (fhirpy) against a real `osler serve` process over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fhirpy import SyncFHIRClient

from tests.live_server import running_server


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("fhirpy")) as base:
        yield base


def test_fhirpy_create_read_update_and_search_with_paging(base_url: str) -> None:
    client = SyncFHIRClient(base_url)
    created_ids = []
    for n in range(12):
        patient = client.resource("Patient", name=[{"family": "Fhirpy", "given": [f"Ann{n}"]}],
                                  identifier=[{"system": "urn:test", "value": f"fp-{n}"}], gender="female")
        patient.save()
        assert patient.id
        created_ids.append(patient.id)

    fetched = client.reference("Patient", created_ids[0]).to_resource()
    assert fetched["name"][0]["family"] == "Fhirpy"

    fetched["gender"] = "other"
    fetched.save()
    again = client.reference("Patient", created_ids[0]).to_resource()
    assert again["gender"] == "other" and again["meta"]["versionId"] == "2"

    search = client.resources("Patient").search(family="Fhirpy").limit(5)
    every = list(search)  # fhirpy follows the Bundle's next links page by page
    assert sorted(p.id for p in every) == sorted(created_ids)
    assert search.count() == 12

    found = client.resources("Patient").search(identifier="urn:test|fp-3").first()
    assert found is not None and found.id == created_ids[3]
