"""The deduplication index: every document the pipeline has kept, by file hash, normalized-text hash,
MinHash LSH and patient, answering for a new document whether it is new, an exact or near repeat of one
already kept, or an amended order that replaces (or is replaced by) one.

Candidates are found two ways, and judged by their key fields (``keys.compare``):

* by their words: word 3-shingle Jaccard ≥ ``threshold`` (0.85), proposed by the LSH — a re-sent or
  lightly re-scanned document;
* by their patient: a kept document of the same kind and patient (same MBI or MRN, look-alike glyphs
  folded; same birth date and family initial; same name). OCR of a skewed, speckled fax garbles one word
  in a few, which breaks three shingles each: measured on the synthetic corpus, re-scans of one document
  score 0.33-0.86 on shingles but 0.61-0.94 on vocabulary (word-set Jaccard), while the same kind of
  document for two patients scores at most 0.46. A repeat found this way needs a vocabulary ≥
  ``RESCAN_SIMILARITY`` and a content field stated by both and equal (a study's results, an order's
  items…); an amendment needs neither — an order for the same patient and item with another date,
  quantity or marking is a version of it whatever form it was written on.

A near repeat that states what the kept copy lacks (OCR lost a diagnosis from the first copy read) is
still a repeat, flagged ``richer``: the pipeline keeps it in the first copy's place.

Durable when given a path: each added document is one SQLite row (its key fields, shingles, signature
and vocabulary), committed before ``add`` returns; opening the file rebuilds the in-memory indexes from
the stored rows, no text needed.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from datasketch import MinHashLSH

from osler.dme.dedupe.agreement import Texts
from osler.dme.dedupe.fingerprint import Fingerprint, fingerprint, jaccard, lsh_bands
from osler.dme.dedupe.keys import compare, key_fields
from osler.dme.identity import folded_identifier
from osler.dme.model import Document

VERDICTS = ("unique", "exact", "near", "supersedes", "superseded")
RESCAN_SIMILARITY = 0.5  # vocabulary Jaccard for a same-patient, same-kind document to be taken for a repeat


@dataclass(frozen=True)
class DedupeVerdict:
    """``exact``/``near``: drop the document, it repeats ``of``. ``supersedes``: an amended order, keep it
    and retire ``of``. ``superseded``: an amended order arrived before this older version; keep this one
    on file but ``of`` stands. ``unique``: keep it. ``richer`` (``near`` only): the content fields this
    copy states and ``of`` lacks — the pipeline keeps this copy in its place."""

    verdict: str
    of: str | None = None
    similarity: float = 0.0
    reason: str = ""
    richer: tuple[str, ...] = ()


@dataclass
class _Entry:
    sha256: str
    arrival: int
    text_hash: str | None
    keys: dict[str, Any]
    shingles: np.ndarray
    vocabulary: np.ndarray


def _patient_keys(keys: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Where to look for the same patient's documents of the same kind: by MBI and by MRN (look-alike
    glyphs folded), by birth date with the family name's first letter (a birth date alone is shared by
    thousands in a large inbox), and by name (a re-scan may have lost every identifier but the name)."""
    kind = keys.get("kind") or ""
    found = [(kind, name, str(folded_identifier(keys[name]))) for name in ("mbi", "mrn") if keys.get(name)]
    name = keys.get("patient_name") or {}
    family = "".join(filter(str.isalpha, str(name.get("family") or "").lower()))
    given = "".join(filter(str.isalpha, str(name.get("given") or "").split(" ")[0].lower()))
    if keys.get("birth_date") and family:
        found.append((kind, "birth_date", f"{keys['birth_date']} {family[0]}"))
    if family and given:
        found.append((kind, "name", " ".join(sorted((family, given)))))  # "Last, First" read as "First Last"
    return found


_SCHEMA = """CREATE TABLE IF NOT EXISTS dedupe_document (
    sha256 TEXT PRIMARY KEY, arrival INTEGER NOT NULL, text_hash TEXT, keys TEXT NOT NULL,
    shingles BLOB NOT NULL, signature BLOB NOT NULL, vocabulary BLOB NOT NULL)"""


