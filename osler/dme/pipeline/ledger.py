"""The pipeline's own records, beside DBOS's step checkpoints: what ``status``, ``show`` and
``quarantine`` read, what routing of faxed documents to cases works on, and the delivery records that
make delivery exactly-once (a destination is written only if no record says it already was).

Tables (prefixed ``dme_``) live in the DBOS system database when that is PostgreSQL, so several workers
share them; on one machine they sit in their own SQLite file (WAL, a generous busy timeout: DBOS's
worker threads write concurrently). Times are UTC epoch seconds.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

SCHEMA_LOCK = 0x05D3E  # the advisory lock key of schema creation ("DME")
metadata = MetaData()
orders = Table(
    "dme_orders", metadata,
    Column("key", String(600), primary_key=True),
    Column("source", String(40), nullable=False),
    Column("stage", String(30), nullable=False),  # discovered, fetched, open, decided, delivered, failed, superseded
    Column("decision", String(30)),
    Column("case_json", Text),
    Column("opened_at", Float),
    Column("deadline_at", Float),
    Column("updated_at", Float, nullable=False),
)
documents = Table(
    "dme_documents", metadata,
    Column("doc_key", String(700), primary_key=True),
    Column("order_key", String(600), nullable=False),  # the source item it arrived in
    Column("sha256", String(64), nullable=False),
    Column("kind", String(30)),
    Column("document_json", Text, nullable=False),
    Column("case_key", String(600)),
    # pending, attached, needs-review, duplicate, set-aside, assembled, rejected (by a person, see review)
    Column("state", String(20), nullable=False),
    Column("note", Text),
    Column("arrived_at", Float, nullable=False),
)
quarantine = Table(
    "dme_quarantine", metadata,
    Column("order_key", String(600), primary_key=True),
    Column("document", String(300), primary_key=True),
    Column("filename", String(300)),
    Column("reason", Text, nullable=False),
    Column("at", Float, nullable=False),
)
deliveries = Table(
    "dme_deliveries", metadata,
    Column("order_key", String(600), primary_key=True),
    Column("destination", String(30), primary_key=True),
    Column("digest", String(64), primary_key=True),
    Column("at", Float, nullable=False),
)
events = Table(
    "dme_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_key", String(600), nullable=False, index=True),
    Column("step", String(40), nullable=False),
    Column("detail", Text),
    Column("at", Float, nullable=False),
)
watermarks = Table(
    "dme_watermarks", metadata,
    Column("source", String(300), primary_key=True),
    Column("value", String(100), nullable=False),
)


@dataclass
class OrderRow:
    key: str
    source: str
    stage: str
    decision: str | None
    case: dict[str, Any] | None
    opened_at: float | None
    deadline_at: float | None


class Ledger:
    def __init__(self, url: str) -> None:
        sqlite = url.startswith("sqlite")
        self.engine = create_engine(url, connect_args={"timeout": 60} if sqlite else {}, pool_pre_ping=True)
        if sqlite:
            @event.listens_for(self.engine, "connect")
            def _pragmas(connection: Any, _: object) -> None:
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()
        with self.schema_lock():
            metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        """On PostgreSQL, one worker at a time creates tables (ours, and DBOS's at launch): workers starting
        together would otherwise race each other's CREATE TABLE. SQLite serializes writers by itself.

        The waiting side polls ``pg_try_advisory_lock`` between transactions rather than blocking in
        ``pg_advisory_lock``: DBOS's ``CREATE INDEX CONCURRENTLY`` waits for every open transaction, a
        blocked lock call included, which would deadlock the two workers.
        """
        if self.engine.dialect.name != "postgresql":
            yield
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            while not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEMA_LOCK}).scalar():
                time.sleep(0.1)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK})

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    # --------------------------------------------------------------------------------- orders

    def set_order(self, key: str, source: str, stage: str, *, decision: str | None = None,
                  case: dict[str, Any] | None = None, deadline_at: float | None = None,
                  connection: Connection | None = None) -> None:
        """Create or move an order on; only the values given change."""
        now = time.time()
        values: dict[str, Any] = {"stage": stage, "updated_at": now}
        if decision is not None:
            values["decision"] = decision
        if case is not None:
            values["case_json"] = json.dumps(case)
        if deadline_at is not None:
            values["deadline_at"] = deadline_at
        with self._connection(connection) as conn:
            changed = conn.execute(update(orders).where(orders.c.key == key).values(**values)).rowcount
            if not changed:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(orders).values(key=key, source=source, opened_at=now, **values))
                except IntegrityError:  # another worker created it meanwhile
                    conn.execute(update(orders).where(orders.c.key == key).values(**values))

    def order(self, key: str, connection: Connection | None = None) -> OrderRow | None:
        with self._connection(connection) as conn:
            row = conn.execute(select(orders).where(orders.c.key == key)).first()
        return _order_row(row) if row else None

    def find_orders(self, fragment: str) -> list[str]:
        """Order keys equal to or ending with ``fragment`` (a user types the DeviceRequest id or the sha)."""
        with self.engine.connect() as conn:
            keys = list(conn.execute(select(orders.c.key)).scalars())
        exact = [key for key in keys if key == fragment]
        return exact or [key for key in keys if key.endswith(fragment) or key.endswith(f"/{fragment}")
                         or key.split(":")[-1].startswith(fragment)]

    def orders_in(self, connection: Connection, stage: str) -> list[OrderRow]:
        rows = connection.execute(select(orders).where(orders.c.stage == stage).order_by(orders.c.opened_at)).all()
        return [_order_row(row) for row in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        with self.engine.connect() as conn:
            stages = dict(conn.execute(select(orders.c.stage, func.count()).group_by(orders.c.stage)).all())
            decisions = dict(conn.execute(select(orders.c.decision, func.count())
                                          .where(orders.c.decision.is_not(None))
                                          .group_by(orders.c.decision)).all())
            documents_by_state = dict(conn.execute(select(documents.c.state, func.count())
                                                   .group_by(documents.c.state)).all())
            quarantined = conn.execute(select(func.count()).select_from(quarantine)).scalar_one()
            fetched = conn.execute(select(func.count(events.c.order_key.distinct()))
                                   .where(events.c.step == "fetched")).scalar_one()
        return {"stages": stages, "decisions": decisions, "documents": documents_by_state,
                "quarantined": {"documents": quarantined}, "items": {"fetched": fetched}}

    # ----------------------------------------------------------------------- faxed documents

    def add_document(self, doc_key: str, order_key: str, document: dict[str, Any], state: str,
                     connection: Connection | None = None) -> None:
        with self._connection(connection) as conn:
            exists = conn.execute(select(documents.c.doc_key).where(documents.c.doc_key == doc_key)).first()
            if not exists:
                conn.execute(insert(documents).values(
                    doc_key=doc_key, order_key=order_key, sha256=document["sha256"], kind=document.get("kind"),
                    document_json=json.dumps(document), state=state, arrived_at=time.time()))

    def documents_in(self, connection: Connection, *states: str,
                     excluding: AbstractSet[str] = frozenset()) -> list[dict[str, Any]]:
        """Rows of filed documents in these states, oldest first, ``document`` the parsed Document JSON;
        the documents whose keys are in ``excluding`` are not read at all."""
        keys = connection.execute(select(documents.c.doc_key).where(documents.c.state.in_(states))
                                  .order_by(documents.c.arrived_at, documents.c.doc_key)).scalars().all()
        wanted = [key for key in keys if key not in excluding]
        rows = {row["doc_key"]: row for batch in range(0, len(wanted), 500)
                for row in connection.execute(select(documents).where(
                    documents.c.doc_key.in_(wanted[batch:batch + 500]))).mappings()}
        return [{**rows[key], "document": json.loads(rows[key]["document_json"])} for key in wanted]

    def attached_rows(self, connection: Connection, sha256: str | None) -> list[dict[str, Any]]:
        """The attached documents with this sha256 (their ``case_key`` says which case holds them)."""
        return [dict(row) for row in connection.execute(select(documents.c.doc_key, documents.c.case_key)
                                                        .where(documents.c.sha256 == sha256)
                                                        .where(documents.c.state == "attached")).mappings()]

    def documents_by_key(self, connection: Connection, doc_key: str) -> dict[str, Any]:
        row = connection.execute(select(documents).where(documents.c.doc_key == doc_key)).mappings().one()
        return {**row, "document": json.loads(row["document_json"])}

    def set_document(self, connection: Connection, doc_key: str, state: str, *, case_key: str | None = None,
                     note: str | None = None) -> None:
        connection.execute(update(documents).where(documents.c.doc_key == doc_key)
                           .values(state=state, case_key=case_key, note=note))

    # ---------------------------------------------------------------------------- quarantine

    def quarantine(self, order_key: str, document: str, filename: str, reason: str) -> None:
        with self.engine.begin() as conn:
            exists = conn.execute(select(quarantine.c.order_key).where(quarantine.c.order_key == order_key)
                                  .where(quarantine.c.document == document)).first()
            if not exists:
                conn.execute(insert(quarantine).values(order_key=order_key, document=document, filename=filename,
                                                       reason=reason, at=time.time()))

    def quarantined(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(select(quarantine).order_by(quarantine.c.at)).mappings()]

    # ---------------------------------------------------------------------------- deliveries

    def delivered(self, order_key: str, destination: str, digest: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(deliveries.c.at).where(deliveries.c.order_key == order_key)
                                .where(deliveries.c.destination == destination)
                                .where(deliveries.c.digest == digest)).first() is not None

    def record_delivery(self, order_key: str, destination: str, digest: str) -> None:
        # An earlier attempt may have recorded it already (a retry after a crash): the row is what counts.
        with self.engine.begin() as conn, contextlib.suppress(IntegrityError), conn.begin_nested():
            conn.execute(insert(deliveries).values(order_key=order_key, destination=destination, digest=digest,
                                                   at=time.time()))

    def deliveries(self, order_key: str | None = None) -> list[dict[str, Any]]:
        query = select(deliveries).order_by(deliveries.c.at)
        if order_key is not None:
            query = query.where(deliveries.c.order_key == order_key)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    # -------------------------------------------------------------------------------- events

    def log(self, order_key: str, step: str, detail: str = "") -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(events).values(order_key=order_key, step=step, detail=detail, at=time.time()))

    def history(self, order_key: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(select(events).where(events.c.order_key == order_key)
                                                      .order_by(events.c.id)).mappings()]

    # ---------------------------------------------------------------------------- watermarks

    def watermark(self, source: str) -> str:
        with self.engine.connect() as conn:
            return conn.execute(select(watermarks.c.value).where(watermarks.c.source == source)).scalar() or ""

    def set_watermark(self, source: str, value: str) -> None:
        with self.engine.begin() as conn:
            if not conn.execute(update(watermarks).where(watermarks.c.source == source).values(value=value)).rowcount:
                conn.execute(insert(watermarks).values(source=source, value=value))

    @contextmanager
    def _connection(self, connection: Connection | None) -> Iterator[Connection]:
        if connection is not None:
            yield connection
        else:
            with self.engine.begin() as conn:
                yield conn


def _order_row(row: Any) -> OrderRow:
    return OrderRow(row.key, row.source, row.stage, row.decision, json.loads(row.case_json) if row.case_json else None,
                    row.opened_at, row.deadline_at)
