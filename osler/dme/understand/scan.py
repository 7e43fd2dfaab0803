"""Scanning a document's pages for labelled values: the tools every field extractor shares.

Pages are searched in their folded form (``normalize.fold``: same length as the page text; on OCR'd pages
``labels.repair_labels`` also puts misread label words right), so a span found here is a span of
``Page.text`` and provenance quotes the page exactly. A label is matched on word
boundaries, may carry a parenthesised hint ("Date of Birth (mm/dd/yyyy)") and a separator (":", "#",
"-", "="), and its value may follow on the same line or, in form layouts, on the next line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from osler.dme.model import Document, ExtractedField, Provenance
from osler.dme.understand.labels import repair_labels
from osler.dme.understand.normalize import fold

# A label's separator: a colon and its kin, which OCR may read as a semicolon or follow with a speck
# ("Medical Record #: . 1821211", "CHART #; MR8951957", "Account/MRN: ' MR9474569", "DOB: © 04-07-1944"), after a
# hint in brackets whose closing one OCR may misread ("DOB (MM/DD/YYYY}:").
_SEPARATOR = (r"(?:[ ]+(?:is|was)\s+|\s*(?:\([^)\n]{0,40}[)}\]][ ]*)?(?:(?:[:#=.;'\"©°*~]|-(?!\d))[ ]*){0,4}"
              r"(?:\n[ ]*)?)")
# Where a value written after a label ends on its line: a gap of 2+ spaces (the next column), a bar, a
# semicolon, a label that needs no colon ("John Smith DOB 3/14/49"), or the next "Label:" (a colon not
# inside a time), whose label words are then trimmed off.
_COLUMN_END = re.compile(r"[ ]{2,}|\||;|:(?!\d)")
# a speck OCR left may stand before the label ("Ernest Gallagher 'Birth Date:")
_NAME_END = re.compile(r"\s(?=[^\w\s]{0,2}(?:DOB|D\.O\.B|MRN|Sex|Gender|Age|Date|Phone|Tel|NPI|MBI|SSN|Acct|Account|"
                       r"Birth|Born|Medicare|Member|Insurance|Payer|Dx|ICD|Provider|Physician|Practitioner|Prescriber|Fax|"
                       r"Signature|Signed)\b)|(?<=[a-z]{3})\.\s", re.IGNORECASE)
FULL_LINE_SHARE = 0.85  # a line this share of the page's longest runs to the right margin
_CLAUSE_BREAK = re.compile(r"(?<=[A-Za-z]{3})[.;]\s|[ ]{2,}|\|")
# What may follow a heading's key word: at most two more words and a colon ("Emergency Contact Information:"),
# but no value ("Patient ID: 327933" is a label line, not a heading)
_HEADING_TAIL = re.compile(r"\w*(?:[ /&-]+[A-Za-z]+){0,2}[ ]*:?[ ]*")
_SENTENCE_END = re.compile(r"(?<=[A-Za-z]{3})\.\s")
# A middle initial OCR read with a colon for its full stop ("Fatima Jd: Espinoza"): a name word, a one- or
# two-letter token, the colon, and a capitalized word right after it
_INITIAL_COLON = re.compile(r"[A-Za-z]{2,}[ ]+([A-Z][a-z]?)$")
_NAME_AFTER_COLON = re.compile(r"[ ][A-Z][a-z]+")
_LABEL_WORD_LIST = """
    dob d.o.b birth birthdate born date of dt mrn mr chart record medical med rec sex gender age phone tel cell
    fax home email id no number num medicare mbi hicn member subscriber policy group plan insurance payer ins
    acct account ssn npi address physician provider doctor prescriber order ordered dx diagnosis diagnoses icd
    signature signed visit encounter study test service dos ht wt height weight patient pt name race ethnicity
    language marital status primary secondary city state zip
    """
_LABEL_WORDS = frozenset(_LABEL_WORD_LIST.split())
_SECTION_WORDS = re.compile(r"\b(?:contact|address|demographics|coverage|care\s+team|other|information|order|items?|"
                            r"equipment|prescriber|physician|diagnos[ie]s|patient|insurance|history|plan|results?|"
                            r"assessment|clinician|signature)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Hit:
    """A value found on a page: 1-based page number, the span on the page, and how sure the finder is."""

    value: Any
    page: int
    start: int
    end: int
    confidence: float = 0.9


@dataclass(frozen=True)
class ScanPage:
    number: int
    text: str  # the page text as given
    folded: str
    ocr_confidence: float | None

    @cached_property
    def longest_line(self) -> int:
        return max((len(line.rstrip()) for line in self.folded.splitlines()), default=0)


OCR_E = "[eéèë]"  # an e as OCR may read it, with an accent picked up from a speck


def phrases(*labels: str) -> str:
    """One regex alternation of label phrases: spaces match any whitespace (or a speck), dots are optional, an
    e may carry the accent OCR puts on it ("Patiént")."""
    parts = []
    for label in sorted(labels, key=len, reverse=True):
        # between words any space, or a speck OCR left there ("Date of, Birth", "Date of.Birth", "Medicare [ID")
        part = label if label.startswith("(?") else re.escape(label).replace(r"\ ", r"[\s,.'`\[]*").replace(
            r"\.", r"\.?").replace("e", OCR_E)
        parts.append(part)
    return "(?:" + "|".join(parts) + ")"


def words(*fragments: str) -> re.Pattern[str]:
    """A pattern for any of the fragments as whole words; a fragment without lower-case letters (an
    abbreviation) is matched case-sensitively, the others in any case."""
    insensitive = [f for f in fragments if re.search(r"[a-z]", re.sub(r"\\[a-zA-Z]", "", f))]
    sensitive = [f for f in fragments if f not in insensitive]
    alternatives = []
    if insensitive:
        alternatives.append("(?i:" + "|".join(insensitive) + ")")
    if sensitive:
        alternatives.append("(?:" + "|".join(sensitive) + ")")
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(alternatives) + r")(?![A-Za-z0-9])")


LabelledValue = tuple[ScanPage, re.Match[str], re.Match[str]]  # the page, the label, the value after it


class Scan:
    """A document prepared for extraction."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.pages = [ScanPage(page.number, page.text, repair_labels(fold(page.text)) if page.source == "ocr"
                               else fold(page.text), page.ocr_confidence) for page in document.pages]

    def labelled(self, labels: str, value: str | re.Pattern[str], *, flags: int = re.IGNORECASE,
                 exclude_before: str | None = None, context_lines: int = 0) -> Iterator[LabelledValue]:
        """Each (page, label match, value match) where ``value`` follows one of ``labels``. With
        ``exclude_before``, a label is skipped when its line up to it (and ``context_lines`` lines above)
        matches that regex (say, "Name" in "Physician Name")."""
        label_pattern = re.compile(r"(?<![A-Za-z0-9])" + labels + r"(?![A-Za-z0-9])" + _SEPARATOR, re.IGNORECASE)
        value_pattern = value if isinstance(value, re.Pattern) else re.compile(value, flags)
        excluded = re.compile(exclude_before, re.IGNORECASE) if exclude_before else None
        for page in self.pages:
            for label in _overlapping(label_pattern, page.folded):
                if excluded and _excluded(excluded, page.folded, label.start(), context_lines):
                    continue
                found = value_pattern.match(page.folded, label.end())
                if found:
                    yield page, label, found

    def segment(self, page: ScanPage, start: int, *, name: bool = False, sentence: bool = False) -> tuple[int, int]:
        """The span of the value that starts at ``start``: to the end of its line or its column; a ``name``
        also ends at a sentence's end or a label that needs no colon ("John Smith DOB 3/14/49"), a
        ``sentence`` value at a full stop after a word."""
        line_end = page.folded.find("\n", start)
        line_end = len(page.folded) if line_end < 0 else line_end
        stop = _COLUMN_END.search(page.folded, start, line_end)
        while stop and not re.search(r"[A-Za-z0-9]{3}", page.folded[start:stop.start()]):
            start = stop.end()  # nothing yet but OCR's specks of a table's borders: the value comes after them
            stop = _COLUMN_END.search(page.folded, start, line_end)
        while name and stop and _initial_before_colon(page.folded, start, stop):
            stop = _COLUMN_END.search(page.folded, stop.end(), line_end)
        end = stop.start() if stop else line_end
        name_end = (_NAME_END if name else _SENTENCE_END).search(page.folded, start, end) if name or sentence else None
        if name_end and (not stop or name_end.start() < end):
            stop, end = None, name_end.start()
        if stop and stop.group() == ":":  # the next label runs into this value: drop its words
            kept = page.folded[start:end].split(" ")
            while kept and kept[-1].strip(".#/").lower() in _LABEL_WORDS | {""}:
                kept.pop()
            end = start + len(" ".join(kept))
        while end > start and page.folded[end - 1] in " ,.-_":
            end -= 1
        return start, end

    def wrapped_end(self, page: ScanPage, end: int) -> int:
        """``end`` moved over the next line when that line reads as the rest of a value a form's cell wrapped:
        short, no label, no digits, not a section heading."""
        text = page.folded
        line_end = end
        while text[line_end:line_end + 1] in (" ", ".", ","):  # what ``segment`` trimmed ("Margaret J.")
            line_end += 1
        if text[line_end:line_end + 1] != "\n" or re.search(r"[A-Za-z]{3}\.", text[max(0, end - 3):line_end]):
            return end  # the value's line does not end there, or ends a sentence ("Medicare.")
        next_end = text.find("\n", line_end + 1)
        following = text[line_end + 1:len(text) if next_end < 0 else next_end]
        if (following.strip() and len(following) <= 30 and not re.search(r"[:\d#|]", following)
                and not _SECTION_WORDS.search(following)):
            return line_end + 1 + len(following.rstrip(" ,.")) if following.rstrip(" ,.") else end
        return end

    def wrapped_name_end(self, page: ScanPage, label_end: int, start: int, end: int) -> int:
        """``end`` of a name at ``start`` moved over where it wrapped: a form's cell continued on the next line
        (the value under its label), or text that ran into the right margin and went on at the start of the
        next line ("Referred by Valenzuela,⏎Beverly DO.")."""
        if "\n" in page.folded[label_end - 1:start]:
            return self.wrapped_end(page, end)
        if self.fills_line(page, end):
            next_start = page.folded.find("\n", end) + 1
            _, next_end = self.segment(page, next_start, name=True)
            return next_end if next_end > next_start else end
        return end

    def fills_line(self, page: ScanPage, end: int) -> bool:
        """Whether the value ending at ``end`` ends its line and that line is about as long as the page's
        longest: text that ran into the right margin and wrapped."""
        line_end = page.folded.find("\n", end)
        line_end = len(page.folded) if line_end < 0 else line_end
        if page.folded[end:line_end].strip(" .,"):
            return False
        line = page.folded[page.folded.rfind("\n", 0, end) + 1:line_end]
        return len(line.rstrip()) >= FULL_LINE_SHARE * page.longest_line

    def sentence_end(self, page: ScanPage, end: int) -> int:
        """``end`` moved to the end of the sentence on the next line when the value at ``end`` ends its line
        mid-sentence (prose wrapped): "Primary insurance is CMS⏎Medicare Part B." """
        text = page.folded
        if text[end:end + 1] != "\n":
            return end
        next_end = text.find("\n", end + 1)
        next_end = len(text) if next_end < 0 else next_end
        stop = _SENTENCE_END.search(text, end + 1, next_end) or re.search(r"\.$", text[:next_end])
        return stop.start() if stop and stop.start() > end + 1 else end

    def find(self, pattern: re.Pattern[str]) -> Iterator[tuple[ScanPage, re.Match[str]]]:
        for page in self.pages:
            for found in pattern.finditer(page.folded):
                yield page, found

    def field(self, name: str, value: Any, page: ScanPage, start: int, end: int, confidence: float) -> ExtractedField:
        """An extracted field quoting ``page.text[start:end]``, its confidence lowered for a poorly read page."""
        if page.ocr_confidence is not None:
            confidence *= 0.6 + 0.4 * min(page.ocr_confidence, 100.0) / 100.0
        provenance = Provenance(self.document.sha256, page.number, start, end, page.text[start:end])
        return ExtractedField(name, value, round(confidence, 3), provenance)

    def from_hit(self, name: str, hit: Hit) -> ExtractedField:
        page = next(p for p in self.pages if p.number == hit.page)
        return self.field(name, hit.value, page, hit.start, hit.end, hit.confidence)


