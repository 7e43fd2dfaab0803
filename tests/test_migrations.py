"""The Alembic migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from osler.chronicle.database import make_engine
from osler.chronicle.migrations_runner import current_revision, upgrade
from osler.chronicle.schema import metadata


def test_migrations_match_the_declared_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)  # a second upgrade is a no-op
    assert current_revision(engine) == "0002"
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    tables = set(inspect(engine).get_table_names())
    assert {"resource", "resource_history", "idx_token", "change_feed", "audit_event"} <= tables
    engine.dispose()
