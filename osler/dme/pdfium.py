"""The one lock every use of PDFium in a process holds: PDFium may not be called from two threads at once,
not even for different documents (a crash or a corrupted heap otherwise). The OCR's page rendering and the
corpus generator's scans both go through pypdfium2."""

from __future__ import annotations

import threading

PDFIUM = threading.RLock()
