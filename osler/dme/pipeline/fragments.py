"""Faxed fragments of one document: a long document faxed in parts, each part's first page marked with the
sender's reference and "part N of M". The router holds the parts until all M have arrived, then puts them
together (``assemble``) as one document — pages renumbered, not read again — which then goes on like any
other document."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from osler.dme.model import Document, Page
from osler.dme.understand.normalize import fold, fold_digits

# "Ref 94N66913 - part 2 of 3", "Document #94N66913, part 2/3", "Doc ID 94N66913 (part 2 of 3)"; OCR may bend
# the words ("Documént", "Ret"), put a speck before the part number ("part .2/3"), read a part 1 as "part | of 3"
# or "part J of 3"
# and misread a character of the reference — as another character or as a glyph no reference holds
# ("#5@75361" for "#5675361") — so references are grouped by edit distance (``fragment_set``).
# (or split by a space or a speck OCR read into it: "#55C 22827", "84C.49078")
_REFERENCE = r"[0-9A-Z!|\[\]](?:[0-9A-Z]|[^\w\s,.;:()\-]|[ .](?=[0-9A-Z])){4,}"  # (its 1 read as "!": "!2W66885")
FRAGMENT_MARK = re.compile(rf"\b(?:re[ft]\b|doc\w*)\s*(?:#|id|no\.?)?['`]?\s*:?\s*#?\s*({_REFERENCE})\W{{0,6}}\s*\(?\s*"
                           r"part\s*[.,:'`]?\s*(\d{1,2}|[Il|!\]J])[\s-]*(?:of|/)[.,:;'`]?\s*(\d{1,2})", re.IGNORECASE)
REFERENCE_EDITS = 2


@dataclass(frozen=True)
class FragmentMark:
    reference: str
    part: int
    parts: int


def fragment_mark(document: Document) -> FragmentMark | None:
    return fragment_mark_in(document.pages[0].text) if document.pages else None


def fragment_mark_in(text: str) -> FragmentMark | None:
    """The mark a part's first page carries, or ``None`` (no mark, or a "part 1 of 1")."""
    found = FRAGMENT_MARK.search(fold(text))  # typographic quotes OCR reads for specks made plain
    if not found or int(found.group(3)) < 2:
        return None
    return FragmentMark(re.sub(r"[ .]", "", found.group(1)).upper(), int(fold_digits(found.group(2))),
                        int(found.group(3)))


def fragment_set(sets: Iterable[tuple[str, int]], mark: FragmentMark) -> tuple[str, int]:
    """The key (reference, parts) of the set among ``sets`` that ``mark``'s part belongs to — the same number
    of parts and a reference at most ``REFERENCE_EDITS`` apart — or a new key for a set of its own."""
    for key in sets:
        if key[1] == mark.parts and Levenshtein.distance(key[0], mark.reference) <= REFERENCE_EDITS:
            return key
    return mark.reference, mark.parts


def complete(parts: list[tuple[FragmentMark, Document]]) -> list[Document] | None:
    """The parts in order when every one of them is there, else ``None``."""
    by_part = {mark.part: document for mark, document in parts}
    expected = parts[0][0].parts
    if set(by_part) != set(range(1, expected + 1)):
        return None
    return [by_part[number] for number in range(1, expected + 1)]


def joined_pages(documents: list[Document]) -> list[Page]:
    pages = [page for document in documents for page in document.pages]
    return [Page(number, page.text, page.source, page.ocr_confidence) for number, page in enumerate(pages, 1)]
