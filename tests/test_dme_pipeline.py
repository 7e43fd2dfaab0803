"""The durable DME pipeline: faxed orders and documents processed into delivered packets, once each —
also when the worker is killed with SIGKILL at random moments, when the webhook fails, when an order is
discovered again, and with two workers sharing one PostgreSQL.

The stage functions are the quick stand-ins of ``tests.dme_stand_ins`` (no OCR), so these tests are
about durability, idempotency and delivery; the real stages have their own tests.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from osler.dme.config import DmeSettings, load_dme_settings
from osler.dme.model import Decision
from osler.dme.pipeline.runner import Worker
from tests.dme_stand_ins import STAGES, dme_pdf
from tests.live_server import free_port

REPO = Path(__file__).resolve().parent.parent
STAND_INS = "tests.dme_stand_ins"


def write_fax_orders(folder: Path, count: int, *, studies: int = 0) -> None:
    """``count`` faxed CPAP orders (patients Doe0…), the first ``studies`` of them with a qualifying
    sleep study faxed separately."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        patient = {"Patient": f"Doe{number}, Jane", "DOB": f"1950-01-{number % 28 + 1:02d}"}
        (folder / f"order-{number:03d}.pdf").write_bytes(dme_pdf("DME ORDER", {**patient, "HCPCS": "E0601"}))
        if number < studies:
            (folder / f"study-{number:03d}.pdf").write_bytes(dme_pdf("SLEEP STUDY", {**patient, "AHI": "31"}))


def settings_for(tmp_path: Path, **overrides: object) -> DmeSettings:
    values: dict[str, object] = {"home": str(tmp_path / "dme"), "fax_folder": str(tmp_path / "fax"),
                                 "output_folder": str(tmp_path / "out"), "csv_path": str(tmp_path / "billing.csv"),
                                 "stages": STAND_INS, "case_deadline_hours": 0}
    return load_dme_settings(**{**values, **overrides})


@contextmanager
def worker(settings: DmeSettings) -> Iterator[Worker]:
    running = Worker(settings)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@contextmanager
def webhook_receiver(tmp_path: Path, failures: int = 0) -> Iterator[tuple[str, Path]]:
    """A real HTTP receiver in another process; yields its URL and its request log."""
    port, log = free_port(), tmp_path / "webhook.log"
    process = subprocess.Popen([sys.executable, "-m", "tests.dme_webhook_receiver", str(port), str(log), str(failures)],
                               cwd=REPO)
    url = f"http://127.0.0.1:{port}/orders"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the webhook receiver did not start") from None
                time.sleep(0.1)
        yield url, log
    finally:
        process.terminate()
        process.wait(timeout=10)


