"""The Alembic migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from osler.chronicle.database import make_engine
from osler.chronicle.migrations_runner import current_revision, upgrade
from osler.chronicle.schema import metadata
from osler.chronicle.store import Chronicle


def test_migrations_match_the_declared_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)  # a second upgrade is a no-op
    assert current_revision(engine) == "0004"
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    tables = set(inspect(engine).get_table_names())
    assert {"resource", "resource_history", "idx_token", "change_feed", "audit_event"} <= tables
    engine.dispose()


def test_revision_0003_drops_the_unread_id_and_last_updated_rows_and_search_still_finds(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0002")
    with engine.begin() as conn:  # what revision 0002's code wrote for a Patient, beside a real index row
        conn.execute(text("INSERT INTO resource (pk, res_type, res_id, version, last_updated, deleted, content) "
                          "VALUES (1, 'Patient', 'p1', 1, 1700000000000000, false, :content)"),
                     {"content": '{"resourceType":"Patient","id":"p1","gender":"female"}'})
        conn.execute(text("INSERT INTO idx_token (res_pk, res_type, param, system, code, text) VALUES "
                          "(1, 'Patient', '_id', NULL, 'p1', NULL), (1, 'Patient', 'gender', NULL, 'female', NULL)"))
        conn.execute(text("INSERT INTO idx_date (res_pk, res_type, param, low, high) "
                          "VALUES (1, 'Patient', '_lastUpdated', 1700000000000000, 1700000000000999)"))
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT param FROM idx_token")).scalars().all() == ["gender"]
        assert conn.execute(text("SELECT count(*) FROM idx_date")).scalar() == 0
    engine.dispose()
    store = Chronicle.open(db_url)
    try:
        for criteria in ([("_id", "p1")], [("_lastUpdated", "ge2023-11-14")], [("gender", "female")]):
            assert [s.res_id for s in store.search("Patient", criteria).matches] == ["p1"], criteria
    finally:
        store.close()


def test_revision_0004_drops_the_rows_of_derived_parameters_and_search_still_finds(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0003")
    with engine.begin() as conn:  # what revision 0003's code wrote for an Observation about a patient
        conn.execute(text("INSERT INTO resource (pk, res_type, res_id, version, last_updated, deleted, content) "
                          "VALUES (1, 'Observation', 'o1', 1, 1700000000000000, false, :content)"),
                     {"content": '{"resourceType":"Observation","id":"o1","status":"final",'
                                 '"code":{"coding":[{"code":"2345-7"}]},"subject":{"reference":"Patient/p1"}}'})
        conn.execute(text("INSERT INTO idx_reference (res_pk, res_type, param, target_type, target_id) VALUES "
                          "(1, 'Observation', 'subject', 'Patient', 'p1'), "
                          "(1, 'Observation', 'patient', 'Patient', 'p1')"))
        conn.execute(text("INSERT INTO idx_token (res_pk, res_type, param, system, code, text) VALUES "
                          "(1, 'Observation', 'code', NULL, '2345-7', NULL), "
                          "(1, 'Observation', 'combo-code', NULL, '2345-7', NULL)"))
        # ... and for one about a patient known by identifier alone, Reference.type not yet in its rows
        conn.execute(text("INSERT INTO resource (pk, res_type, res_id, version, last_updated, deleted, content) "
                          "VALUES (2, 'Observation', 'o2', 1, 1700000000000000, false, :content)"),
                     {"content": '{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"x"},'
                                 '"subject":{"type":"Patient","identifier":{"system":"urn:mrn","value":"m9"}}}'})
        conn.execute(text("INSERT INTO idx_reference (res_pk, res_type, param, ident_system, ident_value) VALUES "
                          "(2, 'Observation', 'subject', 'urn:mrn', 'm9'), "
                          "(2, 'Observation', 'patient', 'urn:mrn', 'm9')"))
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT param, target_type FROM idx_reference ORDER BY res_pk")).all() == [
            ("subject", "Patient"), ("subject", "Patient")]
        assert conn.execute(text("SELECT param FROM idx_token")).scalars().all() == ["code"]
    engine.dispose()
    store = Chronicle.open(db_url)
    try:
        for criteria in ([("patient", "p1")], [("subject", "Patient/p1")], [("combo-code", "2345-7")]):
            assert [s.res_id for s in store.search("Observation", criteria).matches] == ["o1"], criteria
        found = store.search("Observation", [("patient:identifier", "urn:mrn|m9")]).matches
        assert [s.res_id for s in found] == ["o2"]
    finally:
        store.close()
