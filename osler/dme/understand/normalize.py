"""Text normalisation. ``normalize_text`` is the canonical form for comparing documents (dedupe);
``fold`` is the same clean-up kept character-for-character, so that spans found in folded text are spans
of the page text too (provenance points at what the page really says); ``fold_digits`` also reads the
letters and marks OCR confuses with digits (O, o, I, l, |, ], {, !, S, $, B, Z, &, T, J…) as digits, for
spans whose format pins digits."""

from __future__ import annotations

import re
import unicodedata

_ONE_FOR_ONE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u00a0": " ", "\u2007": " ", "\u2009": " ", "\u202f": " ", "\t": " ", "\r": " ", "\f": "\n",
    "\u2264": "<", "\u2265": ">",
    "\u00a5": "Y",  # OCR's yen sign for a Y ("Member ID: \u00a5998203430"): no US medical form prices in yen
})
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "i": "1",
                                   "L": "1", "S": "5", "s": "5", "$": "5", "B": "8", "Z": "2", "z": "2", "G": "6",
                                   "g": "9", "]": "1", "[": "1", "!": "1", "&": "8", "T": "7", "J": "1",
                                   "{": "1", "}": "1"})


def fold(text: str) -> str:
    """Same length as ``text``: typographic quotes, dashes and spaces made plain, and any character whose
    compatibility form is one character replaced by it (full-width digits, ligature-free accents stay)."""
    folded = []
    for char in text.translate(_ONE_FOR_ONE):
        compatible = unicodedata.normalize("NFKC", char)
        folded.append(compatible if len(compatible) == 1 else char)
    return "".join(folded)


def fold_digits(text: str) -> str:
    """``text`` with digit look-alike letters read as digits (same length)."""
    return text.translate(_DIGIT_LOOKALIKES)


def letters_like(digit: str) -> str:
    """The capital letters ``fold_digits`` reads as ``digit`` — what OCR may have made of it, or it of them."""
    return "".join(sorted(chr(code) for code, read_as in _DIGIT_LOOKALIKES.items()
                          if read_as == digit and chr(code).isupper()))


def normalize_text(text: str) -> str:
    """The canonical text of a document: NFKC, plain punctuation, lower case, one space between words."""
    text = unicodedata.normalize("NFKC", text).translate(_ONE_FOR_ONE).lower()
    return re.sub(r"\s+", " ", text).strip()
