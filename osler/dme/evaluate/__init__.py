"""Scoring the pipeline against a labelled corpus: the whole corpus goes into one fax inbox, a runner processes
it and reports what it decided, and the answers are compared with the labels — classification accuracy and a
confusion matrix, field-level precision/recall/F1 (micro, per field, digital vs scanned), dedupe precision/recall
(a drop is a positive), how documents were attached to cases, and decision accuracy.

This module mixes the corpus into the inbox and hands it to a runner (``evaluate``, ``main``); ``runner``
runs the pipeline's own stages in process, ``results`` is what a runner reports, ``scoring`` compares it with
the labels (``values`` says when a value matches), ``scores`` holds and prints the tallies."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from osler.dme.corpus import LABELS_FILE, CorpusManifest, generate, write_inbox
from osler.dme.evaluate.results import CaseResult, DocumentResult, EvaluationRun
from osler.dme.evaluate.runner import in_process_runner
from osler.dme.evaluate.scores import Counts, Scores
from osler.dme.evaluate.scoring import score
from osler.dme.evaluate.values import FIELD_SCOPE, values_equal

__all__ = ["FIELD_SCOPE", "CaseResult", "Counts", "DocumentResult", "EvaluationRun", "Scores", "evaluate",
           "in_process_runner", "main", "score", "values_equal"]


def evaluate(corpus_dir: Path, *, run: Callable[[Path], EvaluationRun]) -> Scores:
    """Mix the corpus into one fax inbox, let ``run`` process it, and score what it decided."""
    manifest = CorpusManifest.load(corpus_dir)
    with tempfile.TemporaryDirectory(prefix="osler-dme-inbox-") as folder:
        inbox = Path(folder)
        mapping = write_inbox(manifest, inbox)
        started = time.perf_counter()
        outcome = run(inbox)
        seconds = time.perf_counter() - started
    documents = {mapping[name]: _renamed(result, mapping) for name, result in outcome.documents.items()
                 if name in mapping}
    return score(manifest, EvaluationRun(documents, outcome.cases, outcome.seconds or seconds))


def _renamed(result: DocumentResult, mapping: dict[str, str]) -> DocumentResult:
    return DocumentResult(**{**asdict(result), "dedupe_of": mapping.get(result.dedupe_of or "", result.dedupe_of)})


def main(*, cases: int, seed: int, console: Console, scanned_share: float = 0.5, corpus_dir: Path | None = None,
         processes: int = 2) -> Scores:
    """``osler dme evaluate``: score the pipeline's stages on a corpus — ``corpus_dir`` when it holds one
    (``labels.json``: say, a held-out corpus nobody tuned on), else one generated there or in a temporary
    folder from ``cases`` and ``seed``. Prints the tables and returns the scores."""
    with tempfile.TemporaryDirectory(prefix="osler-dme-corpus-") as scratch:
        root = corpus_dir or Path(scratch)
        if not (root / LABELS_FILE).exists():
            with console.status(f"Generating {cases} labelled cases (seed {seed})…"):
                generate(root, cases=cases, seed=seed, scanned_share=scanned_share)
        with console.status("Running the pipeline's stages over the mixed inbox…"):
            scores = evaluate(root, run=in_process_runner(processes=processes))
    console.print(scores)
    return scores