class Deduper:
    def __init__(self, threshold: float = 0.85, num_perm: int = 128, path: Path | str | None = None) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands, self.rows = lsh_bands(threshold, num_perm)
        self._lsh = MinHashLSH(num_perm=num_perm, params=(self.bands, self.rows))
        self._entries: dict[str, _Entry] = {}
        self._by_text: dict[str, str] = {}
        self._by_patient: dict[tuple[str, str, str], set[str]] = {}
        self._db: sqlite3.Connection | None = None
        # What check worked out for its document, so that the add which normally follows does not redo it.
        self._prepared: tuple[str, Fingerprint | None, dict[str, Any]] = ("", None, {})
        if path is not None:
            self._db = sqlite3.connect(path)
            try:
                self._db.execute(_SCHEMA)
                self._load()
            except Exception:
                self.close()
                raise

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, sha256: str) -> bool:
        return sha256 in self._entries

    def fingerprint(self, document: Document) -> Fingerprint:
        return fingerprint(document.text, self.num_perm)

    def near(self, print_: Fingerprint) -> list[tuple[str, float]]:
        """Kept documents whose shingles' exact Jaccard with ``print_`` is ≥ the threshold, most similar first.
        LSH proposes, the exact Jaccard disposes: no estimate stands between them and a missed pair."""
        if not print_.comparable:
            return []
        found = []
        for sha256 in self._lsh.query(print_.minhash):
            similarity = jaccard(print_.shingles, self._entries[sha256].shingles)
            if similarity >= self.threshold:
                found.append((sha256, similarity))
        return sorted(found, key=lambda pair: (-pair[1], pair[0]))

    def check(self, document: Document, print_: Fingerprint | None = None) -> DedupeVerdict:
        if document.sha256 in self._entries:
            return DedupeVerdict("exact", document.sha256, 1.0, "same file")
        print_, keys = self._prepare(document, print_)
        same_text = self._by_text.get(print_.text_hash) if print_.text_hash else None
        # Same words read into other fields (another extractor, structured facts) is no repeat: judged below.
        if same_text and (keys == self._entries[same_text].keys or
                          compare(keys, self._entries[same_text].keys, self._texts(print_, same_text)).outcome
                          == "same"):
            return DedupeVerdict("exact", same_text, 1.0, "same text")
        amendments: list[DedupeVerdict] = []
        for sha256, similarity, way in self._candidates(print_, keys):
            comparison = compare(keys, self._entries[sha256].keys, self._texts(print_, sha256))
            found = f"{comparison.reason} ({way} {similarity:.2f})"
            if comparison.outcome == "same":
                if way == "vocabulary" and (similarity < RESCAN_SIMILARITY or not comparison.content_agreeing):
                    continue  # the same patient's, but too little alike to call it the same document
                return DedupeVerdict("near", sha256, similarity, found, comparison.richer)
            if comparison.outcome == "amended":
                verdict = "superseded" if comparison.newer == "old" else "supersedes"
                amendments.append(DedupeVerdict(verdict, sha256, similarity, found))
        if amendments:
            # An older version arriving late must not retire the newer one it resembles.
            amendments.sort(key=lambda v: (v.verdict != "superseded", -v.similarity))
            return amendments[0]
        return DedupeVerdict("unique", reason="no kept document with the same words and key fields")

    def _texts(self, print_: Fingerprint, sha256: str) -> Texts:
        return Texts(print_.shingles, self._entries[sha256].shingles)

    def _candidates(self, print_: Fingerprint, keys: dict[str, Any]) -> list[tuple[str, float, str]]:
        """(sha256, similarity, by what) of the kept documents worth comparing, the word-alike ones first."""
        found = [(sha256, similarity, "shingles") for sha256, similarity in self.near(print_)]
        seen = {sha256 for sha256, _, _ in found}
        same_patient = set().union(*(self._by_patient.get(key, ()) for key in _patient_keys(keys))) - seen
        alike = [(sha256, jaccard(print_.vocabulary, self._entries[sha256].vocabulary), "vocabulary")
                 for sha256 in same_patient]
        return found + sorted(alike, key=lambda c: (-c[1], c[0]))

    def add(self, document: Document, print_: Fingerprint | None = None) -> None:
        """Keep ``document`` for later checks (idempotent: a second add of the same file does nothing)."""
        if document.sha256 in self._entries:
            return
        print_, keys = self._prepare(document, print_)
        entry = _Entry(document.sha256, len(self._entries), print_.text_hash, keys, print_.shingles,
                       print_.vocabulary)
        if self._db is not None:
            with self._db:
                self._db.execute("INSERT OR IGNORE INTO dedupe_document VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (entry.sha256, entry.arrival, entry.text_hash, json.dumps(entry.keys),
                                  entry.shingles.tobytes(), print_.signature.tobytes(), entry.vocabulary.tobytes()))
        self._index(entry, print_)

    def _prepare(self, document: Document, print_: Fingerprint | None) -> tuple[Fingerprint, dict[str, Any]]:
        sha256, prepared_print, keys = self._prepared
        if sha256 != document.sha256 or prepared_print is None:
            prepared_print = print_ or self.fingerprint(document)
            keys = key_fields(document, prepared_print.vocabulary)
            self._prepared = (document.sha256, prepared_print, keys)
        return print_ or prepared_print, keys

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _index(self, entry: _Entry, print_: Fingerprint) -> None:
        self._entries[entry.sha256] = entry
        for key in _patient_keys(entry.keys):
            self._by_patient.setdefault(key, set()).add(entry.sha256)
        if entry.text_hash is not None:
            self._by_text.setdefault(entry.text_hash, entry.sha256)
            self._lsh.insert(entry.sha256, print_.minhash, check_duplication=False)

    def _load(self) -> None:
        assert self._db is not None
        rows = self._db.execute("SELECT sha256, arrival, text_hash, keys, shingles, signature, vocabulary "
                                "FROM dedupe_document ORDER BY arrival")
        for sha256, arrival, text_hash, keys, shingles, signature, vocabulary in rows:
            if len(signature) != 4 * self.num_perm:
                raise ValueError(f"the dedupe index was built with {len(signature) // 4} permutations, "
                                 f"not {self.num_perm}")
            stored = Fingerprint(text_hash, np.frombuffer(shingles, dtype=np.uint32),
                                 np.frombuffer(signature, dtype=np.uint32), np.frombuffer(vocabulary, dtype=np.uint32))
            entry = _Entry(sha256, arrival, text_hash, json.loads(keys), stored.shingles, stored.vocabulary)
            self._index(entry, stored)

