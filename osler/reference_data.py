"""The reference data kept beside a checkout (``../shared/data``): where it is and how to unpack it.

Tests, benchmarks and demos read it from there rather than from copies in the repository.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SYNTHEA_ARCHIVE = SHARED_DATA / "synthea-r4-100.tgz"


def extract_json_members(archive: Path, target: Path) -> int:
    """Write every ``*.json`` member of a tar archive into ``target`` by base name; how many there were.

    Only base names are used, so nothing can land outside ``target``; four names in the Synthea
    archive end in ``.json"`` (a quoting slip upstream) and lose the stray quote.
    """
    count = 0
    with tarfile.open(archive) as tar:
        for member in tar:
            name = Path(member.name).name.rstrip('"')
            if not member.isfile() or not name.endswith(".json"):
                continue
            source = tar.extractfile(member)
            if source is None:
                continue
            with source:
                (target / name).write_bytes(source.read())
            count += 1
    return count
