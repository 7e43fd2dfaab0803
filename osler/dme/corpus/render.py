"""Rendering: layout blocks → a digital PDF with a text layer (fpdf2), and a digital PDF → a "scanned" copy the
way a fax machine delivers it — rasterized, skewed, speckled, slightly blurred, with a fax header line — saved
as an image-only PDF or a multi-page TIFF. Deterministic for a given random generator."""

from __future__ import annotations

import io
import random
import threading
from datetime import datetime

import pypdf
import pypdfium2
from fpdf import FPDF
from fpdf.fonts import FontFace
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from osler.dme.corpus.layouts import Block

# PDFium may not be called from two threads at once, not even for different documents (a crash or a
# corrupted heap otherwise). The OCR renders in a child process of its own (osler.dme.text.render).
_PDFIUM = threading.Lock()
FIXED_CREATION = datetime(2025, 1, 1)  # fpdf2 stamps the creation date: fix it so a seed gives the same bytes
FAX_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
FONTS = ("helvetica", "times", "courier")


def to_pdf(blocks: list[Block], rng: random.Random, *, font: str | None = None) -> bytes:
    pdf = FPDF(format="letter")
    pdf.set_creation_date(FIXED_CREATION)
    pdf.set_margins(rng.choice((15, 18, 22)), rng.choice((12, 16, 20)))
    pdf.set_auto_page_break(True, margin=15)
    family = font or rng.choice(FONTS)
    size = rng.choice((9, 10, 10, 11))
    height = size * 0.5
    pdf.add_page()
    for block in blocks:
        if block.kind == "title":
            pdf.set_font(family, "B", size + 4)
            pdf.multi_cell(0, height + 3, block.text, align=rng.choice(("L", "C")), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif block.kind == "heading":
            pdf.ln(1)
            pdf.set_font(family, "B", size + 1)
            pdf.multi_cell(0, height + 1, block.text, new_x="LMARGIN", new_y="NEXT")
        elif block.kind == "space":
            pdf.ln(height)
        elif block.kind == "table":
            pdf.set_font(family, "", size)
            with pdf.table(borders_layout=block.borders, line_height=height + 1, first_row_as_headings=False,
                           headings_style=FontFace(emphasis="BOLD"), col_widths=block.widths) as table:
                for row in block.rows:
                    table.row([cell or " " for cell in row])
            pdf.ln(1)
        else:  # "line" and "paragraph": both wrap; a paragraph gets air after it
            pdf.set_font(family, "", size)
            pdf.multi_cell(0, height, block.text, new_x="LMARGIN", new_y="NEXT")
            if block.kind == "paragraph":
                pdf.ln(1)
    return bytes(pdf.output())


def resave(pdf: bytes, *, producer: str) -> bytes:
    """The same pages written out again by other software: different bytes, the same text."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    writer.add_metadata({"/Producer": producer})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _degrade(page: Image.Image, rng: random.Random, header: str) -> Image.Image:
    page = page.convert("L")
    page = page.rotate(rng.uniform(-2.0, 2.0), resample=Image.Resampling.BILINEAR, fillcolor=255)
    draw = ImageDraw.Draw(page)
    width, height = page.size
    for _ in range(rng.randint(300, 900)):  # speckle: toner dust and line noise
        x, y, r = rng.randrange(width), rng.randrange(height), rng.choice((0, 0, 1, 1, 2))
        draw.ellipse((x, y, x + r, y + r), fill=rng.randint(0, 90))
    draw.text((40, 12), header, fill=0, font=ImageFont.truetype(FAX_FONT, max(14, width // 80)))
    return page.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.8)))


def scan(pdf: bytes, rng: random.Random, *, header: str, dpi: int = 200, media: str = "pdf") -> bytes:
    """The document as a faxed scan: image-only, no text layer. ``header`` may hold ``{page}`` and ``{pages}``."""
    with _PDFIUM:
        document = pypdfium2.PdfDocument(pdf)
        try:
            rendered = []
            for page in document:
                bitmap = page.render(scale=dpi / 72, grayscale=True)
                rendered.append(bitmap.to_pil().copy())  # the bitmap's memory goes with it
                bitmap.close()
                page.close()
        finally:
            document.close()
    images = [_degrade(image, rng, header.format(page=number, pages=len(rendered)))
              for number, image in enumerate(rendered, 1)]
    out = io.BytesIO()
    if media == "tiff":
        bilevel = [image.point(lambda v: 255 if v > 150 else 0, mode="1") for image in images]
        bilevel[0].save(out, format="TIFF", compression="group4", save_all=True, append_images=bilevel[1:],
                        dpi=(dpi, dpi))
    else:
        images[0].save(out, format="PDF", resolution=float(dpi), save_all=True, append_images=images[1:],
                       creationDate=FIXED_CREATION.timetuple(), modDate=FIXED_CREATION.timetuple())
    return out.getvalue()
