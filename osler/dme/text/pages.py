"""Reading a PDF's pages: refuse what cannot be read (with the reason the pipeline quarantines under), take
each page's text layer when it is usable and OCR only the pages where it is not.

A text layer is *usable* when it carries at least ``MIN_REAL_WORDS`` word-like tokens and they make up at
least ``MIN_REAL_SHARE`` of its non-numeric tokens. A word-like token is 2+ letters (after trimming
punctuation) with a vowel and no run of more than five consonants; numbers and identifiers are neutral.
The rule rejects empty layers, a lone fax-header line over a scanned image, and the symbol soup a broken
font encoding extracts to, while a short but genuine digital page (a signature page) still has 10 words.
"""

from __future__ import annotations

import io
import logging
import re

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from osler.dme.model import Page
from osler.dme.text.ocr import OcrFailed, ocr_pages

log = logging.getLogger(__name__)

MAX_PAGES = 300
MIN_REAL_WORDS = 10
MIN_REAL_SHARE = 0.7
PDF_MAGIC = b"%PDF-"
MAGIC_WINDOW = 1024  # the PDF spec lets readers accept a header anywhere in the first 1,024 bytes

_EDGE_PUNCTUATION = "\"'()[]{}<>.,;:!?*-_/\\|#"
_WORDLIKE = re.compile(r"^(?=.*[aeiouy])(?!.*[b-df-hj-np-tv-z]{6})[a-z][a-z'\u2019-]*[a-z]$", re.IGNORECASE)
_NUMERIC = re.compile(r"^[\d$%.,:/()+#-]+$")


class UnreadableDocument(Exception):
    """A file the pipeline cannot read; ``reason`` is the short sentence it is quarantined under."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def usable_text_layer(text: str) -> bool:
    """True when the extracted text layer is real text (the module docstring gives the rule)."""
    tokens = [token.strip(_EDGE_PUNCTUATION) for token in text.split()]
    tokens = [token for token in tokens if token and not _NUMERIC.match(token)]
    if not tokens:
        return False
    real = sum(1 for token in tokens if _WORDLIKE.match(token))
    return real >= MIN_REAL_WORDS and real / len(tokens) >= MIN_REAL_SHARE


def open_pdf(pdf: bytes, *, max_pages: int = MAX_PAGES) -> PdfReader:
    """A reader over ``pdf``, or ``UnreadableDocument`` saying why there is none."""
    if not pdf:
        raise UnreadableDocument("empty file")
    if PDF_MAGIC not in pdf[:MAGIC_WINDOW]:
        raise UnreadableDocument("not a PDF")
    try:
        reader = PdfReader(io.BytesIO(pdf))
        if reader.is_encrypted and not _opens_with_empty_password(reader):
            raise UnreadableDocument("encrypted: needs a password")
        count = len(reader.pages)
    except UnreadableDocument:
        raise
    except Exception as error:  # pypdf raises many types for damaged files; all mean the same here
        raise UnreadableDocument(f"corrupt PDF ({type(error).__name__})") from error
    if count == 0:
        raise UnreadableDocument("empty PDF: no pages")
    if count > max_pages:
        raise UnreadableDocument(f"too many pages: {count} (limit {max_pages})")
    return reader


def _opens_with_empty_password(reader: PdfReader) -> bool:
    try:
        return bool(reader.decrypt(""))
    except (PdfReadError, NotImplementedError, ValueError):
        return False


def text_layers(reader: PdfReader) -> list[str]:
    """Each page's extracted text layer ("" where there is none)."""
    texts = []
    for page in reader.pages:
        try:
            texts.append(page.extract_text() or "")
        except Exception as error:
            raise UnreadableDocument(f"corrupt PDF page ({type(error).__name__})") from error
    return texts


def read_pages(pdf: bytes, *, document: str, ocr_processes: int = 2, max_pages: int = MAX_PAGES) -> list[Page]:
    """The pages of ``pdf`` with their text: the text layer where usable, else Tesseract OCR of that page."""
    reader = open_pdf(pdf, max_pages=max_pages)
    layers = text_layers(reader)
    pages = {number: Page(number, text, "text-layer")
             for number, text in enumerate(layers, start=1) if usable_text_layer(text)}
    to_ocr = [number for number in range(1, len(layers) + 1) if number not in pages]
    if to_ocr:
        try:
            pages.update((page.number, page) for page in ocr_pages(pdf, to_ocr, processes=ocr_processes))
        except OcrFailed as error:
            raise UnreadableDocument(f"corrupt PDF: a page could not be rendered ({error})") from error
    log.debug("document %s: %d pages, %d OCRed", document[:12], len(layers), len(to_ocr))
    ordered = [pages[number] for number in sorted(pages)]
    if not any(page.text.strip() for page in ordered):
        raise UnreadableDocument("blank: no text on any page")
    return ordered
