"""When a clinical event happened and what a sentence says before a value: the dates and the text windows the
clinical extractors share. An event's date is the one a label marks (study date, date of service…) or, failing
that, the first date on the document that is not a birth, report, signature, order or fax-stamp date."""

from __future__ import annotations

import re

from osler.dme.understand.dates import find_dates
from osler.dme.understand.scan import Hit, Scan, ScanPage, phrases

STUDY_DATE_LABELS = phrases("study date", "date of study", "test date", "date of test", "recording date",
                            "date recorded", "night of", "date of service", "dos", "date performed", "performed on",
                            "study performed", "date of recording", "sleep study date", "exam date",
                            "date of exam", "service date", "testing date", "date(s) of study", "date tested",
                            "tested on", "test performed on", "study done on", "date of procedure", "procedure date",
                            "recorded on", "collection date", "date collected", "collected", "specimen date",
                            "date/time", "date of testing")
# ("bom": "born" with its rn read as an m)
_NOT_EVENT_DATE = re.compile(r"birth|dob|d\.o\.b|born|\bbom\b|report|sign|print|fax|interpret|read|received|order|"
                             r"sent|dictat|transcri|admi|discharge|referr", re.IGNORECASE)
FAX_HEADER = re.compile(r"\bFROM\b.*\bTO\b|\bPAGE\s*\d+\s*(?:/|of)\s*\d+|\bP\.\s?\d{3}", re.IGNORECASE)
_CLAUSE_BOUNDARY = re.compile(r"\d[.;,]?\s|[.;]\s")


def first_event_date(scan: Scan) -> Hit | None:
    """The first date that no label marks as a birth, report, signature or order date, and not the date a
    fax machine stamped on its header line."""
    for page in scan.pages:
        for found in find_dates(page.folded):
            before = page.folded[max(0, found.start - 30):found.start]
            # the words that label this date: back to the line's start, a sentence's end or an earlier date
            clause_start = max([before.rfind("\n") + 1, *(m.end() for m in _CLAUSE_BOUNDARY.finditer(before))])
            line_before = before[clause_start:]
            line = page.folded[page.folded.rfind("\n", 0, found.start) + 1:page.folded.find("\n", found.end)]
            if not _NOT_EVENT_DATE.search(line_before) and not FAX_HEADER.search(line):
                return Hit(found.iso, page.number, found.start, found.end, 0.7)
    return None


def sentence_before(page: ScanPage, position: int) -> str:
    """The sentence up to ``position``, across wrapped lines (at most 120 characters back)."""
    window = page.folded[max(0, position - 120):position]
    ends = [found.end() for found in re.finditer(r"[.;]\s|\n\s*\n", window)]
    return window[ends[-1]:] if ends else window


def line_before(page: ScanPage, match: re.Match[str]) -> str:
    return page.folded[page.folded.rfind("\n", 0, match.start()) + 1:match.start()]
