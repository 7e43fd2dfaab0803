"""What a sleep study establishes: its date, its type (attended polysomnography or a home sleep test), the
indices it reports (AHI, or RDI/REI), the total number of respiratory events and the recording time."""

from __future__ import annotations

import re
from typing import Any

from osler.dme.model import ExtractedField
from osler.dme.understand.events import STUDY_DATE_LABELS, first_event_date, sentence_before
from osler.dme.understand.identity import labelled_date
from osler.dme.understand.scan import Hit, Scan, ScanPage, words

_HST = words(r"home\s+sleep\s+(?:apnea\s+)?(?:test(?:ing)?|study)", "HSAT", "HST", r"out[\s-]of[\s-]cent(?:er|re)",
             "OCST", r"portable\s+monitor\w*", r"type\s+(?:III|3|IV|4)\s+(?:device|study|monitor)", "WatchPAT",
             "unattended", r"home\s+study")
_PSG = words(r"polysomno\w*", "PSG", r"in[\s-]lab(?:oratory)?", r"attended", r"split[\s-]night",
             r"type\s+(?:I|1)\s+study", r"laboratory\s+sleep\s+study", r"sleep\s+stag\w*", "EEG",
             r"facility[\s-]based", r"titration")
# An index's value, on its line or at the start of the next (a form's cell, prose wrapped); OCR may set the
# decimal point off by a space ("41 .8/h") or read it as one, or as a colon or comma ("41 3 events/hr", "9:1/h")
# — the latter only with the rate's unit after it, which a list's separator or a time of day never has.
_INDEX_VALUE = (r"[^\n\d<>]{0,40}?(?:\n[^\n\d<>]{0,20}?)?"
                r"(\d{1,3}(?:[ ]?\.[ ]?\d{1,2}|(?:[ ]|[ ]?[:,][ ]?)\d(?=\s*(?:events?\b|/\s*h|per\s+h)))?)"
                r"(?![ ]?\.?\d)(?!\s*%)"
                r"(?!\s*(?:min|sec|hour|hr|am|pm)\b)")
_NOT_OVERALL = re.compile(r"(?:rem|nrem|non-?rem|supine|non-?supine|lateral|prone|side|left|right|central|"
                          r"obstructive\s+apnea|criteria|threshold|if|baseline|goal|residual|on\s+cpap|titrat\w*|"
                          r"treatment|at\s+\d+\s*cm)\W*$", re.IGNORECASE)
_AHI = re.compile(r"\b(?:p?AHI|apn(?:o)?ea[\s-]*hypopn(?:o)?ea\s+index)\b(?:\s*\((?:p?AHI)\))?"
                  r"(?:\s*,?\s*(?:overall|total|all\s+night))?" + _INDEX_VALUE, re.IGNORECASE)
# "6.2 events per hour (AHI)": the value written before the index's name.
_AHI_AFTER = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,2})?)\s*(?:events?\s*)?(?:/|per)\s*(?:hour|hr|h)\.?\s*"
                        r"\(\s*p?AHI\s*\)", re.IGNORECASE)
# a full stop with words after it, not a speck OCR set after the index's name ("Severity index: AHI. 9. 6/hr")
_ANOTHER_PHRASE = re.compile(r"\.\s+[^\s\d]*[A-Za-z]|supine|rem\b|lateral|prone|side", re.IGNORECASE)
_REI = re.compile(r"\b(?:REI|respiratory\s+event\s+index)\b(?:\s*\(REI\))?" + _INDEX_VALUE, re.IGNORECASE)
_RDI = re.compile(r"\b(?:p?RDI|respiratory\s+disturbance\s+index)\b(?:\s*\(p?RDI\))?" + _INDEX_VALUE, re.IGNORECASE)
_PER_HOUR = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,2})?)\s*(?:events?|episodes?)?\s*(?:/|per)\s*(?:hour|hr|h)\b",
                       re.IGNORECASE)
_OTHER_INDEX = re.compile(r"\b(?:ODI|RDI|REI|arousal|PLM\w*|desaturation|central|CAI|limb|snor\w*|respiratory\s+"
                          r"(?:disturbance|event)\s+index|disturbance)\b", re.IGNORECASE)
