"""Small-cell suppression of a table of counts with its totals (CMS's cell-size rule; Epic: SlicerDicer's
"<11" for small populations).

Primary suppression: a count from 1 to 10 is shown as ``<11``. Complementary suppression: a table shows its
totals, so a lone hidden count in a row or column could be worked out as the total minus the others; and
since anything not shown as ``<11`` is known to be 0 or at least 11, even two hidden counts can give each
other away (1 + 11 = 12). So the table is audited as an attacker sees it: each line (a row or a column with
its total) is an equation, a ``<11`` entry lies in 1..10, a complementary entry (shown ``*``) is at least 11,
a shown entry is its value. An entry is pinned when the smallest and the largest value it can take under
those constraints are equal. While some hidden entry is pinned, the smallest non-zero count still shown in a
line through it (a cell before the line's total) is hidden too; when those lines have nothing left to hide,
the smallest in any line with a hidden entry (a grand total, say).

The smallest and largest values are linear programs (scipy's HiGHS). They are exact for integer counts here:
the equations of a one-way table and of a two-way table with its margins form a totally unimodular matrix
(each entry sits in two lines, which split into {rows, total column} and {columns, total row}), so the
extremes are reached at whole numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
from scipy.optimize import linprog

SMALLEST_SHOWN = 11
PINNED_WITHIN = 0.5  # extremes closer than this are one whole number


class Mark(Enum):
    SHOWN = "shown"
    SMALL = "<11"  # primary: a count from 1 to 10
    COMPLEMENT = "*"  # complementary: hidden so that a small count cannot be worked out


@dataclass(frozen=True)
class Line:
    """An equation the table shows: the entries ``parts`` add up to the entry ``total``."""

    parts: tuple[int, ...]
    total: int


def suppress(values: list[int], lines: list[Line]) -> list[Mark]:
    """How to show each entry of ``values`` (cells and totals alike, indexed as ``lines`` name them)."""
    marks = [Mark.SMALL if 1 <= value < SMALLEST_SHOWN else Mark.SHOWN for value in values]
    while True:
        pinned = pinned_entries(values, marks, lines)
        if not pinned:
            return marks
        complement = _complement_for(pinned[0], values, marks, lines)
        if complement is None:  # every non-zero entry is hidden already
            return marks
        marks[complement] = Mark.COMPLEMENT


def pinned_entries(values: list[int], marks: list[Mark], lines: list[Line]) -> list[int]:
    """The hidden entries whose value follows from what the table shows."""
    hidden = [entry for entry, mark in enumerate(marks) if mark is not Mark.SHOWN]
    if not hidden:
        return []
    equations = np.zeros((len(lines), len(values)))
    for row, line in enumerate(lines):
        for part in line.parts:
            equations[row, part] += 1
        equations[row, line.total] -= 1
    known = [(value, value) if mark is Mark.SHOWN else (1, SMALLEST_SHOWN - 1) if mark is Mark.SMALL
             else (SMALLEST_SHOWN, None) for value, mark in zip(values, marks, strict=True)]
    pinned = []
    for entry in hidden:
        objective = np.zeros(len(values))
        objective[entry] = 1
        lowest = linprog(objective, A_eq=equations, b_eq=np.zeros(len(lines)), bounds=known, method="highs")
        highest = linprog(-objective, A_eq=equations, b_eq=np.zeros(len(lines)), bounds=known, method="highs")
        if lowest.status == 0 and highest.status == 0 and -highest.fun - lowest.fun < PINNED_WITHIN:
            pinned.append(entry)
    return pinned


def _complement_for(entry: int, values: list[int], marks: list[Mark], lines: list[Line]) -> int | None:
    """The smallest non-zero count still shown in a line through ``entry`` — a cell if any, else a total — or,
    when those lines have none left, in any line with a hidden entry (the totals that pin it from afar)."""
    def shown(entries: list[int]) -> list[int]:
        return [e for e in entries if marks[e] is Mark.SHOWN and values[e] > 0]

    def smallest(around: list[Line]) -> int | None:
        candidates = shown([p for line in around for p in line.parts]) or shown([line.total for line in around])
        return min(candidates, key=lambda e: (values[e], e)) if candidates else None

    through = [line for line in lines if entry == line.total or entry in line.parts]
    hiding = [line for line in lines if any(marks[e] is not Mark.SHOWN for e in (*line.parts, line.total))]
    nearest = smallest(through)
    return nearest if nearest is not None else smallest(hiding)
