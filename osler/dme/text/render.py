"""Rendering a PDF page to a greyscale PGM with PDFium, in a child process of its own.

PDFium (pypdfium2) renders a fax page in ~17 ms, a ``pdftoppm`` process per page takes ~110 ms on this
machine — but a PDF that crashed PDFium inside the pipeline's worker would take the worker down, and the
durable workflow would crash it again at every recovery. So PDFium runs in one long-lived child process per
worker process (spawned, never forked: the worker holds threads and database handles). The child renders one
page at a time, which is also all PDFium allows in a process; only paths cross the pipe. A crash or a hang
costs that page an ``OcrFailed`` (its document is quarantined with the reason) and the next page gets a new
child.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

RENDER_TIMEOUT_S = 60
STOP_GRACE_S = 5


class RenderFailed(Exception):
    """The page could not be rendered; the message says why."""


_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _forget_in_child() -> None:
    # A forked child must not use (or wait for) its parent's renderer: it starts its own when it needs one.
    global _pool
    _pool = None


def _stop_renderer() -> None:
    """At exit: let the renderer finish and go, or kill it if it does not within a moment."""
    pool = _pool
    if pool is None:
        return
    children = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for child in children:
        child.join(STOP_GRACE_S)
        if child.is_alive():
            child.kill()


os.register_at_fork(after_in_child=_forget_in_child)
# The renderer waits for work until told otherwise, and multiprocessing's exit handler waits for every child
# process before the executor's own clean-up runs: a process that had rendered would never exit. A finalizer
# with a priority runs before that wait.
multiprocessing.util.Finalize(None, _stop_renderer, exitpriority=20)


def render_page(source: Path, number: int, dpi: int) -> Path:
    """Render page ``number`` (1-based) of the PDF at ``source`` to a greyscale PGM beside it; its path."""
    target = source.with_name(f"page-{number}.pgm")
    pool = _renderer()
    try:
        error = pool.submit(_render, str(source), number, dpi, str(target)).result(timeout=RENDER_TIMEOUT_S)
    except BrokenProcessPool:
        _discard(pool)
        raise RenderFailed(f"render page {number}: the renderer crashed on this document") from None
    except FutureTimeout:
        _discard(pool)
        raise RenderFailed(f"render page {number}: timed out after {RENDER_TIMEOUT_S} s") from None
    if error is not None:
        raise RenderFailed(f"render page {number}: {error}")
    return target


def _renderer() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    """Drop a crashed or hung renderer; the next page starts a new one."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    # A hung child must be killed, not waited for (Python 3.14 names this ``kill_workers``).
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _render(source: str, number: int, dpi: int, target: str) -> str | None:
    """In the child: render and save; the reason as text when PDFium refuses (exceptions of pypdfium2 need not
    survive the trip back)."""
    import pypdfium2  # only the child loads PDFium

    try:
        document = pypdfium2.PdfDocument(source)
    except pypdfium2.PdfiumError as error:
        return f"PDFium cannot open it ({error})"
    try:
        if not 1 <= number <= len(document):
            return f"the document has {len(document)} page(s)"
        image = document[number - 1].render(scale=dpi / 72, grayscale=True).to_pil()
        image.convert("L").save(target, format="PPM")
    except pypdfium2.PdfiumError as error:
        return f"PDFium failed ({error})"
    finally:
        document.close()
    return None