_RDI_WORDS = re.compile(r"\b(?:RDI|disturbance\s+index)\b", re.IGNORECASE)
_AHI_WORDS = re.compile(r"\b(?:p?AHI|hypopn(?:o)?ea\s+index|REI|ODI|arousal|desaturation)\b", re.IGNORECASE)
_EARLIER = re.compile(r"\b(?:prior|previous|comparison|earlier|last|old)\b", re.IGNORECASE)
_COMPARISON = re.compile(r"[<>]|greater|less|more\s+than|at\s+least|above|below|≥|≤", re.IGNORECASE)
_TOTAL_EVENTS = re.compile(r"\b(?:total[.,]?\s+(?:number\s+of\s+)?(?:respiratory\s+|"
                           r"apnea\s*(?:\+|and|/|&)\s*hypopnea\s+|resp\.?\s+)?events|total\s+apneas?\s*(?:\+|and|&|/)\s*hypopneas?|apneas?\s*\+\s*hypopneas?"
                           r"|number\s+of\s+(?:apneas?\s+and\s+hypopneas?|respiratory\s+events)|total\s+a\s*\+\s*h)"
                           r"[^\n\d]{0,20}(\d{1,4})(?!\s*(?:/|per)\s*h)(?!\.\d)", re.IGNORECASE)
def _label_words(label: str) -> str:
    """A label pattern whose words may have OCR's specks between them ("Recording: duration: 5.4 hours")."""
    return label.replace(r"\s+", r"[:.,]?\s+")


_DURATION = (r"[^\d]{0,25}(?:(\d{1,2}):(\d{2})(?:\s*(?:hh:mm|hours|hrs|h))?"
             r"|(\d{1,2})\s*h(?:(?:ou)?rs?)?\.?\s*(\d{1,2})\s*m(?:in(?:utes)?)?"
             r"|(\d{1,4}(?:\.\d{1,2})?)\s*(hours?|hrs?|h|minutes?|mins?|m)\b)")
_RECORDING_TIME = re.compile(_label_words(r"\b(?:total\s+recording(?:\s+time)?|recording\s+time|TRT|total\s+monitoring"
                                          r"\s+time|monitoring\s+time|study\s+duration|recording\s+duration|valid\s+"
                                          r"recording\s+time|total\s+study\s+time|time\s+in\s+bed|TIB)\b") + _DURATION,
                             re.IGNORECASE)
LOST_POINT_RATIO = 4.0  # an index this many times the events per recorded hour cannot be what they make…
INDEX_AGREEMENT = 0.3  # …and its tenth agrees with them within this share
_SLEEP_TIME = re.compile(_label_words(r"\b(?:total\s+sleep\s+time|TST|sleep\s+time)\b") + _DURATION, re.IGNORECASE)


def sleep_study(scan: Scan) -> ExtractedField | None:
    rdi = _first_index(scan, _RDI) or _per_hour_named(scan, _RDI_WORDS)
    ahi = (_first_index(scan, _AHI_AFTER) or _first_index(scan, _AHI) or _first_index(scan, _REI)
           or _per_hour(scan, taken=rdi))
    events = _first_number(scan, _TOTAL_EVENTS)
    recording = _hours(scan, _RECORDING_TIME)
    sleep = _hours(scan, _SLEEP_TIME)
    hours = recording or sleep
    ahi_value = ahi.value if ahi else None
    if ahi_value is None and rdi is None and events and hours:  # computed only when no index is stated
        ahi_value = round(events.value / hours.value, 1)
    per_hour = events.value / hours.value if events and hours else None
    if ahi is None and rdi is None and events is None:
        return None
    date = labelled_date(scan, STUDY_DATE_LABELS) or first_event_date(scan)
    value: dict[str, Any] = {"date": date.value if date else None, "type": _study_type(scan),
                             "ahi": _with_decimal_point(ahi_value, per_hour),
                             "rdi": _with_decimal_point(rdi.value, per_hour) if rdi else None,
                             "total_events": events.value if events else None,
                             "recording_hours": hours.value if hours else None}
    anchor = ahi or rdi or events
    confidence = 0.95 if date and ahi else 0.8
    return scan.from_hit("sleep_study", Hit(value, anchor.page, anchor.start, anchor.end, confidence))


def _with_decimal_point(index: float | None, per_hour: float | None) -> float | None:
    """``index``, or a tenth of it when OCR lost its decimal point ("AHI of 141" for 14.1): a whole number
    many times the study's events per recorded hour, whose tenth agrees with them. (An index counts per
    hour of sleep, a little less than the recording, so it may run somewhat above events per recorded hour,
    never ten times.)"""
    if index is None or not per_hour or index != int(index) or index < per_hour * LOST_POINT_RATIO:
        return index
    tenth = index / 10
    return tenth if abs(tenth - per_hour) <= INDEX_AGREEMENT * per_hour else index


