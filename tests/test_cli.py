"""The `osler` command line: help a newcomer understands, loading, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson


def osler(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "osler.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OSLER_HOME": str(home), **(env or {})})


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = osler("--help", home=tmp_path)
    assert result.returncode == 0
    for command in ("serve", "load", "db"):
        assert command in result.stdout


def test_db_upgrade_creates_the_store(tmp_path: Path) -> None:
    result = osler("db", "upgrade", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "revision 0004" in result.stderr
    assert (tmp_path / "osler.db").exists()


def test_load_ndjson_is_resumable_and_reports_rate(tmp_path: Path) -> None:
    ndjson = tmp_path / "patients.ndjson"
    lines = [{"resourceType": "Patient", "id": f"p{n}", "name": [{"family": f"Ndjson{n}"}]} for n in range(1200)]
    ndjson.write_bytes(b"\n".join(orjson.dumps(line) for line in lines))
    first = osler("load", str(ndjson), home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "loaded 1,200 resources from 3 unit(s)" in first.stderr and "resources/s" in first.stderr
    # Append lines: the first chunks are skipped, only the new tail is loaded.
    lines += [{"resourceType": "Patient", "id": "p-late", "name": [{"family": "Late"}]}]
    ndjson.write_bytes(b"\n".join(orjson.dumps(line) for line in lines))
    second = osler("load", str(ndjson), home=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "loaded 201 resources from 1 unit(s), skipped 2 already loaded" in second.stderr


def test_load_reports_a_bad_file_in_one_line_and_exits_non_zero(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}}]}))
    bad = tmp_path / "bad.json"
    bad.write_text("{ this is not json")
    result = osler("load", str(good), str(bad), home=tmp_path)
    assert result.returncode == 1
    assert "loaded 1 resources" in result.stderr
    assert "bad.json: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_path_is_one_clear_line(tmp_path: Path) -> None:
    result = osler("load", str(tmp_path / "absent"), home=tmp_path)
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_bad_database_url_is_one_clear_line(tmp_path: Path) -> None:
    result = osler("db", "upgrade", home=tmp_path, env={"OSLER_DATABASE_URL": "nosuchdb://x"})
    assert result.returncode == 1
    assert "cannot upgrade the database" in result.stderr and "Traceback" not in result.stderr
