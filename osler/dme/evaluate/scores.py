"""The evaluation's tallies — true/false positives and negatives per field and for dedupe, classification,
attachment and decision counts, the first mistakes of each kind — and how they print and serialize."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table

MAX_ERRORS_KEPT = 200


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_json(self) -> dict[str, float | int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class Scores:
    documents: int = 0
    cases: int = 0
    classified: int = 0
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # label kind → predicted kind → count
    fields: Counts = field(default_factory=Counts)
    fields_digital: Counts = field(default_factory=Counts)
    fields_scanned: Counts = field(default_factory=Counts)
    per_field: dict[str, Counts] = field(default_factory=dict)
    dedupe: Counts = field(default_factory=Counts)
    amendments: int = 0
    amendments_superseding: int = 0
    decisions_correct: int = 0
    decision_status_correct: int = 0
    attached: int = 0
    misattached: int = 0  # attached to another patient's case: must stay 0
    unattached: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    # the first mistakes of each kind ("classification", "fields", "dedupe", "matching", "decisions"), for
    # whoever tunes the stages
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def classification_accuracy(self) -> float:
        return self.classified / self.documents if self.documents else 1.0

    @property
    def decision_accuracy(self) -> float:
        return self.decisions_correct / self.cases if self.cases else 1.0

    @property
    def decision_status_accuracy(self) -> float:
        return self.decision_status_correct / self.cases if self.cases else 1.0

    def note(self, kind: str, message: str) -> None:
        kept = self.errors.setdefault(kind, [])
        if len(kept) < MAX_ERRORS_KEPT:
            kept.append(message)

    def as_json(self) -> dict[str, Any]:
        return {"documents": self.documents, "cases": self.cases,
                "classification_accuracy": round(self.classification_accuracy, 4), "confusion": self.confusion,
                "fields": self.fields.as_json(), "fields_digital": self.fields_digital.as_json(),
                "fields_scanned": self.fields_scanned.as_json(),
                "per_field": {name: counts.as_json() for name, counts in sorted(self.per_field.items())},
                "dedupe": self.dedupe.as_json(),
                "amendments": {"total": self.amendments, "superseding": self.amendments_superseding},
                "decision_accuracy": round(self.decision_accuracy, 4),
                "decision_status_accuracy": round(self.decision_status_accuracy, 4),
                "matching": {"attached": self.attached, "misattached": self.misattached,
                             "unattached": self.unattached},
                "quarantined": self.quarantined, "seconds": round(self.seconds, 2), "errors": self.errors}

    def __rich__(self) -> Group:
        summary = Table(title="DME pipeline evaluation", show_header=True)
        for column in ("measure", "value", "target"):
            summary.add_column(column)
        rows = [("documents / cases", f"{self.documents} / {self.cases}", ""),
                ("classification accuracy", f"{self.classification_accuracy:.3f}", ""),
                ("field F1 (all)", f"{self.fields.f1:.3f}", ""),
                ("field F1 digital", f"{self.fields_digital.f1:.3f}", ">= 0.95"),
                ("field F1 scanned", f"{self.fields_scanned.f1:.3f}", ">= 0.90"),
                ("field precision / recall", f"{self.fields.precision:.3f} / {self.fields.recall:.3f}", ""),
                ("dedupe precision", f"{self.dedupe.precision:.3f}", "1.0"),
                ("dedupe recall", f"{self.dedupe.recall:.3f}", ">= 0.95"),
                ("amended orders superseding", f"{self.amendments_superseding} / {self.amendments}", "all"),
                ("decision accuracy", f"{self.decision_accuracy:.3f}", ">= 0.95"),
                ("decision status accuracy", f"{self.decision_status_accuracy:.3f}", ""),
                ("attached / misattached / unattached", f"{self.attached} / {self.misattached} / {self.unattached}",
                 "misattached 0"),
                ("quarantined", str(self.quarantined), ""), ("seconds", f"{self.seconds:.1f}", "")]
        for row in rows:
            summary.add_row(*row)
        per_field = Table(title="Fields", show_header=True)
        for column in ("field", "precision", "recall", "F1", "tp", "fp", "fn"):
            per_field.add_column(column)
        for name, counts in sorted(self.per_field.items()):
            per_field.add_row(name, f"{counts.precision:.3f}", f"{counts.recall:.3f}", f"{counts.f1:.3f}",
                              str(counts.tp), str(counts.fp), str(counts.fn))
        kinds = sorted({k for row in self.confusion.values() for k in row} | set(self.confusion))
        confusion = Table(title="Classification (rows: label, columns: predicted)", show_header=True)
        confusion.add_column("")
        for kind in kinds:
            confusion.add_column(kind[:12])
        for kind in sorted(self.confusion):
            confusion.add_row(kind, *(str(self.confusion[kind].get(k, 0) or "") for k in kinds))
        return Group(summary, per_field, confusion)
