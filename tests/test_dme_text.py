"""Reading received files (osler.dme.text): text layers where usable and OCR only where not, images to PDF,
fragments put in order, and every kind of unreadable file refused with its reason. OCR runs the real
Tesseract on a few small pages."""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from fpdf import FPDF
from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter

from osler.dme.text import UnreadableDocument, assemble, clean, read_pages, render, to_pdf, usable_text_layer
from osler.dme.text.assemble import page_marker
from osler.dme.text.ocr import text_from_tsv

REPO = Path(__file__).resolve().parent.parent

SENTENCE = "The patient uses her CPAP machine every night without trouble"


def text_pdf(*pages: str, font_size: int = 14) -> bytes:
    pdf = FPDF(format="letter")
    pdf.set_font("Helvetica", size=font_size)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


def rasterized(pdf: bytes, *, dpi: int = 150) -> Image.Image:
    """The first page of ``pdf`` as a greyscale picture, as a scanner or fax machine would send it."""
    with tempfile.TemporaryDirectory() as workdir:
        source = Path(workdir) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-singlefile", str(source),
                        str(Path(workdir) / "page")], check=True)
        with Image.open(Path(workdir) / "page.png") as image:
            image.load()
            return image.copy()


def image_pdf(*pages: str) -> bytes:
    """A PDF whose pages are pictures only (no text layer)."""
    frames = [rasterized(text_pdf(text)) for text in pages]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:], dpi=(150, 150))
    return to_pdf(out.getvalue(), "image/tiff")


def merged(*pdfs: bytes) -> bytes:
    writer = PdfWriter()
    for pdf in pdfs:
        for page in PdfReader(io.BytesIO(pdf)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_only_pages_without_a_usable_text_layer_are_ocred() -> None:
    digital = text_pdf("Detailed written order for a CPAP device with heated humidifier, ordered by the treating "
                       "physician after the face to face evaluation of the patient.")
    scanned = image_pdf(SENTENCE)
    pages = read_pages(merged(digital, scanned, digital), document="t" * 64, ocr_processes=2)
    assert [page.source for page in pages] == ["text-layer", "ocr", "text-layer"]
    assert [page.number for page in pages] == [1, 2, 3]
    assert pages[0].ocr_confidence is None
    assert "humidifier" in pages[0].text


def test_ocr_reads_a_rendered_page() -> None:
    (page,) = read_pages(image_pdf(SENTENCE), document="t" * 64)
    assert page.source == "ocr"
    assert " ".join(page.text.split()) == SENTENCE
    assert page.ocr_confidence is not None and page.ocr_confidence > 80


@pytest.mark.parametrize(("text", "usable"), [
    ("Patient seen today for follow up of obstructive sleep apnea; uses CPAP nightly with good benefit.", True),
    ("Signed electronically by Maria Lopez MD on behalf of the ordering practice today", True),
    ("FROM: 555-201-3300  03/14/2025 10:22  P.002/005", False),
    ("", False),
    ("ÿþ#$%&'()*+,-./0123 \x01\x02 Ã©Ã¨ ~~~ |||| qzxw bcdfg hjklm npqrst vwxz", False),
])
def test_usable_text_layer_rule(text: str, usable: bool) -> None:
    assert usable_text_layer(text) is usable


def encrypted(pdf: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def empty_pdf() -> bytes:
    out = io.BytesIO()
    PdfWriter().write(out)
    return out.getvalue()


@pytest.mark.parametrize(("make", "reason"), [
    (lambda: b"", "empty file"),
    (lambda: b"Hello, this is a plain text file and not a PDF at all", "not a PDF"),
    (lambda: b"%PDF-1.7\n" + bytes(range(256)) * 8, "corrupt PDF"),
    (lambda: text_pdf("x")[:300], "corrupt PDF"),
    (lambda: encrypted(text_pdf("secret order"), "letmein"), "encrypted: needs a password"),
    (empty_pdf, "empty PDF: no pages"),
    (lambda: text_pdf(*["page"] * 4), "too many pages: 4 (limit 3)"),
    (lambda: text_pdf(" "), "blank: no text on any page"),
])
def test_unreadable_files_are_refused_with_their_reason(make, reason: str) -> None:
    with pytest.raises(UnreadableDocument) as refused:
        read_pages(make(), document="t" * 64, max_pages=3)
    assert refused.value.reason.startswith(reason)


def test_encrypted_pdf_that_opens_with_an_empty_password_is_read() -> None:
    words = "Standard written order for oxygen concentrator two liters per minute continuous use at home"
    (page,) = read_pages(encrypted(text_pdf(words), ""), document="t" * 64)
    assert page.source == "text-layer" and "concentrator" in page.text


def test_multipage_tiff_becomes_one_pdf_page_per_frame() -> None:
    frames = [Image.new("1", (1728, 2200), 1) for _ in range(3)]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:], compression="group4", dpi=(204, 196))
    pdf = to_pdf(out.getvalue(), "image/tiff")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 3
    assert round(float(reader.pages[0].mediabox.width)) == round(1728 / 204 * 72)


