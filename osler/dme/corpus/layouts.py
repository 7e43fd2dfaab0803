"""Layouts: one document's content (facts, tables, free text) laid out in one of several styles — a label:value
form, a two-column grid, bordered tables, a letter, a narrative with section headings, a CMS-style numbered
written order, a compact inline header. Every document kind can take every style, so each kind comes in at
least seven layouts before its own wording varies.

A layout produces ``Block`` s (title, line, heading, table, paragraph) that ``render`` turns into a PDF."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Fact:
    label: str
    value: str
    sentence: str = ""  # the same fact written as prose, for letters and narratives

    @property
    def prose(self) -> str:
        return self.sentence or f"{self.label}: {self.value}."


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    prose: list[str] = field(default_factory=list)  # the rows as sentences, when a letter reads them out
    widths: tuple[int, ...] | None = None

    def lines(self) -> list[str]:
        return self.prose or ["; ".join(f"{h} {c}" if i else c
                                        for i, (h, c) in enumerate(zip(self.header, row, strict=True)) if c)
                              for row in self.rows]


@dataclass
class Section:
    heading: str
    parts: list[Fact | Table | str] = field(default_factory=list)


@dataclass
class Content:
    title: str
    letterhead: list[str]
    identity: list[Fact]
    sections: list[Section]
    signature: list[str]
    footer: list[str] = field(default_factory=list)


@dataclass
class Block:
    kind: str  # "title" | "line" | "heading" | "table" | "paragraph" | "space"
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)
    borders: str = "ALL"
    widths: tuple[int, ...] | None = None  # relative column widths; None: equal


LABEL_VALUE_WIDTHS = {2: (35, 65), 4: (25, 25, 25, 25)}


def _table_block(table: Table, borders: str) -> Block:
    return Block("table", rows=[table.header, *table.rows], borders=borders, widths=table.widths)


def _facts_as_rows(facts: list[Fact], columns: int) -> list[list[str]]:
    cells = [[f"{fact.label}:", fact.value] for fact in facts]
    rows = []
    for start in range(0, len(cells), columns):
        row = [cell for pair in cells[start:start + columns] for cell in pair]
        rows.append(row + [""] * (2 * columns - len(row)))
    return rows


def _head(content: Content, *, upper: bool = False) -> list[Block]:
    blocks = [Block("line", line) for line in content.letterhead]
    blocks.append(Block("title", content.title.upper() if upper else content.title))
    return blocks


def _tail(content: Content) -> list[Block]:
    return [Block("space"), *(Block("line", line) for line in content.signature),
            *(Block("line", line) for line in content.footer)]


def form(content: Content, rng: random.Random) -> list[Block]:
    blocks = _head(content) + [Block("line", f"{f.label}: {f.value}") for f in content.identity]
    for section in content.sections:
        blocks.append(Block("heading", section.heading))
        for part in section.parts:
            if isinstance(part, Fact):
                blocks.append(Block("line", f"{part.label}: {part.value}"))
            elif isinstance(part, Table):
                blocks.append(_table_block(part, rng.choice(("ALL", "HORIZONTAL_LINES"))))
            else:
                blocks.append(Block("paragraph", part))
    return blocks + _tail(content)


def grid(content: Content, rng: random.Random) -> list[Block]:
    blocks = [*_head(content), Block("table", rows=_facts_as_rows(content.identity, 2), borders="NONE",
                                       widths=LABEL_VALUE_WIDTHS[4])]
    for section in content.sections:
        blocks.append(Block("heading", section.heading))
        facts = [p for p in section.parts if isinstance(p, Fact)]
        if facts:
            blocks.append(Block("table", rows=_facts_as_rows(facts, 2), borders="NONE", widths=LABEL_VALUE_WIDTHS[4]))
        for part in section.parts:
            if isinstance(part, Table):
                blocks.append(_table_block(part, "SINGLE_TOP_LINE"))
            elif isinstance(part, str):
                blocks.append(Block("paragraph", part))
    return blocks + _tail(content)


def tables(content: Content, rng: random.Random) -> list[Block]:
    blocks = [*_head(content), Block("table", rows=[["Field", "Value"], *_facts_as_rows(content.identity, 1)],
                                       widths=LABEL_VALUE_WIDTHS[2])]
    for section in content.sections:
        facts = [p for p in section.parts if isinstance(p, Fact)]
        if facts:
            blocks.append(Block("table", rows=[[section.heading, ""], *_facts_as_rows(facts, 1)],
                                widths=LABEL_VALUE_WIDTHS[2]))
        for part in section.parts:
            if isinstance(part, Table):
                blocks.append(_table_block(part, "ALL"))
            elif isinstance(part, str):
                blocks.append(Block("paragraph", part))
    return blocks + _tail(content)


def _prose(section: Section) -> str:
    pieces: list[str] = []
    for part in section.parts:
        if isinstance(part, Fact):
            pieces.append(part.prose)
        elif isinstance(part, Table):
            pieces.extend(line + "." for line in part.lines())
        else:
            pieces.append(part)
    return " ".join(pieces)


def letter(content: Content, rng: random.Random) -> list[Block]:
    blocks = [Block("line", line) for line in content.letterhead] + [Block("space")]
    blocks.append(Block("line", "RE: " + content.title))
    blocks.append(Block("paragraph", " ".join(f.prose for f in content.identity)))
    blocks.append(Block("line", rng.choice(("To whom it may concern:", "Dear colleague,", "Dear supplier,"))))
    blocks += [Block("paragraph", _prose(section)) for section in content.sections]
    closing = rng.choice(("Sincerely,", "Regards,", "Thank you,"))
    return [*blocks, Block("space"), Block("line", closing), *_tail(content)]


def narrative(content: Content, rng: random.Random) -> list[Block]:
    blocks = [*_head(content), Block("paragraph", " ".join(f.prose for f in content.identity))]
    for section in content.sections:
        blocks += [Block("heading", section.heading + ":"), Block("paragraph", _prose(section))]
    return blocks + _tail(content)


def numbered(content: Content, rng: random.Random) -> list[Block]:
    """The CMS detailed-written-order look: numbered upper-case labels running through the sections."""
    blocks = _head(content, upper=True)
    numbers = iter(range(1, 1000))
    blocks += [Block("line", f"{next(numbers)}. {fact.label.upper()}: {fact.value}") for fact in content.identity]
    for section in content.sections:
        blocks.append(Block("heading", section.heading.upper()))
        for part in section.parts:
            if isinstance(part, Fact):
                blocks.append(Block("line", f"{next(numbers)}. {part.label.upper()}: {part.value}"))
            elif isinstance(part, Table):
                blocks.append(_table_block(part, "ALL"))
            else:
                blocks.append(Block("paragraph", part))
    return blocks + _tail(content)


def inline(content: Content, rng: random.Random) -> list[Block]:
    separator = rng.choice(("   ", " | ", "  /  "))
    blocks = _head(content)
    facts = content.identity
    for start in range(0, len(facts), 3):
        blocks.append(Block("line", separator.join(f"{f.label}: {f.value}" for f in facts[start:start + 3])))
    for section in content.sections:
        blocks.append(Block("paragraph", f"{section.heading.upper()}: {_prose(section)}"))
    return blocks + _tail(content)


STYLES: dict[str, Callable[[Content, random.Random], list[Block]]] = {
    "form": form, "grid": grid, "tables": tables, "letter": letter, "narrative": narrative, "numbered": numbered,
    "inline": inline}
