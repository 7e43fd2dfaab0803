"""Fragments of one document (separate faxes, a re-sent page) into one PDF in the right order.

Order comes from the first page of each fragment: a "Page 2 of 3" / "Part 2 of 3" / "Pg 2/3" marker, or
a fax header's page number ("P.002/003"). The first page's text layer is used when usable; otherwise only
the top and bottom bands of the page, where those markers live, are OCRed. When every fragment has a
number and the numbers are distinct they decide the order; otherwise the given order stands.
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

from PIL import Image
from pypdf import PdfReader, PdfWriter

from osler.dme.text.ocr import OcrFailed, ocr_image, render_page
from osler.dme.text.pages import open_pdf, usable_text_layer
from osler.dme.understand.normalize import fold_digits

MARKER_DPI = 200
BAND_SHARE = 0.12  # the top and bottom 12 % of a page: fax header line, page footer

# A page number as OCR may read it: "1" seen as l, I or |, "0" as O (a scanned "Page 1 of 2" comes back as
# "Page lof2"); ``fold_digits`` turns those back into digits.
_NUMBER = r"([\dlI|O]{1,3})"
_MARKERS = (
    re.compile(rf"\b(?:page|pg|part|sheet)\.?\s*#?\s*{_NUMBER}\s*(?:of|/)\s*{_NUMBER}(?![\w])", re.IGNORECASE),
    re.compile(rf"\bp\.?\s*{_NUMBER}\s*/\s*{_NUMBER}(?![\w])", re.IGNORECASE),
    re.compile(r"\b(?:page|pg|p)\.?\s*(\d{1,3})\b(?!\s*(?:of|/))", re.IGNORECASE),
)


def assemble(fragments: list[bytes]) -> bytes:
    """One PDF of all pages of ``fragments``, fragments ordered by their page/part markers when they all have
    one; unreadable fragments raise ``UnreadableDocument``."""
    readers = [open_pdf(fragment) for fragment in fragments]
    order = _marker_order([_first_page_marker(fragment, reader) for fragment, reader in zip(fragments, readers,
                                                                                             strict=True)])
    writer = PdfWriter()
    for index in order:
        for page in readers[index].pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page_marker(text: str) -> int | None:
    """The page or part number a marker in ``text`` gives, the first pattern that matches winning."""
    for pattern in _MARKERS:
        found = pattern.search(text)
        if found:
            return int(fold_digits(found.group(1)))
    return None


def _marker_order(markers: list[int | None]) -> list[int]:
    numbered = [marker for marker in markers if marker is not None]
    if len(numbered) != len(markers) or len(set(numbered)) != len(numbered):
        return list(range(len(markers)))
    return sorted(range(len(markers)), key=lambda index: markers[index])


def _first_page_marker(fragment: bytes, reader: PdfReader) -> int | None:
    text = reader.pages[0].extract_text() or ""
    if usable_text_layer(text) or page_marker(text) is not None:
        return page_marker(text)
    try:
        return page_marker(_ocr_bands(fragment))
    except OcrFailed:
        return None


def _ocr_bands(fragment: bytes) -> str:
    """OCR of the first page's top and bottom bands, stacked into one image."""
    with tempfile.TemporaryDirectory(prefix="osler-assemble-") as workdir:
        source = Path(workdir) / "fragment.pdf"
        source.write_bytes(fragment)
        with Image.open(render_page(source, 1, MARKER_DPI)) as page:
            band = int(page.height * BAND_SHARE)
            stacked = Image.new(page.mode, (page.width, 2 * band), 255)
            stacked.paste(page.crop((0, 0, page.width, band)), (0, 0))
            stacked.paste(page.crop((0, page.height - band, page.width, page.height)), (0, band))
        bands = Path(workdir) / "bands.png"
        stacked.save(bands)
        return ocr_image(bands)[0]
