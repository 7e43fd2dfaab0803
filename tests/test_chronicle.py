"""The Chronicle's write path and reads, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Connection, func, select

from osler.chronicle.database import begin_write
from osler.chronicle.records import SYSTEM, Actor, Stored
from osler.chronicle.rows import PreparedWrite, apply_writes
from osler.chronicle.schema import INDEX_TABLES, audit_event, change_feed, idx_token, resource, resource_history
from osler.chronicle.store import Chronicle
from osler.fhir.indexing import extract_index
from osler.fhir.outcome import BadRequest, Gone, InvalidResource, NotFound, PreconditionFailed, VersionConflict

NURSE = Actor("nurse.jones", "treatment")


def patient(family: str = "Chalmers", mrn: str = "12345") -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": mrn}],
            "name": [{"family": family, "given": ["Peter", "James"]}], "gender": "male", "birthDate": "1974-12-25"}




def count(store: Chronicle, table) -> int:  # type: ignore[no-untyped-def]
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_create_assigns_id_version_and_writes_every_record(chronicle: Chronicle) -> None:
    result = chronicle.create(patient(), actor=NURSE)
    stored = result.stored
    assert result.created and stored.version == 1
    assert stored.resource["id"] == stored.res_id
    assert stored.resource["meta"]["versionId"] == "1"
    assert stored.resource["meta"]["lastUpdated"].endswith("Z")
    assert count(chronicle, resource) == 1
    assert count(chronicle, resource_history) == 1
    with chronicle.engine.connect() as conn:
        tokens = conn.execute(select(idx_token.c.param, idx_token.c.code).where(
            idx_token.c.res_pk == stored.pk)).all()
        audit = conn.execute(select(audit_event)).one()
    assert ("identifier", "12345") in tokens and ("gender", "male") in tokens
    assert (audit.actor, audit.action, audit.res_id, audit.purpose) == ("nurse.jones", "create", stored.res_id,
                                                                        "treatment")
    changes = chronicle.changes_since(0)
    assert [(c.res_type, c.res_id, c.version, c.op) for c in changes] == [("Patient", stored.res_id, 1, "create")]


def test_read_vread_update_history(chronicle: Chronicle) -> None:
    created = chronicle.create(patient()).stored
    changed = {**created.resource, "gender": "other"}
    updated = chronicle.update("Patient", created.res_id, changed).stored
    assert updated.version == 2
    assert chronicle.read("Patient", created.res_id).resource["gender"] == "other"
    assert chronicle.vread("Patient", created.res_id, 1).resource["gender"] == "male"
    page = chronicle.history("Patient", created.res_id)
    assert [e.stored.version for e in page.entries] == [2, 1]
    assert [e.method for e in page.entries] == ["PUT", "POST"]
    assert [c.op for c in chronicle.changes_since(0)] == ["create", "update"]
    assert [c.version for c in chronicle.changes_since(1)] == [2]


def test_update_with_identical_content_makes_no_new_version(chronicle: Chronicle) -> None:
    created = chronicle.create(patient()).stored
    again = chronicle.update("Patient", created.res_id, created.resource)
    assert again.unchanged and again.stored.version == 1
    assert count(chronicle, resource_history) == 1


def test_stale_if_match_is_refused_and_nothing_is_lost(chronicle: Chronicle) -> None:
    created = chronicle.create(patient()).stored
    chronicle.update("Patient", created.res_id, {**created.resource, "gender": "female"}, if_match='W/"1"')
    with pytest.raises(VersionConflict):
        chronicle.update("Patient", created.res_id, {**created.resource, "gender": "other"}, if_match='W/"1"')
    assert chronicle.read("Patient", created.res_id).resource["gender"] == "female"
    assert chronicle.read("Patient", created.res_id).version == 2


def test_concurrent_updates_never_lose_a_version(chronicle: Chronicle) -> None:
    created = chronicle.create(patient()).stored
    errors: list[Exception] = []

    def bump(n: int) -> None:
        try:
            chronicle.update("Patient", created.res_id, {**created.resource, "birthDate": f"19{50 + n}-01-01"})
        except Exception as error:  # collected: the assertion below names it
            errors.append(error)

    threads = [threading.Thread(target=bump, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert chronicle.read("Patient", created.res_id).version == 9
    assert count(chronicle, resource_history) == 9


def test_delete_then_read_is_gone_and_history_keeps_it(chronicle: Chronicle) -> None:
    created = chronicle.create(patient()).stored
    deleted = chronicle.delete("Patient", created.res_id)
    assert deleted is not None and deleted.version == 2
    with pytest.raises(Gone):
        chronicle.read("Patient", created.res_id)
    assert chronicle.delete("Patient", created.res_id) is None
    assert [e.stored.deleted for e in chronicle.history("Patient", created.res_id).entries] == [True, False]
    with chronicle.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(idx_token).where(
            idx_token.c.res_pk == created.pk)).scalar_one() == 0
    revived = chronicle.update("Patient", created.res_id, created.resource)
    assert revived.created and revived.stored.version == 3


def test_conditional_create_and_update(chronicle: Chronicle) -> None:
    first = chronicle.create(patient(), if_none_exist="identifier=urn:mrn|12345")
    second = chronicle.create(patient(), if_none_exist="identifier=urn:mrn|12345")
    assert first.created and not second.created and second.stored.res_id == first.stored.res_id
    updated = chronicle.conditional_update("Patient", "identifier=urn:mrn|12345", {**patient(), "gender": "other"})
    assert updated.stored.res_id == first.stored.res_id and updated.stored.version == 2
    created = chronicle.conditional_update("Patient", "identifier=urn:mrn|999", patient(mrn="999"))
    assert created.created
    chronicle.create(patient(mrn="dup"))
    chronicle.create(patient(mrn="dup"))
    with pytest.raises(PreconditionFailed):
        chronicle.create(patient(mrn="dup"), if_none_exist="identifier=urn:mrn|dup")


def test_patch(chronicle: Chronicle) -> None:
    created = chronicle.create(patient()).stored
    patched = chronicle.patch("Patient", created.res_id, [{"op": "replace", "path": "/gender", "value": "female"}])
    assert patched.stored.resource["gender"] == "female" and patched.stored.version == 2
    with pytest.raises(BadRequest):
        chronicle.patch("Patient", created.res_id, [{"op": "remove", "path": "/nope"}])
    with pytest.raises(InvalidResource):
        chronicle.patch("Patient", created.res_id, [{"op": "replace", "path": "/gender", "value": 7}])
    with pytest.raises(VersionConflict):
        chronicle.patch("Patient", created.res_id, [{"op": "replace", "path": "/gender", "value": "male"}],
                        if_match='W/"1"')


def test_invalid_resources_write_nothing(chronicle: Chronicle) -> None:
    with pytest.raises(InvalidResource) as caught:
        chronicle.create({"resourceType": "Patient", "birthDate": "yesterday", "colour": "blue"})
    paths = {e for issue in caught.value.issues for e in issue.expression}
    assert {"Patient.birthDate", "Patient.colour"} <= paths
    with pytest.raises(BadRequest):
        chronicle.create({"name": "no type"})
    with pytest.raises(NotFound):
        chronicle.read("Patient", "missing")
    assert count(chronicle, resource) == 0 and count(chronicle, change_feed) == 0


def test_reads_are_audited(chronicle: Chronicle) -> None:
    created = chronicle.create(patient()).stored
    chronicle.read("Patient", created.res_id, actor=NURSE)
    chronicle.search("Patient", [("name", "chal")], actor=NURSE)
    chronicle.audit.flush()
    with chronicle.engine.connect() as conn:
        actions = conn.execute(select(audit_event.c.action, audit_event.c.actor)
                               .order_by(audit_event.c.id)).all()
    assert [tuple(a) for a in actions] == [("create", "system"), ("read", "nurse.jones"),
                                           ("search", "nurse.jones")]


def transaction(*entries: dict) -> dict:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def no_reads(_):  # type: ignore[no-untyped-def]
    raise AssertionError("no GET entries here")


def test_transaction_rewrites_urn_uuid_references(chronicle: Chronicle) -> None:
    bundle = transaction(
        {"fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111", "resource": patient(),
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:22222222-2222-2222-2222-222222222222",
         "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "weight"},
                      "subject": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"}},
         "request": {"method": "POST", "url": "Observation"}},
    )
    kind, results = chronicle.process_bundle(bundle, no_reads)
    assert kind == "transaction" and [r.status for r in results] == ["201 Created", "201 Created"]
    patient_id = results[0].stored.res_id
    observation = chronicle.read("Observation", results[1].stored.res_id).resource
    assert observation["subject"]["reference"] == f"Patient/{patient_id}"
    page = chronicle.search("Observation", [("subject", f"Patient/{patient_id}")])
    assert [m.res_id for m in page.matches] == [results[1].stored.res_id]


def test_transaction_is_all_or_nothing(chronicle: Chronicle) -> None:
    bundle = transaction(
        {"resource": patient(), "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                      "issued": "not an instant"},
         "request": {"method": "POST", "url": "Observation"}},
    )
    with pytest.raises(InvalidResource) as caught:
        chronicle.process_bundle(bundle, no_reads)
    assert "Bundle.entry[1]" in caught.value.message
    assert count(chronicle, resource) == 0 and count(chronicle, audit_event) == 0


def test_batch_reports_each_entry(chronicle: Chronicle) -> None:
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": patient(), "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Patient", "gender": 3}, "request": {"method": "POST", "url": "Patient"}},
    ]}
    kind, results = chronicle.process_bundle(bundle, no_reads)
    assert kind == "batch"
    assert results[0].status == "201 Created"
    assert results[1].status.startswith("422") and results[1].outcome["resourceType"] == "OperationOutcome"
    assert count(chronicle, resource) == 1


def test_transaction_resolves_conditional_references_and_keeps_other_text(chronicle: Chronicle) -> None:
    known = chronicle.create(patient()).stored
    note = 'He said "reference":"urn:uuid:x" \\ twice'
    bundle = transaction(
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": note},
                      "subject": {"reference": "Patient?identifier=urn:mrn|12345"}},
         "request": {"method": "POST", "url": "Observation"}},
    )
    _, results = chronicle.process_bundle(bundle, no_reads)
    stored = chronicle.read("Observation", results[0].stored.res_id).resource
    assert stored["subject"]["reference"] == f"Patient/{known.res_id}"
    assert stored["code"]["text"] == note
    missing = transaction(
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                      "subject": {"reference": "Patient?identifier=urn:mrn|nobody"}},
         "request": {"method": "POST", "url": "Observation"}},
    )
    with pytest.raises(NotFound):
        chronicle.process_bundle(missing, no_reads)


def test_token_lists_with_a_shared_system_match_each_value(chronicle: Chronicle) -> None:
    ids = {mrn: chronicle.create(patient(mrn=mrn)).stored.res_id for mrn in ("a1", "a2", "a3")}
    other = chronicle.create({"resourceType": "Patient", "identifier": [{"system": "urn:other", "value": "a1"}]})
    page = chronicle.search("Patient", [("identifier", "urn:mrn|a1,urn:mrn|a3,urn:other|a1,urn:mrn|zz")])
    assert {m.res_id for m in page.matches} == {ids["a1"], ids["a3"], other.stored.res_id}



def index_rows_stored(conn: Connection, pk: int) -> dict[str, list[tuple]]:
    return {kind: sorted(tuple(row) for row in conn.execute(select(table).where(table.c.res_pk == pk)))
            for kind, table in INDEX_TABLES.items()}


def index_rows_if_rewritten_whole(store: Chronicle, current: Stored) -> dict[str, list[tuple]]:
    """What the index tables would hold had the current version been written by rewriting every
    table (the path taken when the replaced version is not known) — computed, then rolled back."""
    write = PreparedWrite(current.res_type, current.res_id, current.version + 1, current.last_updated + 1,
                          current.content, extract_index(current.resource), "PUT", current.version)
    with begin_write(store.engine) as conn:
        apply_writes(conn, [write], SYSTEM)
        rows = index_rows_stored(conn, current.pk)
        conn.rollback()
    return rows


def test_updates_rewrite_only_the_index_rows_that_change_and_leave_them_exact(chronicle: Chronicle) -> None:
    """Through updates that change one value (NULL columns too), remove a kind of row, add one, a delete, a re-create
    and a transaction, the index tables always hold exactly what rewriting them all would give."""
    created = chronicle.create(patient()).stored
    changes = [
        lambda r: {**r, "gender": "female"},  # tokens
        lambda r: {**r, "name": [{"family": "Chalmers-Baker", "given": ["Pat"]}]},  # strings
        lambda r: {**r, "birthDate": "1975-01-02"},  # dates
        lambda r: {k: v for k, v in r.items() if k != "identifier"},  # a kind's rows removed
        lambda r: {**r, "generalPractitioner": [{"reference": "Practitioner/p1"}]},  # a kind's first rows
    ]
    for change in changes:
        chronicle.update("Patient", created.res_id, change(chronicle.read("Patient", created.res_id).resource))
        current = chronicle.read("Patient", created.res_id)
        with chronicle.engine.connect() as conn:
            assert index_rows_stored(conn, current.pk) == index_rows_if_rewritten_whole(chronicle, current)
    chronicle.delete("Patient", created.res_id)
    with chronicle.engine.connect() as conn:
        assert not any(index_rows_stored(conn, created.pk).values())
    chronicle.update("Patient", created.res_id, {**patient(family="Again"), "id": created.res_id})
    chronicle.transact([{"request": {"method": "PUT", "url": f"Patient/{created.res_id}"},
                         "resource": {**patient(family="Again"), "id": created.res_id, "active": True}}])
    current = chronicle.read("Patient", created.res_id)
    with chronicle.engine.connect() as conn:
        stored = index_rows_stored(conn, current.pk)
    assert stored == index_rows_if_rewritten_whole(chronicle, current)
    assert ("Patient", "family", "again") in {row[1:4] for row in stored["string"]}