def _overlapping(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Every match, including those starting inside an earlier one: "Prescription\nDate of Order" holds the
    label "Prescription Date" and, one word on, the label "Date of Order"."""
    position = 0
    while (found := pattern.search(text, position)) is not None:
        yield found
        position = found.start() + 1


def _excluded(excluded: re.Pattern[str], text: str, position: int, lines_above: int) -> bool:
    """Whether the words before a label at ``position`` rule it out: ``excluded`` matches in its own clause
    (the line back to a sentence's end, a column gap or a bar) or ends one of the ``lines_above`` lines —
    a block's heading ("Emergency Contact⏎Name:"), not a title that merely mentions the word ("Physician
    Order for Home Medical Equipment⏎Name:")."""
    line_start = text.rfind("\n", 0, position) + 1
    own = text[line_start:position]
    clause_start = max((found.end() for found in _CLAUSE_BREAK.finditer(own)), default=0)
    if excluded.search(own[clause_start:]):
        return True
    above_end = line_start - 1
    for _ in range(lines_above):
        if above_end < 0:
            break
        above_start = text.rfind("\n", 0, above_end) + 1
        line = text[above_start:above_end]
        last = max(excluded.finditer(line), key=lambda found: found.end(), default=None)
        if last and _HEADING_TAIL.fullmatch(line[last.end():]):
            return True
        above_end = above_start - 1
    return False


_CHECKED = re.compile(r"(?:\[\s*[xX✓✔*]\s*\]|\(\s*[xX✓✔*]\s*\)|[☒☑■✓✔✗✘])\s*$")
_UNCHECKED = re.compile(r"(?:\[\s*\]|\(\s*\)|[☐□]|_{2,})\s*$")


def checkbox(text: str, position: int) -> bool | None:
    """For an option written at ``position`` on a form: True when a ticked box stands right before it,
    False for an empty box, None when there is no box."""
    before = text[max(0, position - 8):position]
    if _CHECKED.search(before):
        return True
    if _UNCHECKED.search(before):
        return False
    return None


def choose(scan: Scan, options: dict[str, re.Pattern[str]], *, within: tuple[ScanPage, int, int] | None = None,
           ) -> tuple[str, ScanPage, re.Match[str]] | None:
    """Which of several written options the document (or the span ``within`` of one page) picks: a ticked
    one first, else the first one mentioned without an empty box before it."""
    mentions = []
    for value, pattern in options.items():
        if within:
            page, start, end = within
            found_in = ((page, found) for found in pattern.finditer(page.folded, start, end))
        else:
            found_in = scan.find(pattern)
        for page, found in found_in:
            state = checkbox(page.folded, found.start())
            if state is not False:
                mentions.append((state is True, -page.number, -found.start(), value, page, found))
    if not mentions:
        return None
    _ticked, _page, _start, value, page, found = max(mentions, key=lambda mention: mention[:3])
    return value, page, found


def _initial_before_colon(text: str, start: int, stop: re.Match[str]) -> bool:
    """Whether the colon ``stop`` found in a name starting at ``start`` is a middle initial's full stop as OCR
    read it, not the colon of the next label: a label is a word ("ID:", "Sex:"), never a lone initial."""
    initial = _INITIAL_COLON.search(text, start, stop.start())
    return (stop.group() == ":" and initial is not None and initial.group(1).lower() not in _LABEL_WORDS
            and _NAME_AFTER_COLON.match(text, stop.end()) is not None)
