"""The extract's watermark: the last change-feed sequence number it holds (Epic: Clarity's ETL run log).

Kept as a small JSON file beside the extract it describes, written last and atomically (write a temporary
file, then rename over the old one), so a failed run leaves the previous watermark untouched.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson


@dataclass(frozen=True)
class Watermark:
    seq: int = 0  # the newest change-feed sequence number extracted
    run: str = ""  # the name of the run that reached it (its part files carry the same name)
    finished_at: str = ""  # ISO instant, UTC


def read_watermark(path: Path) -> Watermark:
    """The saved watermark, or the start of the feed when there is none yet."""
    if not path.is_file():
        return Watermark()
    return Watermark(**orjson.loads(path.read_bytes()))


def write_watermark(path: Path, watermark: Watermark) -> None:
    """Replace the watermark atomically: readers see the old one or the new one, never half of either."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(orjson.dumps(asdict(watermark)))
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)
