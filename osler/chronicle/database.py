"""Engines for the Chronicle: SQLite (WAL) by default, PostgreSQL when the URL says so.

SQLite gets the pragmas that make it a sound multi-process store (WAL, a busy timeout, NORMAL
sync — durable across application crashes, at risk only from an OS crash in the last moments)
and ``BEGIN IMMEDIATE`` for write transactions, because a deferred transaction that upgrades from
read to write fails with SQLITE_BUSY instead of waiting when another process writes.

Writers to one SQLite file also queue at a gate and checkpoints run in the background: see
``sqlite_wal``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from osler.chronicle.sqlite_wal import CHECKPOINT_SAFETY_PAGES, start_checkpoints, write_gate


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, durable: bool = True) -> Engine:
    """``durable=False`` (SQLite only) skips fsync: for caches that may be lost in an OS crash."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=8, max_overflow=16)
        _configure_sqlite(engine, synchronous="NORMAL" if durable else "OFF")
        if parsed.database and parsed.database != ":memory:":
            start_checkpoints(Path(parsed.database))
        return engine
    return create_engine(url, pool_size=8, max_overflow=16, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see begin_write).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_SAFETY_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(connection.info.pop("sqlite_begin", "BEGIN"))


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A write transaction: ``BEGIN IMMEDIATE`` behind the file's ``WriteGate`` on SQLite, an ordinary
    one on PostgreSQL."""
    with write_gate(engine), engine.connect() as connection:
        if is_sqlite(engine):
            connection.info["sqlite_begin"] = "BEGIN IMMEDIATE"
        with connection.begin():
            yield connection


@contextmanager
def begin_read(engine: Engine) -> Iterator[Connection]:
    """A read transaction, so a multi-statement read sees one consistent snapshot."""
    with engine.connect() as connection, connection.begin():
        yield connection

