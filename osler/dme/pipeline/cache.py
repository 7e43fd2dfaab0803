"""The content-addressed cache: every fetched file and assembled PDF stored once under its sha256
(``cache/<sha[:2]>/<sha>``), written atomically, so a retried step reads what an earlier attempt fetched
instead of downloading it again, and ``replay`` re-runs the stages from the very same bytes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from osler.dme.model import sha256


class ContentCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        target = self.path(digest)
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        return digest

    def get(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()
