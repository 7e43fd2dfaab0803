"""Media types of received files, by content first (fax servers name files carelessly), then by name."""

from __future__ import annotations

from pathlib import Path

DOCUMENT_SUFFIXES = {".pdf": "application/pdf", ".tif": "image/tiff", ".tiff": "image/tiff"}


def media_type(data: bytes, filename: str) -> str:
    if data.startswith(b"%PDF"):
        return "application/pdf"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if data.startswith(b"\x89PNG"):
        return "image/png"
    return DOCUMENT_SUFFIXES.get(Path(filename).suffix.lower(), "application/octet-stream")
