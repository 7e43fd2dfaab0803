"""OCR of PDF pages: PDFium renders a page to a 300 dpi greyscale PGM (in a child process of its own:
``render``), ``clean`` straightens it, erases table rules and specks and leaves it bilevel, and Debian's
``tesseract`` reads it (TSV output, so one run gives the text and each word's confidence), with
``OMP_THREAD_LIMIT=1`` so that pages, not Tesseract's threads, are what runs in parallel. PGM rather than PNG
because compressing and decompressing a 300 dpi page costs more than a second on this machine's cores, for
nothing: the file lives only until Tesseract has read it.

Most of the work happens in child processes (the renderer, one ``tesseract`` per page); threads clean pages
(NumPy, SciPy and OpenCV release the GIL for most of it), hand work to the children and wait, so pages run in
parallel without forking the (possibly durable-workflow) worker that calls us.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from osler.dme.model import Page
from osler.dme.text import render
from osler.dme.text.clean import clean_page_file

DPI = 300
TESSERACT = "tesseract"
LANGUAGE = "eng"
# Page segmentation 4, one column of lines of any size: a form's label and its value, however far apart, stay
# on one line. The default (3, automatic) takes a wide gap for a column break and reads every label of a
# grid or table first and every value after them, which loses what belongs to which.
PAGE_SEGMENTATION = "4"
PAGE_TIMEOUT_S = 180
LONE_ONE_WIDTH_SHARE = 0.5  # a lone "4" this much narrower than tall is a 1 (``_line_text``)
LINE_HEIGHT_SLACK = 1.25  # …when no taller than this times the line's median word
_TESSERACT_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}


class OcrFailed(Exception):
    """A page could not be rendered or read."""


def ocr_pages(pdf: bytes, page_numbers: list[int], *, processes: int = 2, dpi: int = DPI) -> list[Page]:
    """OCR the given 1-based pages of ``pdf``, up to ``processes`` pages at a time; pages in the given order.

    One thread renders and cleans pages ahead, in order, while Tesseract reads the ones already prepared, so
    that preparing overlaps recognition; at most ``processes + 1`` rendered pages wait on disk at any time."""
    if not page_numbers:
        return []
    with tempfile.TemporaryDirectory(prefix="osler-ocr-") as workdir:
        source = Path(workdir) / "document.pdf"
        source.write_bytes(pdf)
        if len(page_numbers) == 1:
            (number,) = page_numbers
            return [_read(number, _prepared_page(source, number, dpi))]
        workers = max(1, min(processes, len(page_numbers)))
        waiting = threading.BoundedSemaphore(workers + 1)

        def render(number: int) -> Path:
            waiting.acquire()
            return _prepared_page(source, number, dpi)

        def read(number: int, rendered: Future[Path]) -> Page:
            try:
                return _read(number, rendered.result())
            finally:
                waiting.release()

        with ThreadPoolExecutor(max_workers=1) as renderer, ThreadPoolExecutor(max_workers=workers) as readers:
            images = [renderer.submit(render, number) for number in page_numbers]
            return list(readers.map(read, page_numbers, images))


def _prepared_page(source: Path, number: int, dpi: int) -> Path:
    """A page rendered and cleaned for Tesseract. Cleaning belongs to the render-ahead thread, not to the
    readers: with one page at a time it then runs on the core Tesseract leaves free (NumPy, SciPy and OpenCV
    release the GIL for it)."""
    image = render_page(source, number, dpi)
    try:
        clean_page_file(image)
    except BaseException:
        image.unlink(missing_ok=True)
        raise
    return image


def _read(number: int, image: Path) -> Page:
    try:
        text, confidence = ocr_image(image)
    finally:
        image.unlink(missing_ok=True)
    return Page(number, text, "ocr", confidence)


def render_page(source: Path, number: int, dpi: int = DPI) -> Path:
    """Render one page of the PDF at ``source`` to a greyscale PGM beside it (``render``); the image's path."""
    try:
        return render.render_page(source, number, dpi)
    except render.RenderFailed as error:
        raise OcrFailed(str(error)) from None


def ocr_image(image: Path) -> tuple[str, float | None]:
    """Tesseract's text of an image and its mean word confidence (0..100; None when no word was read)."""
    tsv = _run([TESSERACT, str(image), "stdout", "-l", LANGUAGE, "--psm", PAGE_SEGMENTATION, "tsv"], "tesseract")
    return text_from_tsv(tsv)


def text_from_tsv(tsv: str) -> tuple[str, float | None]:
    """Rebuild plain text from Tesseract's TSV: words joined by spaces, lines by newlines, a blank line
    between blocks; and the mean confidence of the recognised words."""
    lines: list[str] = []
    confidences: list[float] = []
    current_line: tuple[str, ...] | None = None
    current_block = None
    words: list[_Word] = []
    for row in tsv.splitlines()[1:]:
        columns = row.split("\t")
        if len(columns) < 12 or columns[0] != "5":  # level 5 rows are words
            continue
        word = columns[11].strip()
        if not word:
            continue
        line_key = tuple(columns[1:5])
        if line_key != current_line:
            if words:
                lines.append(_line_text(words))
            if current_block is not None and columns[2] != current_block:
                lines.append("")
            words, current_line, current_block = [], line_key, columns[2]
        words.append(_Word(word, width=int(columns[8]), height=int(columns[9])))
        if float(columns[10]) >= 0:
            confidences.append(float(columns[10]))
    if words:
        lines.append(_line_text(words))
    confidence = round(sum(confidences) / len(confidences), 1) if confidences else None
    return "\n".join(lines), confidence


@dataclass(frozen=True)
class _Word:
    text: str
    width: int  # of its ink box, in pixels
    height: int


def _line_text(words: list[_Word]) -> str:
    """A line's words joined by spaces, a lone "4" read as the 1 it is when its ink box — as tall as the line's
    other words, so that the box is the glyph's own — is under half as wide as tall: Tesseract now and then
    reads a thin 1 standing alone (a table's quantity) as a 4, and a 4 is about two thirds as wide as tall in
    the usual typefaces."""
    heights = sorted(word.height for word in words)
    typical_height = heights[len(heights) // 2]
    return " ".join("1" if word.text == "4" and word.height <= LINE_HEIGHT_SLACK * typical_height
                    and word.width < LONE_ONE_WIDTH_SHARE * word.height else word.text for word in words)


def _run(command: list[str], what: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, env=_TESSERACT_ENV, timeout=PAGE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as error:
        raise OcrFailed(f"{what}: timed out") from error
    if done.returncode != 0:
        raise OcrFailed(f"{what}: exit {done.returncode}")
    return done.stdout.decode("utf-8", errors="replace")
