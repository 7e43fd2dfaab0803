"""The fax inbox: a watched folder where the fax server drops one PDF or TIFF per received fax.

Each ``.pdf``/``.tif``/``.tiff`` file is one item, keyed by the sha256 of its bytes (the same fax saved
twice is processed once). Files being written are skipped by name (dot files, ``.part``/``.tmp``): the
fax server should write under a temporary name and rename. Once the pipeline has durably recorded the
bytes, ``archive`` moves the file to ``processed/`` so the folder only holds what is still to do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from osler.dme.model import sha256
from osler.dme.sources.base import Discovered, FetchedFile, FetchedOrder
from osler.dme.sources.files import DOCUMENT_SUFFIXES, media_type

PROCESSED = "processed"


class FaxFolder:
    name = "fax"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processed = folder / PROCESSED

    def discover(self) -> Iterator[Discovered]:
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.iterdir()):
            if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in DOCUMENT_SUFFIXES:
                try:
                    digest = sha256(path.read_bytes())
                except FileNotFoundError:  # archived by another worker since we listed the folder
                    continue
                yield Discovered(f"fax:{digest}", self.name, {"filename": path.name, "sha256": digest})

    def fetch(self, item: Discovered) -> FetchedOrder:
        filename = item.ref["filename"]
        try:
            data = (self.folder / filename).read_bytes()
        except FileNotFoundError:  # a retried step after the move, or another worker archived it
            data = self._archived(item).read_bytes()
        return FetchedOrder(item.key, self.name, is_order=False,
                            files=[FetchedFile(f"fax:{filename}", filename, [(data, media_type(data, filename))])])

    def archive(self, item: Discovered) -> None:
        path = self.folder / item.ref["filename"]
        # another worker may archive the same file at the same moment: whoever moves it first wins
        with contextlib.suppress(FileNotFoundError):
            if sha256(path.read_bytes()) == item.ref["sha256"]:
                self.processed.mkdir(exist_ok=True)
                path.replace(self._archived(item))

    def _archived(self, item: Discovered) -> Path:
        return self.processed / f"{item.ref['sha256'][:12]}-{item.ref['filename']}"
