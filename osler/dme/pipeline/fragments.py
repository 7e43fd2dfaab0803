"""Faxed fragments of one document: a long document faxed in parts, each part's first page marked with the
sender's reference and "part N of M". The router holds the parts until all M have arrived, then puts them
together (``assemble``) as one document — pages renumbered, not read again — which then goes on like any
other document."""

from __future__ import annotations

import re
from dataclasses import dataclass

from osler.dme.model import Document, Page

FRAGMENT_MARK = re.compile(r"(?:ref|doc(?:ument)?\s*(?:#|id))\s*:?\s*#?\s*([0-9A-Z]{5,})\W{0,6}\s*\(?\s*part\s*"
                           r"(\d+)\s*(?:of|/)\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class FragmentMark:
    reference: str
    part: int
    parts: int


def fragment_mark(document: Document) -> FragmentMark | None:
    if not document.pages:
        return None
    found = FRAGMENT_MARK.search(document.pages[0].text)
    if not found or int(found.group(3)) < 2:
        return None
    return FragmentMark(found.group(1).upper(), int(found.group(2)), int(found.group(3)))


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
