"""The extract: the Chronicle's change feed since the watermark → part files per resource type.

Epic counterpart: the nightly Chronicles → Clarity extract. Each run takes the current version of every
resource with a change between the watermark and the newest sequence number seen when it starts, in bulk
(``osler.chronicle.export``), and writes one part per resource type (``<Type>/part-<from>-<to>.<ext>``).
Parts are written into a hidden run directory first and moved into place only once all are complete;
the watermark is written last. So a run with nothing new writes nothing, and a failed run leaves the
extract and its watermark as they were. ``full`` extracts everything and replaces the whole extract.
One run at a time per extract directory: a second concurrent run fails at once (``ExtractBusy``).
"""

from __future__ import annotations

import fcntl
import shutil
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from osler.analytics.layout import EXTRACT_FORMATS, AnalyticsLayout
from osler.analytics.parts import PartWriter, open_part
from osler.analytics.watermark import Watermark, read_watermark, write_watermark
from osler.chronicle.export import ExportBatch, count_changes, export_changed
from osler.chronicle.records import Actor
from osler.chronicle.store import Chronicle
from osler.fhir.instants import format_instant, now_us

EXTRACTOR = Actor("osler-etl", "analytics extract")
WRITES_AHEAD = 2  # batches read but not yet written


class ExtractBusy(Exception):
    """Another extract into the same directory is running."""


@dataclass
class ExtractReport:
    run: str = ""
    since: int = 0  # the watermark the run started from
    upto: int = 0  # the watermark it reached (== since when there was nothing new)
    resources: dict[str, int] = field(default_factory=dict)  # rows written per resource type

    @property
    def total(self) -> int:
        return sum(self.resources.values())


def extract(chronicle: Chronicle, layout: AnalyticsLayout, *, full: bool = False, output_format: str = "parquet",
            on_progress: Callable[[str, int, int], None] | None = None) -> ExtractReport:
    """Extract what changed since the watermark (everything when ``full``); see the module docstring.

    ``on_progress(resource_type, done, total)`` is called after each batch, for a progress display.
    """
    if output_format not in EXTRACT_FORMATS:
        raise ValueError(f"unknown extract format {output_format!r}: use one of {', '.join(EXTRACT_FORMATS)}")
    target = layout.extract_dir(output_format)
    with exclusive(target):
        return _extract(chronicle, target, layout.watermark_file(output_format), full, output_format, on_progress)


@contextmanager
def exclusive(target: Path) -> Iterator[None]:
    """Hold the extract directory's lock (a file beside it, since a full run replaces the directory)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{target.name}.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExtractBusy(f"another extract into {target} is running; try again when it has finished") from None
        yield


def _extract(chronicle: Chronicle, target: Path, watermark_file: Path, full: bool, output_format: str,
             on_progress: Callable[[str, int, int], None] | None) -> ExtractReport:
    since = 0 if full else read_watermark(watermark_file).seq
    upto = chronicle.last_sequence()
    report = ExtractReport(since=since, upto=since)
    if upto <= since and not full:
        return report
    report.run = f"{since + 1:012d}-{upto:012d}"
    incoming = target.parent / f".{target.name}-incoming-{report.run}"
    shutil.rmtree(incoming, ignore_errors=True)  # the leftovers of an interrupted run of the same range
    try:
        _write_parts(chronicle, since, upto, incoming, report, output_format, on_progress)
        finished = Watermark(seq=upto, run=report.run, finished_at=format_instant(now_us()))
        if full:
            _replace_extract(incoming, target, watermark_file, finished)
        else:
            _publish_parts(incoming, target)
            write_watermark(watermark_file, finished)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    report.upto = upto
    return report


def _write_parts(chronicle: Chronicle, since: int, upto: int, incoming: Path, report: ExtractReport,
                 output_format: str, on_progress: Callable[[str, int, int], None] | None) -> None:
    """One part per resource type under ``incoming``, from the bulk export of the changes in (since, upto].

    Encoding and compressing runs in a second thread while the next batch is read: both release the GIL
    for most of their work, so the two overlap (measured on 317,810 resources: 6.0 s → 4.9 s).
    """
    total = count_changes(chronicle, since, upto)  # an upper bound: a resource changed twice is one row
    done = 0
    writers: dict[str, PartWriter] = {}

    def write(batch: ExportBatch) -> None:
        nonlocal done
        writer = writers.get(batch.res_type)
        if writer is None:
            writer = writers[batch.res_type] = open_part(incoming / batch.res_type, report.run, output_format)
        report.resources[batch.res_type] = report.resources.get(batch.res_type, 0) + writer.write(batch)
        done += len(batch)
        if on_progress is not None:
            on_progress(batch.res_type, done, max(total, done))

    try:
        with ThreadPoolExecutor(1, thread_name_prefix="osler-extract-writer") as writing:
            pending: deque[Future[None]] = deque()
            for batch in export_changed(chronicle, since, upto, actor=EXTRACTOR):
                pending.append(writing.submit(write, batch))
                while len(pending) > WRITES_AHEAD:  # bounded: memory stays a few batches, and errors surface
                    pending.popleft().result()
            while pending:
                pending.popleft().result()
    finally:
        for writer in writers.values():
            writer.close()
    if on_progress is not None:
        on_progress("", done, done)


def types_changed_since(target: Path, seq: int) -> set[str]:
    """The resource types of ``target`` (an extract directory) with a part holding changes after ``seq``."""
    changed = set()
    for part in target.glob("*/part-*"):
        upto = part.name.split(".")[0].rsplit("-", 1)[-1]  # part-<from>-<to>.<ext>
        if upto.isdigit() and int(upto) > seq:
            changed.add(part.parent.name)
    return changed


def _publish_parts(incoming: Path, target: Path) -> None:
    """Move a finished run's parts into the extract, type by type."""
    for part in sorted(incoming.glob("*/part-*")):
        destination = target / part.parent.name
        destination.mkdir(parents=True, exist_ok=True)
        part.replace(destination / part.name)


def _replace_extract(incoming: Path, target: Path, watermark_file: Path, finished: Watermark) -> None:
    """A full run: the new extract, its watermark inside, takes the old one's place in two renames."""
    write_watermark(incoming / watermark_file.name, finished)
    retired = target.parent / f".{target.name}-retired"
    shutil.rmtree(retired, ignore_errors=True)
    if target.exists():
        target.replace(retired)
    incoming.replace(target)
    shutil.rmtree(retired, ignore_errors=True)