@pytest.mark.parametrize(("image_format", "mode"), [("PNG", "RGB"), ("JPEG", "RGB"), ("PNG", "RGBA")])
def test_png_and_jpeg_become_pdf(image_format: str, mode: str) -> None:
    out = io.BytesIO()
    Image.new(mode, (300, 400), (255, 255, 255, 0) if mode == "RGBA" else "white").save(out, format=image_format)
    pdf = to_pdf(out.getvalue(), f"image/{image_format.lower()}")
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    page = rasterized(pdf, dpi=20)
    assert page.convert("L").getextrema()[0] > 200  # transparent stays paper-white, not black


def test_to_pdf_refuses_what_it_cannot_convert() -> None:
    with pytest.raises(UnreadableDocument, match="unsupported file type"):
        to_pdf(b"PK\x03\x04", "application/zip")
    with pytest.raises(UnreadableDocument, match="corrupt or unreadable image"):
        to_pdf(b"not an image at all", "image/tiff")


def fragment(part: int, total: int, marker: str) -> bytes:
    body = (f"Sleep study report continued. This part of the faxed document describes the findings of the "
            f"overnight recording, section {part}.")
    return text_pdf(marker.format(part=part, total=total) + "\n" + body)


@pytest.mark.parametrize("marker", ["Page {part} of {total}", "Part {part}/{total}", "FAX P.{part:03d}/{total:03d}"])
def test_fragments_are_assembled_in_marker_order(marker: str) -> None:
    fragments = [fragment(part, 3, marker) for part in (3, 1, 2)]
    texts = page_texts(assemble(fragments))
    assert [text.split("section ")[1][0] for text in texts] == ["1", "2", "3"]


@pytest.mark.parametrize(("text", "number"), [("Page lof2", 1), ("page I of 3", 1), ("FAX P.O1O/012", 10),
                                             ("Pg 10/12", 10), ("Page 7", 7), ("page lot of things", None),
                                             ("no marker here", None)])
def test_page_markers_survive_ocr_digit_confusions(text: str, number: int | None) -> None:
    assert page_marker(text) == number


def test_fragments_without_markers_keep_the_given_order() -> None:
    fragments = [text_pdf(f"Progress note continued, paragraph {name}, the plan is discussed with the patient "
                          f"and family today.") for name in ("C", "A", "B")]
    assert [text.split("paragraph ")[1][0] for text in page_texts(assemble(fragments))] == ["C", "A", "B"]


def test_scanned_fragments_are_ordered_by_their_ocred_markers() -> None:
    fragments = [image_pdf(f"Page {part} of 2\n\n{SENTENCE} ({part})") for part in (2, 1)]
    pages = read_pages(assemble(fragments), document="t" * 64)
    assert [page_marker(page.text.splitlines()[0]) for page in pages] == [1, 2]
    assert [page.text.endswith(f"({part})") for part, page in zip((1, 2), pages, strict=True)] == [True, True]



# ------------------------------------------------------------------------------------ scanned forms

FORM_ROWS = [("Patient Name:", "Clarence S. Dunleavy"), ("Date of Birth:", "Jan 3, 1958"),
             ("Med Rec No:", "1600252"), ("Study Date:", "Oct 5, 2025")]


