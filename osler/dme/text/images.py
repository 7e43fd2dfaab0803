"""Faxed and scanned images (TIFF, multi-page included; PNG; JPEG) to one PDF, a page per frame, at the
image's own resolution so that OCR later renders it at its true size."""

from __future__ import annotations

import io

from PIL import Image, ImageSequence, UnidentifiedImageError

from osler.dme.text.pages import PDF_MAGIC, UnreadableDocument

IMAGE_TYPES = {"image/tiff", "image/tif", "image/png", "image/jpeg", "image/jpg"}
DEFAULT_DPI = 200.0  # fax "fine" resolution, for images that do not say theirs


def to_pdf(data: bytes, media_type: str) -> bytes:
    """``data`` as a PDF: a PDF is returned unchanged, an image becomes one page per frame."""
    media_type = media_type.split(";")[0].strip().lower()
    if media_type == "application/pdf":
        return data
    if media_type not in IMAGE_TYPES:
        raise UnreadableDocument(f"unsupported file type: {media_type or 'unknown'}")
    if data.startswith(PDF_MAGIC):
        return data
    try:
        with Image.open(io.BytesIO(data)) as image:
            dpi = _resolution(image)
            frames = [_pdf_ready(frame) for frame in ImageSequence.Iterator(image)]
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise UnreadableDocument(f"corrupt or unreadable image ({type(error).__name__})") from error
    if not frames:
        raise UnreadableDocument("empty image")
    out = io.BytesIO()
    frames[0].save(out, format="PDF", save_all=True, append_images=frames[1:], resolution=dpi)
    return out.getvalue()


def _resolution(image: Image.Image) -> float:
    dpi = image.info.get("dpi")
    if dpi and float(dpi[0]) >= 50:
        return float(dpi[0])
    return DEFAULT_DPI


def _pdf_ready(frame: Image.Image) -> Image.Image:
    """A copy of the frame in a mode the PDF writer takes (1-bit fax and greyscale stay small)."""
    if frame.mode in ("1", "L", "RGB"):
        return frame.copy()
    if frame.mode in ("I;16", "I", "F"):
        return frame.convert("L")
    if frame.mode in ("RGBA", "LA", "PA") or "transparency" in frame.info:
        # transparent pixels would turn black: lay the image on white paper
        paper = Image.new("RGB", frame.size, "white")
        rgba = frame.convert("RGBA")
        paper.paste(rgba, mask=rgba.getchannel("A"))
        return paper
    return frame.convert("RGB")
