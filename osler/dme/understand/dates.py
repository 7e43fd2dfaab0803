"""Dates as practices write them — 04/09/1951, 4-9-51, 1951-04-09, 09-Apr-1951, April 9, 1951, 9 April 1951,
04.09.1951 — found in text and turned into ISO dates. Numeric dates are read month first (US) unless the
first number cannot be a month. OCR's letter-for-digit confusions inside a date are read as digits, and its
full stop or semicolon for a comma ("April 9. 1951") as the comma, and specks beside the month ("22° April'
1945") as spaces."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from osler.dme.understand.normalize import fold_digits

_MONTHS = {name: number for number, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")), start=1) for name in names}
_MONTH = r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|" \
         r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DIGITISH = r"[0-9OoIl|SBZ$\]\[!]"
# A numeric date's separator, with a speck OCR may leave beside it ("05-(03-2025"), or a slash read as a degree sign
# or an apostrophe ("09'24°2025")
_SEPARATOR = r"\s?[-/.°']\s?[('`]?"
# Between a written date's day and year: a comma as OCR may read it, with specks ("Oct 23,:> 2025")
_DAY_YEAR = r"(?:st|nd|rd|th)?[\s,.;:'`°>~*]{1,4}"
# A written date's four-digit year, with a speck OCR may set among its digits ("December 8, 193-4")
_YEAR4 = rf"{_DIGITISH}(?:['.-]?{_DIGITISH}){{3}}"
# A day OCR read with a zero's ghost before it ("DOB O05 August 1936")
_DAY_GHOST = r"(?:[0Oo](?=\d\d(?![\w/])))?"
_DATE = re.compile(
    # not inside a longer number or date, but a dash or a stop that OCR put before a date may stand there
    # ("D.O.B.: -07/28/1947", "Study performed .Aug 12, 2025")
    rf"(?:(?<![\w/.-])|(?<=[\s:][-.]))(?:"
    rf"(?P<y1>(?:19|20)\d\d){_SEPARATOR}(?P<m1>{_DIGITISH}{{1,2}}){_SEPARATOR}(?P<d1>{_DIGITISH}{{1,2}})"
    # OCR may split a month's two digits with a space ("1 1-06-2025"); its first is then a 0 or a 1
    rf"|(?P<a>[01OoIl|!\]\[{{}}][ ]{_DIGITISH}|{_DIGITISH}{{1,2}}){_SEPARATOR}(?P<b>{_DIGITISH}{{1,2}}){_SEPARATOR}"
    rf"(?P<y2>{_DIGITISH}{{4}}|{_DIGITISH}{{2}})"
    # a form's padded date whose slashes OCR lost to spaces or read as colons ("10°18 1956", "06 09 1946",
    # "10:18:1956"; a four-digit year, so that no time of day reads as a date)
    rf"|(?P<a5>\d\d)(?:{_SEPARATOR}|[ :])(?P<b5>\d\d)[ :](?P<y5>(?:19|20)\d\d)"
    # (the day's full stop, as Europe writes it or OCR reads a speck: "18. March 1952")
    rf"|{_DAY_GHOST}(?P<d3>{_DIGITISH}{{1,2}})(?:st|nd|rd|th)?[\s\-°'`:.,]+{_MONTH.replace('mon', 'mon3')}"
    # (a colon after the month only before a four-digit year: "01 June: 2025", not "12 May: 10 units")
    rf"(?:[\s,.\-'`°]+|[:;][\s]*(?={_DIGITISH}{{4}}))(?P<y3>{_YEAR4}|{_DIGITISH}{{2}})"
    # the month's full stop or colon, or a speck, may stand for the space or beside it ("October.15, 1944",
    # "April: 27", "September'14", "Sep .18", "Sep -18")
    rf"|{_MONTH}[\s,.:;'`°-]{{0,3}}(?P<d4>{_DIGITISH}{{1,2}}){_DAY_YEAR}(?P<y4>{_YEAR4})"
    rf")(?![\w/]|\.\d)",
    re.IGNORECASE,
)


FIRST_YEAR = 1880  # the earliest year a date on DME paperwork (a birth date) can have
YEARS_AHEAD = 10  # …and the latest, this many years from now (a length of need's end, a follow-up)


@dataclass(frozen=True)
class FoundDate:
    iso: str
    start: int
    end: int


def find_dates(text: str, *, birth: bool = False, start: int = 0, end: int | None = None) -> Iterator[FoundDate]:
    """Every parseable date in ``text[start:end]`` in order; ``birth`` reads two-digit years as the past."""
    for match in _DATE.finditer(text, start, len(text) if end is None else end):
        iso = _to_iso(match, birth=birth)
        if iso:
            yield FoundDate(iso, match.start(), match.end())


def _to_iso(match: re.Match[str], *, birth: bool) -> str | None:
    groups = match.groupdict()
    if groups["y1"]:
        month_text, day_text = fold_digits(groups["m1"]), fold_digits(groups["d1"])
        if not (month_text.isdigit() and day_text.isdigit()):
            return None
        year, month, day = int(groups["y1"]), int(month_text), int(day_text)
    elif groups["a"] or groups["a5"]:
        names = ("a", "b", "y2") if groups["a"] else ("a5", "b5", "y5")
        first, second, year_text = (fold_digits(groups[name]).replace(" ", "") for name in names)
        if not (first.isdigit() and second.isdigit() and year_text.isdigit()):
            return None
        month, day = int(first), int(second)
        if month > 12 and " " in (groups["a"] or ""):
            return None  # two numbers, not a month OCR split ("2 1-3-2025")
        if month > 12 >= day:
            month, day = day, month
        year = _full_year(year_text, birth=birth)
    elif groups["d3"]:
        day_text, year_text = fold_digits(groups["d3"]), _year_digits(groups["y3"])
        if not (day_text.isdigit() and year_text.isdigit()):
            return None
        day, month, year = int(day_text), _MONTHS[groups["mon3"].lower()[:3]], _full_year(year_text, birth=birth)
    else:
        day_text, year_text = fold_digits(groups["d4"]), _year_digits(groups["y4"])
        if not (day_text.isdigit() and year_text.isdigit()):
            return None
        month, day, year = _MONTHS[groups["mon"].lower()[:3]], int(day_text), int(year_text)
    if not FIRST_YEAR <= year <= dt.date.today().year + YEARS_AHEAD:
        return None  # no paperwork's date: OCR misread the year ("3025" for "2025")
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _year_digits(text: str) -> str:
    """A written year's digits: look-alike glyphs read as digits, specks among them dropped."""
    return re.sub(r"['.-]", "", fold_digits(text))


def _full_year(text: str, *, birth: bool) -> int:
    if len(text) == 4:
        return int(text)
    two_digits = int(text)
    this_year = dt.date.today().year % 100
    # A birth year in two digits is in the past; any other date on a current order is this century.
    return (1900 if birth and two_digits > this_year else 2000) + two_digits
