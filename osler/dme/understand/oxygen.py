"""The oxygen test a report documents: its date, the reading that decides qualification (SpO2 by oximetry or
PaO2 by arterial blood gas) and the condition it was taken in (at rest, during exercise, during sleep).

A report often holds several readings — at rest, walking on room air, walking on 2 L/min — in a table, a
form or sentences. Each reading is judged in its own clause (a table row, or the sentence around it, when
prose wraps over lines), so "SpO2 86 %. During exercise on 2 L/min SpO2 93 %" keeps the 86 a room-air
reading. Readings taken on supplemental oxygen, thresholds ("below 88 %") and averages are not qualifying
readings. The reading reported is the one the report calls qualifying, else the lowest room-air reading
that could qualify (SpO2 ≤ 89 %), else the lowest room-air reading taken in the test's own condition (a
walk test's walking reading, not its resting baseline)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from osler.dme.model import ExtractedField
from osler.dme.understand.events import STUDY_DATE_LABELS, first_event_date
from osler.dme.understand.identity import labelled_date
from osler.dme.understand.scan import Scan, ScanPage

_SPO2_WORD = (r"(?:sp\s*[o0]\s*[2z]|sa\s*[o0]\s*[2z]|o\s*[2z]\s*sat(?:uration)?s?|oxygen\s+sat(?:uration)?s?|"
              r"\bsats?\b|pulse\s+ox(?:imetry)?|saturation|nadir|lowest)")
_ROOM_AIR_WORDS = r"room[\s.,'`]*air"  # with what OCR may leave between the words ("room.air", "room 'air")
_SPO2_CONTEXT = re.compile(_SPO2_WORD + r"|" + _ROOM_AIR_WORDS + r"|\bRA\b", re.IGNORECASE)
_PERCENT = re.compile(r"(?<![\d.])(\d{2}(?:\.\d)?)\s*%")
_NOT_A_READING = re.compile(r"(?:below|under|<=?|>=?|at\s+or\s+below|less\s+than|threshold|criteri\w*|mean|average|"
                            r"median|goal|target|keep|maintain|titrate|baseline\s+goal)[^%\n]{0,14}$", re.IGNORECASE)
_PAO2 = re.compile(r"(?<![A-Za-z])(?:pa\s*[o0q]\s*2|p\s*[o0]\s*2|partial\s+pressure\s+of\s+(?:arterial\s+)?oxygen)"
                   r"(?![A-Za-z0-9])[^\n\d]{0,20}(\d{2,3}(?:\.\d)?)", re.IGNORECASE)
_ON_OXYGEN = re.compile(r"\bon\s+\d+(?:\.\d)?\s*l\b|\bwith\s+(?:supplemental\s+)?(?:o2|oxygen)\b"
                        r"|\bon\s+(?:supplemental\s+)?(?:o2|oxygen)\b|\d+(?:\.\d)?\s*(?:l/min|lpm|liters?|l\s*nc)\b"
                        r"|\bwith\s+\d+\s*l\b|\bsupplemental\b", re.IGNORECASE)
_ROOM_AIR = re.compile(_ROOM_AIR_WORDS + r"|\bRA\b|without\s+(?:supplemental\s+)?(?:o2|oxygen)|\bno\s+(?:o2|oxygen)\b"
                       r"|\boff\s+(?:o2|oxygen)\b", re.IGNORECASE)
CONDITIONS = {"exercise": re.compile(r"exercis|exertion|ambulat|walk|6\s*-?\s*min|6MW|treadmill|activity|"
                                     r"during\s+(?:activity|exercise)", re.IGNORECASE),
              "sleep": re.compile(r"sleep|overnight|nocturnal|night", re.IGNORECASE),
              "rest": re.compile(r"\brest|resting|sitting|seated|supine\s+at\s+rest|\bABG\b|arterial\s+blood\s+gas",
                                 re.IGNORECASE)}
_QUALIFYING = re.compile(r"qualif", re.IGNORECASE)
# a sentence's end, not a speck OCR set between two words of one ("During exercise room. air 80%") nor one
# standing apart in a table row ("During exercise room air . 90%"): a sentence's period follows its last word
_LABEL_TAIL = re.compile(r"[A-Za-z][A-Za-z ]{0,15}\)?[:;]?")  # a word or two ending a label: "air):"
_SENTENCE_BREAK = re.compile(r"(?<!\s)[.!?](?=\s+(?![a-z]))")
_CLAUSE_BREAK = re.compile(_SENTENCE_BREAK.pattern + r"|\n\s*\n")
QUALIFYING_SPO2 = 89.0  # Group I (≤ 88 %) and Group II (89 %) of LCD L33797
SPO2_RANGE = (50.0, 100.0)
PAO2_RANGE = (20.0, 150.0)


@dataclass(frozen=True)
class Reading:
    kind: str  # "spo2" | "pao2"
    value: float
    condition: str | None  # the condition its own clause names
    on_oxygen: bool
    called_qualifying: bool
    page: ScanPage
    start: int
    end: int


def oxygen_test(scan: Scan) -> ExtractedField | None:
    readings = [*_spo2_readings(scan), *_pao2_readings(scan)]
    if not readings:
        return None
    test_condition = document_condition(scan)
    chosen = _deciding(readings, test_condition)
    value: dict[str, Any] = {"date": None, "spo2": None, "pao2": None,
                             "condition": chosen.condition or test_condition}
    value[chosen.kind] = _plain_number(chosen.value)
    if chosen.kind == "spo2":  # a blood gas drawn with the oximetry is reported beside it
        value["pao2"] = next((_plain_number(r.value) for r in readings if r.kind == "pao2" and not r.on_oxygen), None)
    date = labelled_date(scan, STUDY_DATE_LABELS) or first_event_date(scan)
    value["date"] = date.value if date else None
    return scan.field("oxygen_test", value, chosen.page, chosen.start, chosen.end, 0.9 if date else 0.75)


def _deciding(readings: list[Reading], test_condition: str) -> Reading:
    """The reading that decides qualification (the module docstring gives the order)."""
    room_air = [r for r in readings if not r.on_oxygen] or readings
    named = [r for r in room_air if r.called_qualifying]
    if named:
        return min(named, key=_severity)
    could_qualify = [r for r in room_air if (r.kind == "spo2" and r.value <= QUALIFYING_SPO2)
                     or (r.kind == "pao2" and r.value <= 59)]
    if could_qualify:
        return min(could_qualify, key=_severity)
    in_condition = [r for r in room_air if (r.condition or test_condition) == test_condition]
    return min(in_condition or room_air, key=_severity)


def _severity(reading: Reading) -> tuple[int, float]:
    """Lower is worse: oximetry before blood gas (the oximetry names the condition), then the value."""
    return (0 if reading.kind == "spo2" else 1, reading.value)


def _spo2_readings(scan: Scan) -> list[Reading]:
    readings = []
    for page, match in scan.find(_PERCENT):
        value = float(match.group(1))
        before, after = _clause(page, match.start(), match.end())
        if (SPO2_RANGE[0] <= value <= SPO2_RANGE[1] and _SPO2_CONTEXT.search(before)
                and not _NOT_A_READING.search(before)):
            readings.append(_reading("spo2", value, before, after, page, match.start(1), match.end(1)))
    return readings


def _pao2_readings(scan: Scan) -> list[Reading]:
    readings = []
    for page, match in scan.find(_PAO2):
        value = float(match.group(1))
        before, after = _clause(page, match.start(), match.end())
        if PAO2_RANGE[0] <= value <= PAO2_RANGE[1]:
            readings.append(_reading("pao2", value, before, after, page, match.start(1), match.end(1)))
    return readings


def _reading(kind: str, value: float, before: str, after: str, page: ScanPage, start: int, end: int) -> Reading:
    clause = before + page.folded[start:end] + after
    here = len(before)  # the reading's place in its clause: the nearer of "room air" and "on 2 L" tells
    air, oxygen = (_distance(pattern, clause, here) for pattern in (_ROOM_AIR, _ON_OXYGEN))
    on_oxygen = oxygen is not None and (air is None or oxygen < air)
    return Reading(kind, value, _condition(clause), on_oxygen, bool(_QUALIFYING.search(clause)), page, start, end)


def _distance(pattern: re.Pattern[str], text: str, position: int) -> int | None:
    """How far the nearest match of ``pattern`` in ``text`` stands from ``position`` (None: no match)."""
    return min((min(abs(found.start() - position), abs(found.end() - position)) for found in pattern.finditer(text)),
               default=None)


def _clause(page: ScanPage, start: int, end: int) -> tuple[str, str]:
    """The text of the clause holding ``page.folded[start:end]``, before and after it: back to the sentence's
    start (at most the line above, when the reading's own line has no words before it: a form's value under
    its label, or prose wrapped; blank lines OCR put between a cell's lines are passed over, and so is a line
    holding only the end of the label the cell wrapped), forward to the end of the sentence or the line."""
    text = page.folded
    line_start = text.rfind("\n", 0, start) + 1
    floor = line_start
    breaks_before = _CLAUSE_BREAK
    if line_start and not re.search(r"[A-Za-z]", text[line_start:start]):
        floor = text.rfind("\n", 0, len(text[:line_start].rstrip())) + 1
        if floor and _LABEL_TAIL.fullmatch(text[floor:line_start].strip()):
            # the line above is only the end of a label a cell wrapped ("Lowest SpO2 during sleep (room⏎air):")
            floor = text.rfind("\n", 0, len(text[:floor].rstrip())) + 1
        breaks_before = _SENTENCE_BREAK
    breaks = [found.end() for found in breaks_before.finditer(text, floor, start)]
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    stop = _CLAUSE_BREAK.search(text, end, line_end)
    return text[breaks[-1] if breaks else floor:start], text[end:stop.start() if stop else line_end]


def _condition(text: str) -> str | None:
    for condition, pattern in CONDITIONS.items():
        if pattern.search(text):
            return condition
    return None


def document_condition(scan: Scan) -> str:
    """The condition the report as a whole is about (the one it names most), rest when it names none."""
    counts = {condition: sum(1 for _ in scan.find(pattern)) for condition, pattern in CONDITIONS.items()}
    best = max(counts, key=lambda condition: counts[condition])
    return best if counts[best] else "rest"


def _plain_number(value: float) -> float | int:
    return int(value) if value == int(value) else value
