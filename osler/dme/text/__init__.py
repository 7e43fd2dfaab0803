"""Turning received files into page text: images to PDF, fragments into one PDF, and per page either the
PDF's own text layer (when it is usable) or Tesseract OCR. The only part of ``osler.dme`` that renders or
OCRs; everything downstream reads ``Page.text``."""

from osler.dme.text.assemble import assemble
from osler.dme.text.images import to_pdf
from osler.dme.text.ocr import ocr_pages
from osler.dme.text.pages import MAX_PAGES, UnreadableDocument, read_pages, usable_text_layer

__all__ = ["MAX_PAGES", "UnreadableDocument", "assemble", "ocr_pages", "read_pages", "to_pdf", "usable_text_layer"]