def bordered_form_pdf() -> bytes:
    """A facesheet-like page: a title and a label/value table with every cell bordered."""
    pdf = FPDF(format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, "Patient Face Sheet", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    with pdf.table(borders_layout="ALL", col_widths=(35, 65), first_row_as_headings=False) as table:
        for label, value in FORM_ROWS:
            table.row([label, value])
    return bytes(pdf.output())


def skewed_scan(pdf: bytes, degrees: float) -> Image.Image:
    return rasterized(pdf, dpi=200).convert("L").rotate(degrees, resample=Image.Resampling.BILINEAR, fillcolor=255)


def test_skew_is_measured_and_table_rules_are_erased() -> None:
    page = skewed_scan(bordered_form_pdf(), 1.5)
    assert abs(clean.skew_angle(page) + 1.5) <= 0.1
    cleaned = np.asarray(clean.clean_page(page)) < clean.INK
    longest_rule = max(run for row in cleaned for run in _runs_of_ink(row))
    assert longest_rule < page.width * clean.HORIZONTAL_RULE_SHARE  # no rule is left, only letters
    assert cleaned.sum() > 0.4 * (np.asarray(page) < clean.INK).sum()  # the text stays


def test_a_straight_fax_header_does_not_hide_the_skew_of_the_page_below_it() -> None:
    page = skewed_scan(text_pdf("Sleep Study Report\nPatient: Doe, Jane\nStudy date: 03/02/2025\nAHI 23.4"), 1.5)
    header = ImageDraw.Draw(page)
    for left in range(20, page.width - 40, 22):  # a full-width line of dense type, stamped straight on top
        header.rectangle((left, 10, left + 18, 35), fill=0)
    assert abs(clean.skew_angle(page)) < clean.MIN_ROTATION  # the whole page's profile: the header wins
    cleaned = clean.clean_page(page)
    top = round(page.height * clean.FAX_HEADER_SHARE)
    assert abs(clean.skew_angle(cleaned.crop((0, top, page.width, page.height)))) < clean.MIN_ROTATION
    assert (np.asarray(cleaned.crop((0, 0, page.width, top))) == np.asarray(page.crop((0, 0, page.width, top)))).all()


def _runs_of_ink(row: np.ndarray) -> list[int]:
    edges = np.flatnonzero(np.diff(np.concatenate(([0], row.astype(np.int8), [0]))))
    return [int(end - start) for start, end in zip(edges[::2], edges[1::2], strict=True)] or [0]


def _pixels_in_long_runs(ink: np.ndarray, length: int) -> np.ndarray:
    """Reference for ``clean._runs`` along rows: every pixel of a run of at least ``length``, found run by run."""
    marked = np.zeros_like(ink)
    for number, row in enumerate(ink):
        edges = np.flatnonzero(np.diff(np.concatenate(([0], row.astype(np.int8), [0]))))
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            if end - start >= length:
                marked[number, start:end] = True
    return marked


@pytest.mark.parametrize("length", [7, 8, 31])
def test_rule_runs_are_exactly_the_pixels_of_long_straight_runs(length: int) -> None:
    rng = np.random.default_rng(length)
    ink = rng.random((120, 200)) < 0.45  # short runs everywhere
    ink[10, 5:5 + length] = True  # a run exactly as long as a rule
    ink[20, 0:length - 1] = True  # one pixel short, at the left edge
    ink[30, 200 - length:] = True  # at the right edge
    ink[40:120, 60] = True  # a vertical rule
    assert np.array_equal(clean._runs(ink, length, axis=1), _pixels_in_long_runs(ink, length))
    assert np.array_equal(clean._runs(ink, length, axis=0), _pixels_in_long_runs(ink.T, length).T)
    assert clean._runs(np.zeros((5, 40), dtype=bool), length, axis=1) is None  # no run at all


def test_specks_far_from_text_go_and_dots_near_text_stay() -> None:
    ink = np.zeros((400, 400), dtype=bool)
    ink[100:130, 100:250] = True  # "text": one big blob
    ink[133:135, 180:182] = True  # a dot just below it: kept
    ink[300:303, 300:303] = True  # a speck far from anything: removed
    ink[350:360, 20:24] = True  # a speck of 40 pixels is too big to be one: kept
    rows, columns = clean._specks(ink)
    assert set(zip(rows.tolist(), columns.tolist(), strict=True)) == {(r, c) for r in range(300, 303)
                                                                      for c in range(300, 303)}


def test_a_cleaned_page_file_is_left_bilevel_for_tesseract(tmp_path: Path) -> None:
    path = tmp_path / "page.pgm"
    skewed_scan(bordered_form_pdf(), 1.5).save(path)
    clean.clean_page_file(path)
    with Image.open(path) as page:
        assert page.mode == "1" and page.size == skewed_scan(bordered_form_pdf(), 1.5).size
        assert 0 < (np.asarray(page) == 0).mean() < 0.2  # some ink, mostly paper


def test_bordered_form_is_read_row_by_row_after_cleaning() -> None:
    out = io.BytesIO()
    skewed_scan(bordered_form_pdf(), -1.2).save(out, format="TIFF", dpi=(200, 200))
    (page,) = read_pages(to_pdf(out.getvalue(), "image/tiff"), document="t" * 64)
    lines = [" ".join(line.split()) for line in page.text.splitlines()]
    # every label with its value on one line (OCR may still misread a character of it: "Oct $, 2025")
    for label, value in FORM_ROWS:
        assert any(line.startswith(f"{label} {value[:3]}") for line in lines), (label, lines)


# ------------------------------------------------------------------------------------ the renderer


def test_the_renderer_reports_what_pdfium_refuses(tmp_path: Path) -> None:
    document = tmp_path / "document.pdf"
    document.write_bytes(text_pdf("One page only"))
    assert render.render_page(document, 1, 72).is_file()
    with pytest.raises(render.RenderFailed, match="has 1 page"):
        render.render_page(document, 2, 72)
    document.write_bytes(b"%PDF-1.4 nothing else")
    with pytest.raises(render.RenderFailed, match="PDFium cannot open it"):
        render.render_page(document, 1, 72)


def test_a_crashed_renderer_fails_one_page_and_the_next_page_gets_a_new_one(tmp_path: Path) -> None:
    document = tmp_path / "document.pdf"
    document.write_bytes(text_pdf("One page only"))
    render.render_page(document, 1, 72)
    for child in list(render._pool._processes.values()):  # what a PDFium crash does to it
        child.kill()
        child.join()
    with pytest.raises(render.RenderFailed, match="crashed"):
        render.render_page(document, 1, 72)
    assert render.render_page(document, 1, 72).is_file()


_RENDER_IN_A_CHILD = '''
import multiprocessing, sys, tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

def render_one(text_pdf_bytes):
    from osler.dme.text import render
    source = Path(tempfile.mkdtemp()) / "a.pdf"
    source.write_bytes(text_pdf_bytes)
    return render.render_page(source, 1, 72).is_file()

if __name__ == "__main__":
    pdf = Path(sys.argv[1]).read_bytes()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        print(list(pool.map(render_one, [pdf])))
'''


def test_a_process_that_rendered_still_exits(tmp_path: Path) -> None:
    """Multiprocessing waits for a child's children before the executor's clean-up: the renderer must be
    stopped first, or an evaluation worker that OCRed a page would never exit."""
    (tmp_path / "a.pdf").write_bytes(text_pdf("One page only"))
    (tmp_path / "child.py").write_text(_RENDER_IN_A_CHILD)
    done = subprocess.run([sys.executable, str(tmp_path / "child.py"), str(tmp_path / "a.pdf")], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[True]"


def _tsv_row(line: int, word: int, left: int, width: int, height: int, text: str) -> str:
    return "\t".join(map(str, (5, 1, 1, 1, line, word, left, 100 * line, width, height, 95.0, text)))


def test_a_thin_lone_four_is_read_as_the_one_it_is() -> None:
    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    tsv = "\n".join([header,
                     _tsv_row(1, 1, 10, 80, 29, "A7035"), _tsv_row(1, 2, 200, 13, 29, "4"),  # a 1's thin stroke
                     _tsv_row(2, 1, 10, 80, 29, "A7038"), _tsv_row(2, 2, 200, 20, 29, "4"),  # a real 4
                     _tsv_row(3, 1, 10, 90, 29, "at"), _tsv_row(3, 2, 200, 13, 51, "4"),  # a box not the glyph's
                     _tsv_row(3, 3, 250, 90, 29, "liters"), _tsv_row(4, 1, 10, 90, 29, "4-wheel")])
    text, _confidence = text_from_tsv(tsv)
    assert text.splitlines() == ["A7035 1", "A7038 4", "at 4 liters", "4-wheel"]