def _first_index(scan: Scan, pattern: re.Pattern[str]) -> Hit | None:
    """The first overall value of an index: not a positional or REM one, not a criterion ("AHI ≥ 15"), not
    an earlier study's, and not a value that belongs to the next phrase ("(AHI). Supine AHI: 8.7")."""
    for page, match in scan.find(pattern):
        before = page.folded[max(0, match.start() - 25):match.start()]
        between = page.folded[match.end(1) if match.start(1) < match.start() else match.start():
                              max(match.start(1), match.start())]
        if (_NOT_OVERALL.search(before) or _COMPARISON.search(between) or _ANOTHER_PHRASE.search(between)
                or _EARLIER.search(sentence_before(page, match.start()))):
            continue
        value = _decimal(match.group(1))
        if value <= 200:
            return Hit(value, page.number, match.start(1), match.end(1))
    return None


def _per_hour(scan: Scan, *, taken: Hit | None) -> Hit | None:
    """"23.4 events/hour" with no index named: the AHI, unless its clause (its line, and the line above when
    a form's cell or prose wrapped there) names another index, or the value is the one ``taken`` by one."""
    for page, match in scan.find(_PER_HOUR):
        if taken and (taken.page, taken.start) == (page.number, match.start(1)):
            continue
        clause = sentence_before(page, match.start())[-len(_lines_before(page, match.start(), 2)):]
        if (not any(pattern.search(clause) for pattern in (_OTHER_INDEX, _NOT_OVERALL, _COMPARISON))
                and not _EARLIER.search(sentence_before(page, match.start()))):
            return Hit(_decimal(match.group(1)), page.number, match.start(1), match.end(1), 0.8)
    return None


def _per_hour_named(scan: Scan, named: re.Pattern[str]) -> Hit | None:
    """"41.7/h" under a grid's label whose words OCR scrambled ("respiratory⏎Result: disturbance index:
    Oxygen nadir: 81%⏎41.7/h"): the index whose words its clause names (and no other index's)."""
    for page, match in scan.find(_PER_HOUR):
        clause = sentence_before(page, match.start())[-len(_lines_before(page, match.start(), 2)):]
        if (named.search(clause) and not _AHI_WORDS.search(clause) and not _NOT_OVERALL.search(clause)
                and not _COMPARISON.search(clause) and not _EARLIER.search(sentence_before(page, match.start()))):
            return Hit(_decimal(match.group(1)), page.number, match.start(1), match.end(1), 0.8)
    return None


def _lines_before(page: ScanPage, position: int, lines: int) -> str:
    """The text from the start of the line ``lines - 1`` lines above ``position``'s own line up to it."""
    start = page.folded.rfind("\n", 0, position)
    for _ in range(lines - 1):
        if start <= 0:
            break
        start = page.folded.rfind("\n", 0, start)
    return page.folded[start + 1:position]


def _first_number(scan: Scan, pattern: re.Pattern[str]) -> Hit | None:
    for page, match in scan.find(pattern):
        return Hit(int(match.group(1)), page.number, match.start(1), match.end(1))
    return None


def _hours(scan: Scan, pattern: re.Pattern[str]) -> Hit | None:
    for page, match in scan.find(pattern):
        hours_part, minutes_part, h_part, m_part, amount, unit = match.groups()
        if hours_part:
            hours = int(hours_part) + int(minutes_part) / 60
        elif h_part:
            hours = int(h_part) + int(m_part) / 60
        else:
            hours = float(amount) / (60 if unit.lower().startswith("m") else 1)
        if 0.5 <= hours <= 16:
            return Hit(round(hours, 2), page.number, match.start(), match.end())
    return None


def _study_type(scan: Scan) -> str:
    score = {"HST": 0.0, "PSG": 0.0}
    for study_type, pattern in (("HST", _HST), ("PSG", _PSG)):
        for page, match in scan.find(pattern):
            in_title = page.number == 1 and match.start() < 400
            score[study_type] += 3 if in_title else 1
    return "HST" if score["HST"] > score["PSG"] else "PSG"


def _decimal(text: str) -> float:
    """A value as OCR left it: "41 .8" is 41.8, and so are "41 8" and "41:8" (its point read as a space or a
    colon)."""
    text = text.replace(" ", "") if "." in text else re.sub(r"[ ]?[:,][ ]?|[ ]", ".", text)
    return float(text)
