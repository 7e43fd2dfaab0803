"""OCR's misreadings of a form's label words put right before the labels are searched: "Nanie:" for "Name:",
"Date of Blrth:" for "Date of Birth:", "Medicare #" read with a 0 for the o; and, for classification, of the
words of document titles ("Visit Simmary").

Only words standing in a label — at most four words right before a colon on their line — are considered
(title words anywhere), and only on OCR'd pages. A word is replaced by the word it reads as once OCR's usual
confusions are undone on both (m read as rn, ni or in, d as cl, w as vv, l and i and 1 alike, o as 0, s as 5),
or, for words of six letters or more, is one edit away from it then. The replacement keeps the page's length
— it is padded with spaces, and never longer than the word it replaces — so spans found afterwards are
still spans of the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rapidfuzz.distance import Levenshtein

LABEL_WORDS = ("name", "patient", "birth", "date", "gender", "medicare", "member", "insurance", "physician",
               "provider", "prescriber", "ordering", "ordered", "diagnosis", "diagnoses", "signature", "record",
               "number", "account", "beneficiary", "study", "visit", "service", "order", "quantity", "payer",
               "primary", "subscriber", "policy", "chart", "practitioner", "treating", "referring", "medical",
               "carrier", "plan", "performed", "recording", "test", "tested", "birthdate")
_CONFUSIONS = (("rn", "m"), ("ni", "m"), ("in", "m"), ("nl", "m"), ("cl", "d"), ("vv", "w"), ("1", "l"), ("|", "l"),
               ("i", "l"), ("0", "o"), ("5", "s"))
_LABEL_RUN = re.compile(r"(?m)(?:^|(?<=[ |]))((?:[A-Za-z0-9|]{2,}[ .,]{1,2}){0,3}[A-Za-z0-9|]{3,})[ ]?(?=:)")
_WORD = re.compile(r"[A-Za-z0-9|]{3,}")
# A title word with a glyph no English word holds read into it ("Discharge St\u00abmary"): one word, not two
_TITLE_WORD = re.compile(r"[A-Za-z0-9|]+(?:[^\x00-\x7f][A-Za-z0-9|]+)?")
_STRAY_GLYPH = re.compile(r"[^\x00-\x7f]")
FUZZY_MIN_LENGTH = 6
LONG_TITLE_WORD = 7


def ocr_shape(word: str) -> str:
    """``word`` lower-cased with OCR's usual confusions undone: words of one shape may be one word read two
    ways ("Emest" and "Ernest")."""
    shape = word.lower()
    for seen, meant in _CONFUSIONS:
        shape = shape.replace(seen, meant)
    return shape


_SHAPES = {ocr_shape(word): word for word in LABEL_WORDS}
# The words of the document kinds' titles (``classify``), six letters or more
TITLE_WORDS = ("summary", "encounter", "discharge", "progress", "consultation", "polysomnography", "polysomnogram",
               "oximetry", "overnight", "prescription", "demographics", "registration", "interpretation",
               "equipment", "written", "detailed", "standard", "evaluation", "ambulatory", "nocturnal", "arterial",
               "clinical", "continuity", "attended", "titration", "medicine", "pulmonary", "follow-up")


def title_shape(word: str) -> str:
    """``ocr_shape`` with the confusions of a title's large letters too: a u read as "ti" or "ii" ("Clinical
    Stimmary"). Kept to titles: in a label or a name "ti" is as often a "ti"."""
    return ocr_shape(word.lower().replace("ti", "u").replace("ii", "u"))


_TITLE_SHAPES = {title_shape(word): word for word in TITLE_WORDS}


def repair_labels(text: str) -> str:
    """``text`` (same length) with misread label words before colons replaced by the words they stand for."""
    repaired = list(text)
    for run in _LABEL_RUN.finditer(text):
        for word in _WORD.finditer(run.group(1)):
            meant = label_word(word.group())
            if meant and meant != word.group().lower():
                start = run.start(1) + word.start()
                written = _like(meant, word.group())
                repaired[start:start + len(word.group())] = written.ljust(len(word.group()))
    return "".join(repaired)


