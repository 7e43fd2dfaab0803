"""``osler dme``: run a fax inbox through the pipeline, then look at it with status, show, quarantine and
replay — and every user mistake answered with one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from osler.cli import app
from tests.dme_stand_ins import dme_pdf
from tests.test_dme_pipeline import REPO, STAND_INS, write_fax_orders


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"OSLER_HOME": str(tmp_path), "OSLER_DME_FAX_FOLDER": str(tmp_path / "fax"),
            "OSLER_DME_OUTPUT_FOLDER": str(tmp_path / "out"), "OSLER_DME_STAGES": STAND_INS,
            "OSLER_DME_CASE_DEADLINE_HOURS": "0", "OSLER_CONFIG": str(tmp_path / "no-osler.toml")}


def osler(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "osler.cli", "dme", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def test_run_then_status_show_quarantine_and_replay(tmp_path: Path, env: dict[str, str]) -> None:
    env = {**os.environ, **env}
    write_fax_orders(tmp_path / "fax", 2, studies=1)
    (tmp_path / "fax" / "empty.pdf").write_bytes(b"")
    ran = osler(env, "run", "--once")
    assert ran.returncode == 0, ran.stderr
    assert "2 delivered, 1 quarantined, 0 need review, 0 failed" in ran.stderr
    assert "discovered" in ran.stderr  # the live counts table

    status = osler(env, "status")
    assert status.returncode == 0
    assert "delivered" in status.stdout and "qualified" in status.stdout and "missing" in status.stdout

    quarantine = osler(env, "quarantine")
    assert "empty.pdf" in quarantine.stdout and "not a readable PDF" in quarantine.stdout

    record = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    sha = record["key"].removeprefix("fax:")
    shown = osler(env, "show", sha[:10])
    assert shown.returncode == 0, shown.stderr
    for expected in (record["key"], "patient_name", "order-00", "p. 1", "fetched", "routed", "delivered to folder"):
        assert expected in shown.stdout, expected

    replayed = osler(env, "replay", sha[:10])
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == f"{record['key']}: unchanged"


runner = CliRunner()


@pytest.mark.parametrize(("args", "extra_env", "message"), [
    (["show", "nothing"], {}, "no DME pipeline has run under"),
    (["status"], {"OSLER_DME_CONCURRENCY": "many"}, "bad DME setting"),
    (["status"], {"OSLER_DME_CASE_DEADLINE_HOURS": "-1"}, "case_deadline_hours must be ≥ 0"),
    (["run", "--once"], {"OSLER_DME_FAX_FOLDER": "", "OSLER_DME_FHIR_URL": "http://127.0.0.1:9/fhir"},
     "the FHIR source needs the supplier's Organization id"),
    (["run", "--once"], {"OSLER_DME_FAX_FOLDER": ""}, "no source configured"),
    (["run", "--once"], {"OSLER_DME_OUTPUT_FOLDER": ""}, "no destination configured"),
    (["evaluate", "--corpus", "/nonexistent"], {}, "holds no labelled corpus"),
    (["review", "--reject"], {}, "no DME pipeline has run under"),
])
def test_user_mistakes_are_one_line_and_exit_non_zero(tmp_path: Path, env: dict[str, str], args: list[str],
                                                        extra_env: dict[str, str], message: str) -> None:
    result = runner.invoke(app, ["dme", *args], env={**env, "OSLER_HOME": str(tmp_path / "empty"), **extra_env})
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_show_and_replay_need_a_known_order(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "fax").mkdir()
    (tmp_path / "fax" / "one.pdf").write_bytes(dme_pdf("DME ORDER", {"Patient": "Doe, Jane", "HCPCS": "E0601"}))
    assert osler({**os.environ, **env}, "run", "--once").returncode == 0
    unknown = runner.invoke(app, ["dme", "show", "feedface"], env=env)
    assert unknown.exit_code == 1 and "no order 'feedface'" in unknown.output
    assert runner.invoke(app, ["dme", "replay", "feedface"], env=env).exit_code == 1


def test_review_lists_a_waiting_document_and_a_person_attaches_it(tmp_path: Path, env: dict[str, str]) -> None:
    env = {**os.environ, **env, "COLUMNS": "250"}  # the queue table on one line per document
    fax = tmp_path / "fax"
    fax.mkdir()
    (fax / "order.pdf").write_bytes(dme_pdf("DME ORDER", {"Patient": "Doe, Jane", "DOB": "1950-01-01",
                                                          "HCPCS": "E0601"}))
    # The birth date read off the study disagrees with the order's (by more than one misread digit): no certain
    # match, a person decides.
    (fax / "study.pdf").write_bytes(dme_pdf("SLEEP STUDY", {"Patient": "Doe, Jane", "DOB": "1951-06-01",
                                                            "AHI": "31"}))
    assert osler(env, "run", "--once").returncode == 0
    record_path = next((tmp_path / "out").glob("*.json"))
    order_key = json.loads(record_path.read_text())["key"]
    assert json.loads(record_path.read_text())["decision"]["status"] == "missing"

    listed = osler(env, "review")
    assert listed.returncode == 0, listed.stderr
    assert "study.pdf" in listed.stdout and "sleep_study" in listed.stdout
    assert order_key[:16] in listed.stdout and "birth date differs" in listed.stdout

    assert "give --attach ORDER or --reject, not both" in osler(env, "review", "study.pdf", "--attach", order_key,
                                                                 "--reject").stderr
    attached = osler(env, "review", "study.pdf", "--attach", order_key)
    assert attached.returncode == 0, attached.stderr
    assert f"attached to {order_key}: qualified; delivered" in attached.stdout
    assert json.loads(record_path.read_text())["decision"]["status"] == "qualified"  # decided and delivered again
    assert "no document waits for a person" in osler(env, "review").stdout
    gone = osler(env, "review", "study.pdf", "--reject")
    assert gone.returncode == 1 and "no document 'study.pdf' waits for a person" in gone.stderr
