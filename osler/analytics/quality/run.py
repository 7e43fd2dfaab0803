"""Run the DQD checks against a built OMOP warehouse and report each one (OHDSI: DataQualityDashboard's results)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from osler.analytics.quality.checks import Check, load_checks


@dataclass(frozen=True)
class CheckResult:
    check: Check
    violated: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.violated / self.total if self.total else 0.0

    @property
    def passed(self) -> bool:
        return self.percent <= self.check.threshold

    def describe(self) -> str:
        verdict = "pass" if self.passed else "FAIL"
        return (f"{verdict} {self.check.name} {self.check.table}.{self.check.field}: {self.violated} of {self.total} "
                f"rows ({self.percent:.2f} %, threshold {self.check.threshold:g} %)")


def run_checks(warehouse: Path, checks: list[Check] | None = None) -> list[CheckResult]:
    """Run ``checks`` (all shipped ones by default) over the warehouse's ``omop`` tables, read-only."""
    results = []
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        for check in load_checks() if checks is None else checks:
            row = connection.execute(check.sql).fetchone()
            violated, total = (int(row[0]), int(row[1])) if row else (0, 0)
            results.append(CheckResult(check, violated, total))
    return results