def repair_title_words(text: str, *, heading: bool = False) -> str:
    """``text`` (same length) with misread words of document titles anywhere ("Visit Simmary", "Encounter
    S:-.ary") put right, so that a kind's title still counts as its evidence. On a ``heading`` line, where a
    title is expected and its large letters blur, a word of ``LONG_TITLE_WORD`` letters or more may be two
    glyphs misread ("Discharge Stumary"), none added or lost — a word with a letter more or less is another
    word ("Attending", "Clinician")."""
    repaired = list(text)
    for word in _TITLE_WORD.finditer(text):
        if len(word.group()) < 3:
            continue
        extra = 1 if heading and len(word.group()) >= LONG_TITLE_WORD else 0
        meant = label_word(word.group(), _TITLE_SHAPES, TITLE_WORDS, shape_of=title_shape, extra_edits=extra)
        if meant and meant != word.group().lower():
            repaired[word.start():word.end()] = _like(meant, word.group()).ljust(len(word.group()))
    for word in _PUNCTUATED_WORD.finditer(text):
        meant = _unreadable_letters_word(word.group())
        if meant:
            repaired[word.start():word.end()] = _like(meant, word.group()).ljust(len(word.group()))
    return "".join(repaired)


# A word with a run of punctuation OCR read for letters it could not make out ("S:-.ary" for "Summary")
_PUNCTUATED_WORD = re.compile(r"(?<![\w.:;,/-])[A-Za-z]+[^\w\s/()]{1,3}[A-Za-z]+(?![\w:;/-])")
_UNREADABLE_RUN = re.compile(r"[^A-Za-z]+")


def _unreadable_letters_word(word: str) -> str | None:
    """The one title word ``word`` can be when its punctuation run stands for as many letters as it has glyphs
    or fewer ("S:\u2122mmary"), the letters it kept exactly where the title word has them (three at least, so a
    word it can be is not guessed from a letter or two), or None."""
    letters = sum(char.isalpha() for char in word)
    if letters < 3 or len(word) < 5:
        return None
    pattern = re.compile("".join(re.escape(ocr_shape(part)) if part.isalpha() else f"[a-z]{{1,{len(part)}}}"
                                 for part in re.split(r"([^A-Za-z]+)", word) if part))
    found = [title for title in TITLE_WORDS if pattern.fullmatch(ocr_shape(title))]
    return found[0] if len(found) == 1 else None


def label_word(word: str, shapes: dict[str, str] | None = None, words: tuple[str, ...] = LABEL_WORDS, *,
               shape_of: Callable[[str], str] = ocr_shape, extra_edits: int = 0) -> str | None:
    """The label (or title) word ``word`` reads as (see the module docstring), or None. A stray glyph in it
    stands for a letter OCR could not read, one edit more allowed."""
    shapes = _SHAPES if shapes is None else shapes
    if word.lower() in words:
        return word.lower()
    shape = shape_of(word)
    meant = shapes.get(shape)
    if meant is None and len(word) >= FUZZY_MIN_LENGTH:
        # one edit away, but not the word with an ending added ("Physicians" is a word, not a misread label)
        edits = 1 + bool(_STRAY_GLYPH.search(word)) + extra_edits
        close = [label for label_shape, label in shapes.items()
                 if (Levenshtein.distance(shape, label_shape) <= edits - extra_edits
                     or (len(shape) == len(label_shape) == len(label) == len(word)
                         and Levenshtein.distance(shape, label_shape) <= edits))
                 and not shape.startswith(label_shape)]
        meant = close[0] if len(close) == 1 else None
    if meant is None and len(word) < FUZZY_MIN_LENGTH:
        meant = _thin_stroke_dropped(shape, shapes)
    return meant if meant and len(meant) <= len(word) else None


def _thin_stroke_dropped(shape: str, shapes: dict[str, str]) -> str | None:
    """The one word of four letters or more that a short word's shape spells without one thin stroke inside
    it ("Namie" for "Name": OCR reads a speck as an i or an l — an ``l`` in the shape), or None. Only inside
    the word: an ending added ("Dates") is another word."""
    found = {shapes[dropped] for i in range(1, len(shape) - 1) if shape[i] == "l"
             and len(dropped := shape[:i] + shape[i + 1:]) >= 4 and dropped in shapes}
    return found.pop() if len(found) == 1 else None


def _like(word: str, written: str) -> str:
    """``word`` in the case ``written`` was in: capitals, a capital first letter, or lower case."""
    if written.isupper():
        return word.upper()
    return word.capitalize() if written[:1].isupper() else word
