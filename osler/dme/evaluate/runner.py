"""The in-process runner: the pipeline's own stage functions (read → understand → dedupe → match →
qualify) run in this process over an inbox, so the scores measure the code the pipeline runs, without its
durable machinery."""

from __future__ import annotations

import multiprocessing
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from osler.dme.corpus import MEDIA_TYPES
from osler.dme.evaluate.results import CaseResult, DocumentResult, EvaluationRun
from osler.dme.evaluate.scoring import DROPS
from osler.dme.pipeline.fragments import fragment_mark_in, fragment_set

if TYPE_CHECKING:
    from osler.dme.matching import Match
    from osler.dme.model import Document, OrderCase


def _read(path: Path) -> tuple[str, bytes, list[Any] | str]:
    """Read one inbox file into (name, PDF bytes, pages) — or the reason it is unreadable. Runs in a worker."""
    from osler.dme import text
    from osler.dme.model import sha256

    data = path.read_bytes()
    media_type = MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    try:
        pdf = data if media_type == "application/pdf" else text.to_pdf(data, media_type)
        return path.name, pdf, text.read_pages(pdf, document=sha256(pdf))
    except text.UnreadableDocument as error:
        return path.name, data, str(error)


def match_in_sweeps(documents: list[tuple[list[str], Document]], cases: list[OrderCase],
             match: Callable[[Document, list[OrderCase]], Match]) -> Iterator[tuple[list[str], str]]:
    """Attach each supporting document whose case ``match`` finds certain — (its files, the case key) — sweep
    after sweep as the pipeline does: a case that gained a document (a facesheet stating the birth date its
    scanned order lost) may make a document left waiting certain."""
    by_key = {case.key: case for case in cases}
    waiting = documents
    while waiting:
        left: list[tuple[list[str], Document]] = []
        for names, document in waiting:
            found = match(document, cases)
            if found.attach and found.case_key is not None:
                by_key[found.case_key].documents.append(document)
                yield names, found.case_key
            else:
                left.append((names, document))
        if len(left) == len(waiting):
            return
        waiting = left


def in_process_runner(*, processes: int = 2) -> Callable[[Path], EvaluationRun]:
    """A runner doing what the pipeline does, stage by stage, with the pipeline's own functions: read (OCR where
    needed, files in parallel), put fragments together, classify and extract, drop duplicates, match documents
    to orders, decide. Documents are taken in arrival (file name) order; a repeat that reads more than the copy
    kept takes its place; supporting documents are matched once every order is known, sweep after sweep until
    no more attach, as the pipeline does by a case's deadline."""

    def run(inbox: Path) -> EvaluationRun:
        from osler.dme import dedupe, matching, qualify, text, understand
        from osler.dme.model import Document, DocumentKind, OrderCase, Page, fill_from, sha256

        started = time.perf_counter()
        paths = sorted(p for p in inbox.iterdir() if p.is_file())
        # spawned, not forked: a forked child would inherit the page renderer's child process and hang on it at exit
        with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn")) as pool:
            read = list(pool.map(_read, paths))
        results: dict[str, DocumentResult] = {}
        units: list[tuple[list[str], bytes, list[Page]]] = []  # (input files, PDF, pages)
        fragments: dict[tuple[str, int], list[tuple[int, str, bytes, list[Page]]]] = defaultdict(list)
        for name, pdf, pages in read:
            if isinstance(pages, str):
                results[name] = DocumentResult(kind=None, quarantined=pages)
                continue
            mark = fragment_mark_in(pages[0].text) if pages else None
            if mark:
                fragments[fragment_set(fragments, mark)].append((mark.part, name, pdf, pages))
            else:
                units.append(([name], pdf, pages))
        for parts in fragments.values():
            parts.sort()
            pages = [Page(i, page.text, page.source, page.ocr_confidence)
                     for i, page in enumerate((page for part in parts for page in part[3]), 1)]
            units.append(([part[1] for part in parts], text.assemble([part[2] for part in parts]), pages))
        units.sort(key=lambda unit: unit[0][0])

        file_of: dict[str, str] = {}
        documents: list[tuple[list[str], Document]] = []
        deduper = dedupe.Deduper()
        for names, pdf, pages in units:
            digest = sha256(pdf)
            file_of.setdefault(digest, names[0])
            document = Document(digest, f"fax:{names[0]}", names[0], "application/pdf", pages)
            document.kind, document.kind_confidence = understand.classify(document)
            document.fields = understand.extract(document) if document.kind != DocumentKind.NON_DME else {}
            verdict = deduper.check(document)
            takes_place = verdict.verdict in DROPS and bool(verdict.richer)
            if verdict.verdict not in DROPS or takes_place:
                deduper.add(document)
            for name in names:
                results[name] = DocumentResult(document.kind.value, {n: f.value for n, f in document.fields.items()},
                                               verdict.verdict, file_of.get(verdict.of or ""))
            if takes_place:  # a repeat reading more than the copy kept goes on in its place, as the router does
                for _, kept in documents:
                    if kept.sha256 == verdict.of:
                        fill_from(document, kept)
                documents = [(kept_names + names, document) if kept.sha256 == verdict.of else (kept_names, kept)
                             for kept_names, kept in documents]
            else:
                documents.append((names, document))

        cases: dict[str, OrderCase] = {}
        case_of_file: dict[str, str] = {}
        for names, document in documents:  # orders open cases; an amended order replaces the one it amends
            result = results[names[0]]
            if document.kind != DocumentKind.DME_ORDER or result.dedupe in DROPS:
                continue
            cases[document.sha256] = OrderCase(document.sha256, document.source, [document])
            other = case_of_file.get(result.dedupe_of or "")
            if result.dedupe == "supersedes" and other in cases:
                cases[other].superseded_by = document.sha256
            elif result.dedupe == "superseded" and other in cases:
                cases[document.sha256].superseded_by = other
            case_of_file.update(dict.fromkeys(names, document.sha256))
        live = [case for case in cases.values() if case.superseded_by is None]
        supporting = [(names, document) for names, document in documents if results[names[0]].dedupe not in DROPS
                      and document.kind not in (DocumentKind.DME_ORDER, DocumentKind.NON_DME)]
        for names, case_key in match_in_sweeps(supporting, live, matching.match):
            case_of_file.update(dict.fromkeys(names, case_key))
        for name, result in results.items():  # a dropped copy belongs where its original went
            result.case = case_of_file.get(name) or case_of_file.get(result.dedupe_of or "")
        decided: dict[str, CaseResult] = {}
        for case in live:
            case.fields = qualify.merge_fields(case)
            decision = qualify.decide(case)
            decided[case.key] = CaseResult(decision.status, [m.code for m in decision.missing])
        return EvaluationRun(results, decided, time.perf_counter() - started)

    return run
