"""The analytics extract: the change feed since the watermark → Parquet (or NDJSON) parts per resource type."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from osler.analytics import pipeline
from osler.analytics.extract import ExtractBusy, exclusive, extract
from osler.analytics.layout import AnalyticsLayout
from osler.analytics.parts import PARQUET_SCHEMA, ParquetPart
from osler.analytics.transform import TransformReport
from osler.analytics.watermark import read_watermark
from osler.chronicle.export import SCAN_SHARE, ExportBatch, export_changed
from osler.chronicle.store import Chronicle


def patient(res_id: str, family: str) -> dict:
    return {"resourceType": "Patient", "id": res_id, "name": [{"family": family}], "gender": "female"}


def observation(res_id: str, patient_id: str) -> dict:
    return {"resourceType": "Observation", "id": res_id, "status": "final", "code": {"text": "pulse"},
            "subject": {"reference": f"Patient/{patient_id}"}, "valueQuantity": {"value": 72, "unit": "/min"}}


def populate(chronicle: Chronicle) -> None:
    for n in range(3):
        chronicle.update("Patient", f"p{n}", patient(f"p{n}", f"Family{n}"))
    chronicle.update("Observation", "o1", observation("o1", "p0"))


def parts(layout: AnalyticsLayout, res_type: str) -> list[Path]:
    return sorted((layout.extract_dir() / res_type).glob("part-*.parquet"))


def rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def test_first_run_extracts_every_resource_at_its_current_version(chronicle: Chronicle, tmp_path: Path) -> None:
    populate(chronicle)
    chronicle.update("Patient", "p0", patient("p0", "Renamed"))
    layout = AnalyticsLayout.under(tmp_path)
    report = extract(chronicle, layout)
    assert report.resources == {"Patient": 3, "Observation": 1}
    assert report.upto == chronicle.last_sequence() == 5
    [part] = parts(layout, "Patient")
    assert part.name == "part-000000000001-000000000005.parquet"
    assert pq.read_schema(part).equals(PARQUET_SCHEMA)
    by_id = {row["res_id"]: row for row in rows(part)}
    assert by_id["p0"]["version"] == 2 and orjson.loads(by_id["p0"]["resource"])["name"][0]["family"] == "Renamed"
    assert by_id["p0"]["seq"] == 5 and not by_id["p0"]["deleted"]
    assert read_watermark(layout.watermark_file()).seq == 5


def test_a_rerun_with_nothing_new_writes_nothing(chronicle: Chronicle, tmp_path: Path) -> None:
    populate(chronicle)
    layout = AnalyticsLayout.under(tmp_path)
    first = extract(chronicle, layout)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    watermark = layout.watermark_file().read_bytes()
    again = extract(chronicle, layout)
    assert again.total == 0 and again.run == "" and again.upto == first.upto
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert layout.watermark_file().read_bytes() == watermark


def test_a_change_puts_only_that_resource_in_the_next_part(chronicle: Chronicle, tmp_path: Path) -> None:
    populate(chronicle)
    layout = AnalyticsLayout.under(tmp_path)
    extract(chronicle, layout)
    chronicle.update("Patient", "p1", patient("p1", "Married"))
    chronicle.delete("Patient", "p2")
    report = extract(chronicle, layout)
    assert report.resources == {"Patient": 2}
    assert report.run == "000000000005-000000000006"
    newest = parts(layout, "Patient")[-1]
    assert newest.name == f"part-{report.run}.parquet" and len(parts(layout, "Patient")) == 2
    by_id = {row["res_id"]: row for row in rows(newest)}
    assert set(by_id) == {"p1", "p2"}
    assert by_id["p1"]["version"] == 2
    assert by_id["p2"]["deleted"] and by_id["p2"]["resource"] is None
    assert len(parts(layout, "Observation")) == 1
    assert read_watermark(layout.watermark_file()).seq == 6


def test_a_failure_mid_run_leaves_the_extract_and_its_watermark(chronicle: Chronicle, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    populate(chronicle)
    layout = AnalyticsLayout.under(tmp_path)
    extract(chronicle, layout)
    watermark = read_watermark(layout.watermark_file())
    chronicle.update("Observation", "o2", observation("o2", "p1"))
    chronicle.update("Patient", "p1", patient("p1", "Later"))
    written = ParquetPart.write

    def fail_on_patients(self: ParquetPart, batch: ExportBatch) -> int:
        if batch.res_type == "Patient":  # whether or not Observation's part was written by then
            raise OSError("disk full")
        return written(self, batch)

    monkeypatch.setattr(ParquetPart, "write", fail_on_patients)
    with pytest.raises(OSError, match="disk full"):
        extract(chronicle, layout)
    assert read_watermark(layout.watermark_file()) == watermark
    assert len(parts(layout, "Observation")) == len(parts(layout, "Patient")) == 1
    assert not [p for p in layout.root.rglob("*") if "incoming" in p.name]
    monkeypatch.undo()
    retried = extract(chronicle, layout)
    assert retried.resources == {"Observation": 1, "Patient": 1} and retried.since == watermark.seq


def test_full_replaces_the_extract_with_everything(chronicle: Chronicle, tmp_path: Path) -> None:
    populate(chronicle)
    layout = AnalyticsLayout.under(tmp_path)
    extract(chronicle, layout)
    chronicle.update("Patient", "p1", patient("p1", "Changed"))
    extract(chronicle, layout)
    assert len(parts(layout, "Patient")) == 2
    report = extract(chronicle, layout, full=True)
    assert report.since == 0 and report.resources == {"Patient": 3, "Observation": 1}
    [part] = parts(layout, "Patient")
    assert {row["res_id"] for row in rows(part)} == {"p0", "p1", "p2"}
    assert read_watermark(layout.watermark_file()).seq == chronicle.last_sequence()


def test_ndjson_is_one_valid_resource_per_line_without_deletions(chronicle: Chronicle, tmp_path: Path) -> None:
    populate(chronicle)
    chronicle.delete("Patient", "p2")
    layout = AnalyticsLayout.under(tmp_path)
    report = extract(chronicle, layout, output_format="ndjson")
    assert report.resources == {"Patient": 2, "Observation": 1}
    [patients] = sorted((layout.extract_dir("ndjson") / "Patient").glob("part-*.ndjson"))
    lines = patients.read_text().splitlines()
    resources = [orjson.loads(line) for line in lines]
    assert sorted(r["id"] for r in resources) == ["p0", "p1"]
    assert all(r["resourceType"] == "Patient" for r in resources)
    # Each format keeps its own watermark: the Parquet extract has not started yet.
    assert read_watermark(layout.watermark_file("ndjson")).seq == chronicle.last_sequence()
    assert read_watermark(layout.watermark_file("parquet")).seq == 0


@pytest.mark.parametrize("scan_share", [SCAN_SHARE, 0], ids=["scan-or-lookup", "lookup"])
def test_the_export_reads_in_batches_and_keeps_tombstones(chronicle: Chronicle, scan_share: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("osler.chronicle.export.SCAN_SHARE", scan_share)  # 0: never one pass over the table
    populate(chronicle)
    chronicle.delete("Patient", "p2")
    batches = list(export_changed(chronicle, 0, chronicle.last_sequence(), batch_rows=2))
    assert max(len(batch) for batch in batches) <= 2
    by_id = {row["res_id"]: row for batch in batches if batch.res_type == "Patient"
             for row in batch.table.to_pylist()}
    assert set(by_id) == {"p0", "p1", "p2"}
    assert by_id["p2"]["deleted"] and by_id["p2"]["content"] is None
    assert orjson.loads(by_id["p0"]["content"])["name"][0]["family"] == "Family0"


def test_a_second_concurrent_run_is_refused(chronicle: Chronicle, tmp_path: Path) -> None:
    populate(chronicle)
    layout = AnalyticsLayout.under(tmp_path)
    with exclusive(layout.extract_dir()), pytest.raises(ExtractBusy, match="another extract"):
        extract(chronicle, layout)
    assert extract(chronicle, layout).total == 4


def test_a_failed_build_is_retried_by_the_next_run_and_a_current_one_is_not(
        chronicle: Chronicle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    populate(chronicle)
    layout = AnalyticsLayout.under(tmp_path)
    outcomes = [TransformReport(failures=["PAT_ENC: error"]), TransformReport(models_built=1)]
    builds: list[TransformReport] = []

    def build(*_: object, **__: object) -> TransformReport:
        builds.append(outcomes[len(builds)])
        return builds[-1]

    monkeypatch.setattr(pipeline, "build", build)
    assert pipeline.run_etl(chronicle, layout).transform is outcomes[0]
    retried = pipeline.run_etl(chronicle, layout)  # nothing new to extract, but the warehouse is behind
    assert retried.extract.total == 0 and retried.transform is outcomes[1]
    assert pipeline.run_etl(chronicle, layout).transform is None and len(builds) == 2


def osler(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "osler.cli", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OSLER_HOME": str(home), **(env or {})})


def test_etl_ndjson_from_the_command_line_then_nothing_new(tmp_path: Path) -> None:
    chronicle = Chronicle.open(f"sqlite:///{tmp_path / 'osler.db'}")
    populate(chronicle)
    chronicle.close()
    first = osler("etl", "--format", "ndjson", home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "extracted 4 resources of 2 type(s) (changes 1 to 4)" in first.stderr
    assert "built" not in first.stderr  # NDJSON is for Bulk Data consumers: no dbt build
    again = osler("etl", "--format", "ndjson", home=tmp_path)
    assert again.returncode == 0 and "nothing new since change 4" in again.stderr


def test_etl_with_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = osler("etl", home=tmp_path, env={"OSLER_DATABASE_URL": "nosuchdb://x"})
    assert result.returncode == 1
    assert "cannot open the database" in result.stderr and "Traceback" not in result.stderr
