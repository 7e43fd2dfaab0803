"""What a runner reports about one evaluation run: each input file's result (kind, fields, dedupe verdict,
case) and each case's decision, keyed by the runner's own names — the records the scoring compares with the
labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DocumentResult:
    """What the pipeline decided about one input file. The parts of a fragmented document each carry the
    assembled document's result."""

    kind: str | None
    fields: dict[str, Any] = field(default_factory=dict)  # field name → value (model.py vocabulary)
    dedupe: str = "unique"  # "unique" | "exact" | "near" | "supersedes" | "superseded" (an older version, late)
    dedupe_of: str | None = None  # the input file it duplicates, supersedes or is superseded by
    case: str | None = None  # the runner's case key it was attached to (None: set aside or awaiting review)
    quarantined: str | None = None


@dataclass
class CaseResult:
    status: str
    missing: list[str] = field(default_factory=list)


@dataclass
class EvaluationRun:
    documents: dict[str, DocumentResult]  # by input file name
    cases: dict[str, CaseResult]  # by the runner's case key
    seconds: float = 0.0
