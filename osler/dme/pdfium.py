"""The one lock every use of PDFium in this process holds: PDFium may not be called from two threads at once,
not even for different documents (a crash or a corrupted heap otherwise). The corpus generator's scans hold
it; the OCR renders in a child process of its own (``osler.dme.text.render``)."""

from __future__ import annotations

import threading

PDFIUM = threading.RLock()
