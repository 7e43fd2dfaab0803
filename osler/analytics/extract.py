"""The extract: the Chronicle's change feed since the watermark → part files per resource type.

Epic counterpart: the nightly Chronicles → Clarity extract. Each run reads the change feed from the
watermark up to the newest sequence number seen when it starts, reads the current version of every
resource it names in bulk, and writes one part per resource type (``<Type>/part-<from>-<to>.<ext>``).
Parts are written into a hidden run directory first and moved into place only once all are complete;
the watermark is written last. So a run with nothing new writes nothing, and a failed run leaves the
extract and its watermark as they were. ``full`` extracts everything and replaces the whole extract.
One run at a time per extract directory: a second concurrent run fails at once (``ExtractBusy``).
"""

from __future__ import annotations

import fcntl
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from osler.analytics.layout import EXTRACT_FORMATS, AnalyticsLayout
from osler.analytics.parts import open_part
from osler.analytics.watermark import Watermark, read_watermark, write_watermark
from osler.chronicle.records import Actor
from osler.chronicle.store import Chronicle
from osler.fhir.instants import format_instant, now_us

EXTRACTOR = Actor("osler-etl", "analytics extract")
FEED_PAGE = 5000
READ_BATCH = 2000


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


def changed_resources(chronicle: Chronicle, since: int, upto: int) -> dict[str, dict[str, int]]:
    """Resource type → id → the newest sequence number of its changes in (since, upto]."""
    changed: dict[str, dict[str, int]] = defaultdict(dict)
    seq = since
    while seq < upto:
        page = chronicle.changes_since(seq, FEED_PAGE)
        if not page:
            break
        for change in page:
            if change.seq > upto:
                return changed
            changed[change.res_type][change.res_id] = change.seq
        seq = page[-1].seq
    return changed


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
    changed = changed_resources(chronicle, since, upto)
    total = sum(len(ids) for ids in changed.values())
    incoming = target.parent / f".{target.name}-incoming-{report.run}"
    shutil.rmtree(incoming, ignore_errors=True)  # the leftovers of an interrupted run of the same range
    try:
        done = 0
        for res_type in sorted(changed):
            seqs = changed[res_type]
            writer = open_part(incoming / res_type, report.run, output_format)
            try:
                ids = sorted(seqs)
                for start in range(0, len(ids), READ_BATCH):
                    batch = chronicle.read_current_many(res_type, ids[start:start + READ_BATCH], actor=EXTRACTOR)
                    report.resources[res_type] = report.resources.get(res_type, 0) + writer.write(batch, seqs)
                    done += len(batch)
                    if on_progress is not None:
                        on_progress(res_type, done, total)
            finally:
                writer.close()
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
