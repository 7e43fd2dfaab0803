"""The test infrastructure itself: a real PostgreSQL, fresh databases, the reference data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url


def test_postgres_url_is_a_working_postgresql_database(postgres_url: str) -> None:
    url = make_url(postgres_url)
    assert url.drivername == "postgresql+psycopg"
    assert url.database is not None
    assert url.database.startswith("osler_test_")
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            version = connection.execute(text("select version()")).scalar_one()
            assert version.startswith("PostgreSQL ")
            connection.execute(text("create table probe (id integer primary key, note text not null)"))
            connection.execute(
                text("insert into probe (id, note) values (:id, :note)"),
                [{"id": 1, "note": "héllo"}, {"id": 2, "note": "world"}],
            )
        with engine.connect() as connection:
            rows = connection.execute(text("select id, note from probe order by id")).all()
        assert [tuple(row) for row in rows] == [(1, "héllo"), (2, "world")]
    finally:
        with engine.begin() as connection:
            connection.execute(text("drop table if exists probe"))
        engine.dispose()


@pytest.mark.parametrize("round_", [1, 2])
def test_db_url_gives_a_fresh_empty_database(db_url: str, round_: int) -> None:
    # Both rounds create the same table: the second would fail if the database were reused.
    engine = create_engine(db_url)
    try:
        assert inspect(engine).get_table_names() == []
        with engine.begin() as connection:
            connection.execute(text("create table probe (id integer primary key)"))
            connection.execute(text("insert into probe (id) values (:id)"), {"id": round_})
        with engine.connect() as connection:
            assert connection.execute(text("select id from probe")).scalar_one() == round_
    finally:
        engine.dispose()


def test_db_url_databases_are_distinct_per_test(db_url: str) -> None:
    url = make_url(db_url)
    if url.get_backend_name() == "postgresql":
        assert url.database is not None
        assert url.database.startswith("osler_test_")
    else:
        assert url.database is not None
        assert Path(url.database).parent.is_dir()


def test_synthea_bundles_are_extracted(synthea_dir: Path) -> None:
    bundles = sorted(synthea_dir.glob("*.json"))
    assert len(bundles) == 100
    first = json.loads(bundles[0].read_text())
    assert first["resourceType"] == "Bundle"
    assert first["type"] == "transaction"


WRK_OUTPUT = """Running 15s test @ http://127.0.0.1:8000
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.00us  456.00us   1.20s    90.00%
    Req/Sec     6.00k   500.00     7.00k    70.00%
  Latency Distribution
     50%  650.00us
     75%    1.30ms
     90%    1.50ms
     99%    1.02s
  180000 requests in 15.00s, 100.00MB read
  Non-2xx or 3xx responses: 4
  Socket errors: connect 0, read 3, write 0, timeout 2
Requests/sec:  12000.00
Transfer/sec:      6.67MB
"""


def test_benchmark_reads_wrk_output() -> None:
    from bench.common import parse_wrk_output

    result = parse_wrk_output(WRK_OUTPUT)
    assert result.requests_per_second == 12000.0
    assert result.requests == 180000
    assert result.duration_s == 15.0
    assert result.latency_avg_ms == pytest.approx(0.812)
    assert result.latency_p50_ms == pytest.approx(0.65)
    assert result.latency_p99_ms == pytest.approx(1020.0)
    assert (result.non_2xx_3xx, result.errors_read, result.errors_timeout) == (4, 3, 2)
    assert "4 non-2xx/3xx" in result.problem
    clean = WRK_OUTPUT.replace("  Non-2xx or 3xx responses: 4\n", "").replace(
        "  Socket errors: connect 0, read 3, write 0, timeout 2\n", ""
    )
    assert parse_wrk_output(clean).problem == ""
    with pytest.raises(ValueError):
        parse_wrk_output("wrk: connection refused")