def webhook_log(log: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def billing(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


# --------------------------------------------------------------------------------- in process


def test_faxed_orders_and_documents_become_delivered_packets(tmp_path: Path) -> None:
    write_fax_orders(tmp_path / "fax", 4, studies=2)
    (tmp_path / "fax" / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a PDF body")
    (tmp_path / "fax" / "notes.txt").write_text("not a fax")
    settings = settings_for(tmp_path)
    with worker(settings) as running:
        running.drain()
        counts = running.counts()
        ledger = running.runtime.ledger
        decisions = {row["order_key"]: row for row in ledger.deliveries()}
        quarantined = ledger.quarantined()
    assert (counts.discovered, counts.delivered, counts.quarantined) == (7, 4, 1)
    assert [row["filename"] for row in quarantined] == ["broken.pdf"]
    assert "not a readable PDF" in quarantined[0]["reason"]
    out = tmp_path / "out"
    packets = sorted(out.glob("*.pdf"))
    assert len(packets) == 4 and len(list(out.glob("*.json"))) == 4
    records = [json.loads(path.read_text()) for path in sorted(out.glob("*.json"))]
    by_patient = {r["fields"]["patient_name"]["value"]["family"]: r for r in records}
    assert by_patient["Doe0"]["decision"]["status"] == "qualified"
    assert by_patient["Doe3"]["decision"]["status"] == "missing"
    letters = sorted(out.glob("*.request.txt"))
    assert len(letters) == 2
    assert "A sleep study showing AHI ≥ 15." in letters[0].read_text()
    rows = billing(tmp_path / "billing.csv")
    assert sorted(row["decision"] for row in rows) == ["missing", "missing", "qualified", "qualified"]
    assert {row["hcpcs"] for row in rows} == {"E0601"}
    assert len(decisions) == 4
    # the faxes left the inbox once recorded; the stray text file stays
    assert sorted(p.name for p in (tmp_path / "fax").iterdir() if p.is_file()) == ["notes.txt"]
    pages = [len(PdfReader(path).pages) for path in packets]
    assert sorted(pages) == [2, 2, 3, 3]  # cover + order (+ study)


def test_the_same_fax_discovered_again_is_processed_once(tmp_path: Path) -> None:
    write_fax_orders(tmp_path / "fax", 1)
    order = (tmp_path / "fax" / "order-000.pdf").read_bytes()
    settings = settings_for(tmp_path)
    with worker(settings) as running:
        running.drain()
        (tmp_path / "fax" / "order-000-resent.pdf").write_bytes(order)  # the same bytes, another name
        running.drain()
        deliveries = running.runtime.ledger.deliveries()
    assert [(d["destination"]) for d in deliveries] == ["folder", "csv"]
    assert len(billing(tmp_path / "billing.csv")) == 1


# the second part's reference as OCR may misread a character of it: still the same document's part
@pytest.mark.parametrize("second_mark", ["Ref: AB12345 part 2 of 2", "Ref: AB1Z345 part 2 of 2"])
def test_faxed_fragments_are_put_together_in_order(tmp_path: Path, second_mark: str) -> None:
    fax = tmp_path / "fax"
    fax.mkdir()
    patient = {"Patient": "Doe0, Jane", "DOB": "1950-01-01"}
    (fax / "a-second-part.pdf").write_bytes(dme_pdf(second_mark, {"HCPCS": "E0601"}))
    (fax / "b-first-part.pdf").write_bytes(dme_pdf("DME ORDER Ref: AB12345 part 1 of 2", patient))
    settings = settings_for(tmp_path)
    with worker(settings) as running:
        running.drain()
        counts = running.runtime.ledger.counts()
    assert counts["documents"] == {"assembled": 2, "attached": 1}
    (record,) = [json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.json")]
    (document,) = record["documents"]
    assert [page["text"].splitlines()[0] for page in document["pages"]] == \
        ["DME ORDER Ref: AB12345 part 1 of 2", second_mark]
    assert document["filename"] == "b-first-part.pdf"


def test_an_amended_order_supersedes_the_earlier_one(tmp_path: Path) -> None:
    fax = tmp_path / "fax"
    fax.mkdir()
    patient = {"Patient": "Doe0, Jane", "DOB": "1950-01-01"}
    (fax / "order.pdf").write_bytes(dme_pdf("DME ORDER", {**patient, "HCPCS": "E0601"}))
    settings = settings_for(tmp_path, case_deadline_hours=1)  # the first order waits for its sleep study
    with worker(settings) as running:
        running.drain()
        (fax / "amended.pdf").write_bytes(dme_pdf("DME ORDER", {**patient, "HCPCS": "E0601", "Amended": "yes"}))
        # The amendment first, while the earlier order is open: had the study been read first, it would have
        # completed and delivered the earlier order, and the amendment would only name it (the next test).
        running.drain()
        (fax / "study.pdf").write_bytes(dme_pdf("SLEEP STUDY", {**patient, "AHI": "22"}))
        running.drain()
        ledger = running.runtime.ledger
        with ledger.transaction() as conn:
            stages = {row.key: row.stage for stage in ("open", "delivered", "superseded")
                      for row in ledger.orders_in(conn, stage)}
        delivered = ledger.deliveries()
    assert sorted(stages.values()) == ["delivered", "superseded"]
    (amended_key,) = [key for key, stage in stages.items() if stage == "delivered"]
    (earlier_key,) = [key for key, stage in stages.items() if stage == "superseded"]
    assert {d["order_key"] for d in delivered} == {amended_key}
    record = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert record["decision"]["status"] == "qualified"
    assert sorted(d["filename"] for d in record["documents"]) == ["amended.pdf", "study.pdf"]
    with worker(settings) as running:
        assert running.runtime.ledger.order(earlier_key).case["superseded_by"] == amended_key


def test_an_amendment_arriving_after_delivery_names_the_order_it_replaces(tmp_path: Path) -> None:
    fax = tmp_path / "fax"
    fax.mkdir()
    patient = {"Patient": "Doe0, Jane", "DOB": "1950-01-01"}
    (fax / "order.pdf").write_bytes(dme_pdf("DME ORDER", {**patient, "HCPCS": "E0601"}))
    (fax / "study.pdf").write_bytes(dme_pdf("SLEEP STUDY", {**patient, "AHI": "22"}))
    settings = settings_for(tmp_path, case_deadline_hours=1)
    with worker(settings) as running:
        running.drain()
        (earlier_key,) = {d["order_key"] for d in running.runtime.ledger.deliveries()}
        (fax / "amended.pdf").write_bytes(dme_pdf("DME ORDER", {**patient, "HCPCS": "E0601", "Amended": "yes"}))
        running.drain()
        ledger = running.runtime.ledger
        (amended_key,) = {d["order_key"] for d in ledger.deliveries()} - {earlier_key}
        assert ledger.order(amended_key).case["supersedes"] == earlier_key  # the supplier replaces, not adds
        assert ledger.order(earlier_key).stage == "delivered"  # what was delivered stays on record
        assert any(e["step"] == "superseded" and amended_key in e["detail"] for e in ledger.history(earlier_key))


def test_webhook_is_retried_with_backoff_and_delivered_once(tmp_path: Path) -> None:
    write_fax_orders(tmp_path / "fax", 2)
    with webhook_receiver(tmp_path, failures=2) as (url, log):
        settings = settings_for(tmp_path, webhook_url=url, webhook_backoff_seconds=0.05)
        with worker(settings) as running:
            running.drain()
            history = [e["detail"] for key in {d["order_key"] for d in running.runtime.ledger.deliveries()}
                       for e in running.runtime.ledger.history(key) if e["step"] == "webhook"]
        requests = webhook_log(log)
    outcomes = Counter((r["order"], r["outcome"]) for r in requests)
    orders = {r["order"] for r in requests}
    assert len(orders) == 2
    for order in orders:
        assert outcomes[(order, "failed")] == 2 and outcomes[(order, "accepted")] == 1
    assert all(r["key"].startswith(f"{r['order']}#") for r in requests)
    assert history == ["accepted after 3 attempt(s)"] * 2


def test_a_webhook_that_never_answers_fails_the_order_visibly(tmp_path: Path) -> None:
    write_fax_orders(tmp_path / "fax", 1)
    settings = settings_for(tmp_path, webhook_url=f"http://127.0.0.1:{free_port()}/closed", webhook_attempts=2,
                            webhook_backoff_seconds=0.01)
    with worker(settings) as running:
        running.drain()
        counts = running.counts()
        deliveries = {d["destination"] for d in running.runtime.ledger.deliveries()}
    assert counts.failed == 1 and counts.delivered == 0
    assert deliveries == {"folder", "csv"}  # the other destinations still got the order


def test_replay_delivers_again_only_when_the_result_changed(tmp_path: Path) -> None:
    from dbos import DBOS, SetWorkflowID

    from osler.dme.pipeline import workflows

    write_fax_orders(tmp_path / "fax", 1)
    settings = settings_for(tmp_path)
    with worker(settings) as running:
        running.drain()
        (key,) = {d["order_key"] for d in running.runtime.ledger.deliveries()}
        with SetWorkflowID("replay-1"):
            assert DBOS.start_workflow(workflows.replay, key).get_result() == "unchanged"
        # a stricter rule set: the same documents now reach another decision
        running.runtime.stages = STAGES.__class__(**{**STAGES.__dict__,
                                                      "decide": lambda case: Decision("needs-review")})
        with SetWorkflowID("replay-2"):
            assert DBOS.start_workflow(workflows.replay, key).get_result() == "changed: delivered"
        deliveries = running.runtime.ledger.deliveries(key)
        row = running.runtime.ledger.order(key)
    assert Counter(d["destination"] for d in deliveries) == {"folder": 2, "csv": 2}
    assert row.decision == "needs-review"
    assert [r["decision"] for r in billing(tmp_path / "billing.csv")] == ["missing", "needs-review"]
    assert not list((tmp_path / "out").glob("*.request.txt"))  # nothing is missing any more


# ----------------------------------------------------------------------- kill -9 and restart


def progress(tmp_path: Path) -> tuple[int, int]:
    """(faxes still in the inbox, orders delivered to the folder)."""
    inbox = sum(path.is_file() for path in (tmp_path / "fax").iterdir())
    return inbox, len(list((tmp_path / "out").glob("*.json")))


def test_every_order_is_delivered_exactly_once_across_sigkills(tmp_path: Path) -> None:
    orders = 24
    write_fax_orders(tmp_path / "fax", orders, studies=8)
    rng = random.Random(5)
    with webhook_receiver(tmp_path) as (url, log):
        env = {**os.environ, "OSLER_HOME": str(tmp_path), "OSLER_DME_FAX_FOLDER": str(tmp_path / "fax"),
               "OSLER_DME_OUTPUT_FOLDER": str(tmp_path / "out"), "OSLER_DME_CSV_PATH": str(tmp_path / "billing.csv"),
               "OSLER_DME_WEBHOOK_URL": url, "OSLER_DME_STAGES": STAND_INS, "OSLER_DME_CASE_DEADLINE_HOURS": "0"}
        command = [sys.executable, "-m", "osler.cli", "dme", "run", "--once"]
        # Kill points chosen at random along the work, by what has happened rather than by the clock, so
        # they land mid-work however fast this machine is: twice while faxes are still being taken in,
        # four times between deliveries.
        faxes = progress(tmp_path)[0]
        kill_points = [(0, left) for left in sorted(rng.sample(range(1, faxes), 2), reverse=True)]
        kill_points += [(1, delivered) for delivered in sorted(rng.sample(range(1, orders), 4))]
        progress_at_kills = []
        for measure, target in kill_points:
            process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while process.poll() is None and time.monotonic() < deadline:
                now = progress(tmp_path)
                if (now[0] <= target) if measure == 0 else (now[1] >= target):
                    break
                time.sleep(0.01)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                progress_at_kills.append(progress(tmp_path))
            process.wait()
        final = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        requests = webhook_log(log)
    repeats = sum(r["outcome"] == "repeat" for r in requests)
    print(f"SIGKILLs at (faxes left, orders delivered) {progress_at_kills}; "
          f"{repeats} repeated webhook POST(s) of an accepted key")
    mid_work = [p for p in progress_at_kills if p[1] < orders]
    assert len(mid_work) >= 3, f"too few kills landed in the middle of the work: {progress_at_kills}"
    assert final.returncode == 0, final.stderr[-2000:]

    from osler.dme.pipeline.ledger import Ledger

    ledger = Ledger(load_dme_settings(home=str(tmp_path / "dme")).ledger_url)
    deliveries = ledger.deliveries()
    ledger.close()
    per_destination = Counter(d["destination"] for d in deliveries)
    assert per_destination == {"folder": orders, "webhook": orders, "csv": orders}
    assert len({d["order_key"] for d in deliveries}) == orders
    assert len(list((tmp_path / "out").glob("*.pdf"))) == orders
    assert len(list((tmp_path / "out").glob("*.json"))) == orders
    rows = billing(tmp_path / "billing.csv")
    assert len(rows) == orders and len({r["order_key"] for r in rows}) == orders
    accepted = Counter(r["order"] for r in requests if r["outcome"] == "accepted")
    assert len(accepted) == orders and set(accepted.values()) == {1}
    assert Counter(r["decision"] for r in rows) == {"qualified": 8, "missing": orders - 8}


# ---------------------------------------------------------------- two workers, one PostgreSQL


@pytest.mark.postgres
def test_two_workers_share_one_postgresql_queue(tmp_path: Path, postgres_cluster) -> None:
    url = postgres_cluster.create_database("osler_dme_two_workers")
    orders = 20
    write_fax_orders(tmp_path / "fax", orders)
    env = {**os.environ, "OSLER_HOME": str(tmp_path), "OSLER_DME_FAX_FOLDER": str(tmp_path / "fax"),
           "OSLER_DME_OUTPUT_FOLDER": str(tmp_path / "out"), "OSLER_DME_CSV_PATH": str(tmp_path / "billing.csv"),
           "OSLER_DME_STAGES": STAND_INS, "OSLER_DME_CASE_DEADLINE_HOURS": "0", "OSLER_DME_DATABASE_URL": url,
           "OSLER_DME_CONCURRENCY": "2", "OSLER_TEST_STAND_IN_READ_DELAY_S": "0.25"}
    workers = [subprocess.Popen([sys.executable, "-m", "osler.cli", "dme", "run", "--once"], cwd=REPO,
                                env={**env, "OSLER_DME_EXECUTOR_ID": f"worker-{n}"}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True) for n in range(2)]
    for process in workers:
        _, error = process.communicate(timeout=300)
        assert process.returncode == 0, error[-2000:]

    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        executors = Counter(conn.execute(text("SELECT executor_id FROM dbos.workflow_status "
                                              "WHERE name LIKE '%intake'")).scalars())
        delivered = conn.execute(text("SELECT count(*), count(DISTINCT order_key) FROM dme_deliveries "
                                      "WHERE destination = 'folder'")).one()
    engine.dispose()
    assert set(executors) == {"worker-0", "worker-1"}, executors  # both workers took orders off the queue
    assert sum(executors.values()) == orders
    assert tuple(delivered) == (orders, orders)
    assert len(list((tmp_path / "out").glob("*.pdf"))) == orders
    assert len({r["order_key"] for r in billing(tmp_path / "billing.csv")}) == orders
