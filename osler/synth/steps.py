"""The scripted journey's machinery: steps that write records, expectations that must hold.

A step returns what it wrote; an expectation that fails stops the journey with a clear reason,
and ``osler journey`` exits non-zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from osler.chronicle.records import Stored


class JourneyFailure(Exception):
    """An expected outcome did not happen."""


def expect(condition: object, message: str) -> None:
    if not condition:
        raise JourneyFailure(message)


@dataclass
class StepResult:
    summary: str
    records: list[Stored] = field(default_factory=list)


@dataclass
class Step:
    title: str
    run: Callable[[dict[str, Any]], StepResult]


def play(steps: list[Step], state: dict[str, Any], console: Console) -> bool:
    """Run the steps in order, printing each with the records it wrote; False at the first miss."""
    for number, step in enumerate(steps, start=1):
        try:
            result = step.run(state)
        except JourneyFailure as failure:
            console.print(f"[red]✘ {number}. {step.title}[/red] — {failure}")
            return False
        console.print(f"[green]✔ {number}. {step.title}[/green] — {result.summary}")
        for record in result.records:
            console.print(f"      {record.res_type}/{record.res_id} (version {record.version})", highlight=False)
    return True
