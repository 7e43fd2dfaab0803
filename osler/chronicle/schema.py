"""The Chronicle's tables (SQLAlchemy Core), identical on SQLite and PostgreSQL.

``resource`` holds the current version of every resource (deleted ones as tombstones), keyed by a
surrogate integer ``pk`` that every index row points at; ``resource_history`` holds every version.
One index table per search-parameter type keeps each index narrow and its B-tree useful.
Instants are integer microseconds since the Unix epoch (UTC): portable, exact and cheap to compare.
Date index rows hold an inclusive range [low, high] so the spec's range semantics are plain SQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (autoincrement) for the exact type INTEGER.
Pk = BigInteger().with_variant(Integer(), "sqlite")

resource = Table(
    "resource",
    metadata,
    Column("pk", Pk, primary_key=True, autoincrement=True),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_updated", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content", Text, nullable=True),
    UniqueConstraint("res_type", "res_id", name="uq_resource_type_id"),
    Index("ix_resource_type_updated", "res_type", "last_updated"),
)

resource_history = Table(
    "resource_history",
    metadata,
    Column("res_pk", Pk, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("last_updated", BigInteger, nullable=False),
    Column("method", String(8), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content", Text, nullable=True),
    Index("ix_history_updated", "last_updated"),
    Index("ix_history_type_updated", "res_type", "last_updated"),
)


def _index_table(name: str, *columns: Column, indexes: list[tuple[str, ...]]) -> Table:
    table = Table(
        name,
        metadata,
        Column("res_pk", Pk, nullable=False),
        Column("res_type", String(64), nullable=False),
        Column("param", String(64), nullable=False),
        *columns,
    )
    Index(f"ix_{name}_res", table.c.res_pk)
    for cols in indexes:
        Index(f"ix_{name}_{'_'.join(cols)}", *(table.c[c] for c in cols))
    return table


idx_string = _index_table(
    "idx_string",
    Column("value_norm", String(255), nullable=False),
    Column("value_exact", Text, nullable=False),
    indexes=[],
)
# String search is a prefix match (LIKE 'abc%'); PostgreSQL uses a B-tree for that under a
# language-aware collation only with the pattern operator class.
Index("ix_idx_string_res_type_param_value_norm", idx_string.c.res_type, idx_string.c.param,
      idx_string.c.value_norm, postgresql_ops={"value_norm": "varchar_pattern_ops"})

idx_token = _index_table(
    "idx_token",
    Column("system", String(255), nullable=True),
    Column("code", String(255), nullable=True),
    Column("text", String(255), nullable=True),
    indexes=[("res_type", "param", "code", "system")],
)

idx_date = _index_table(
    "idx_date",
    Column("low", BigInteger, nullable=False),
    Column("high", BigInteger, nullable=False),
    indexes=[("res_type", "param", "low"), ("res_type", "param", "high")],
)

idx_reference = _index_table(
    "idx_reference",
    Column("target_type", String(64), nullable=True),
    Column("target_id", String(255), nullable=True),
    Column("url", Text, nullable=True),
    Column("ident_system", String(255), nullable=True),
    Column("ident_value", String(255), nullable=True),
    indexes=[("res_type", "param", "target_id", "target_type"), ("target_id", "target_type")],
)

idx_quantity = _index_table(
    "idx_quantity",
    Column("value", Float, nullable=False),
    Column("system", String(255), nullable=True),
    Column("code", String(255), nullable=True),
    indexes=[("res_type", "param", "value")],
)

idx_number = _index_table(
    "idx_number",
    Column("value", Float, nullable=False),
    indexes=[("res_type", "param", "value")],
)

idx_uri = _index_table(
    "idx_uri",
    Column("value", Text, nullable=False),
    indexes=[("res_type", "param", "value")],
)

# A composite row pairs a token (the first component) with the value of the second component,
# taken from the same element (e.g. one Observation.component), as the spec requires.
idx_composite = _index_table(
    "idx_composite",
    Column("system", String(255), nullable=True),
    Column("code", String(255), nullable=True),
    Column("value_number", Float, nullable=True),
    Column("value_system", String(255), nullable=True),
    Column("value_code", String(255), nullable=True),
    Column("value_low", BigInteger, nullable=True),
    Column("value_high", BigInteger, nullable=True),
    Column("value_string", String(255), nullable=True),
    indexes=[("res_type", "param", "code")],
)

INDEX_TABLES = {
    "string": idx_string,
    "token": idx_token,
    "date": idx_date,
    "reference": idx_reference,
    "quantity": idx_quantity,
    "number": idx_number,
    "uri": idx_uri,
    "composite": idx_composite,
}

change_feed = Table(
    "change_feed",
    metadata,
    Column("seq", Pk, primary_key=True, autoincrement=True),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("op", String(8), nullable=False),
    Column("ts", BigInteger, nullable=False),
)

audit_event = Table(
    "audit_event",
    metadata,
    Column("id", Pk, primary_key=True, autoincrement=True),
    Column("ts", BigInteger, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(16), nullable=False),
    Column("res_type", String(64), nullable=True),
    Column("res_id", String(64), nullable=True),
    Column("version", Integer, nullable=True),
    Column("purpose", String(64), nullable=True),
    Column("outcome", String(16), nullable=False, default="success"),
    Column("detail", Text, nullable=True),
    Index("ix_audit_ts", "ts"),
    Index("ix_audit_resource", "res_type", "res_id"),
)

search_snapshot = Table(
    "search_snapshot",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("created", BigInteger, nullable=False),
    Column("res_type", String(64), nullable=True),
    Column("query", Text, nullable=False),
    Column("total", Integer, nullable=False),
    Column("pks", Text, nullable=False),
    Index("ix_snapshot_created", "created"),
)

load_ledger = Table(
    "load_ledger",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("source", Text, nullable=False),
    Column("loaded_at", BigInteger, nullable=False),
    Column("resources", Integer, nullable=False),
)

# How far each change-feed consumer has got, and which process holds its lease (one processor at a
# time per consumer, however many API workers run).
feed_cursor = Table(
    "feed_cursor",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False, default=0),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", BigInteger, nullable=False, default=0),
)
