"""A document's text fingerprint for deduplication: the hash of its normalized text (exact duplicates),
the set of its word 3-shingles as 32-bit hashes (exact Jaccard) and their MinHash signature (LSH), and
its vocabulary (the set of its words, hashed) for comparing an OCR re-scan with the same patient's copy.

Speed (100,000 documents in a minute on two cores) shapes two choices. Words are cut and hashed at C
speed (``bytes.translate`` + ``split`` + ``zlib.crc32``), and the word hashes of each shingle combined
in one numpy expression, so there is no Python call per shingle. Each signature is one numpy
expression over the shingles-by-permutations matrix, with exactly the
arithmetic of datasketch's ``affine32`` scheme and its permutations (MurmurHash3's 32-bit finalizer,
then ``a·h + b mod 2³²``), so the values are those ``MinHash.update_batch`` gives (a test checks it)
at a third of its per-document cost.
"""

from __future__ import annotations

import hashlib
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
from datasketch import LeanMinHash, MinHash

SHINGLE_WORDS = 3
MIN_WORDS = 20  # below this a text is too short to call two documents the same by their words
SCHEME = "affine32"
SEED = 1

_KEPT = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyz")
_TO_WORDS = bytes(c if c in _KEPT else 0x20 for c in range(256))  # every other byte becomes a space


def words(text: str) -> list[bytes]:
    """The lower-case words of letters and digits: layout, punctuation and case differences between two
    copies of one document disappear (accented letters lose their accent)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
    return text.lower().encode("ascii", "ignore").translate(_TO_WORDS).split()


def normalize_text(text: str) -> str:
    return b" ".join(words(text)).decode()


@dataclass(frozen=True)
class Fingerprint:
    text_hash: str | None  # sha256 of the normalized text; None when the text is too short to compare
    shingles: np.ndarray  # sorted unique uint32 word 3-shingle hashes
    signature: np.ndarray  # MinHash hash values (uint32, num_perm of them)
    vocabulary: np.ndarray  # sorted unique uint32 word hashes: OCR garbles a word, not its neighbours

    @property
    def comparable(self) -> bool:
        return self.text_hash is not None

    @cached_property
    def minhash(self) -> LeanMinHash:
        """The signature as a datasketch ``LeanMinHash`` (no permutations to build), for ``MinHashLSH``."""
        return LeanMinHash(seed=SEED, hashvalues=self.signature, scheme=SCHEME)


@cache
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    return MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME).permutations


def word_hashes(text_words: Sequence[bytes]) -> np.ndarray:
    return np.fromiter(map(zlib.crc32, text_words), dtype=np.uint64, count=len(text_words))


def shingle_hashes(hashed: np.ndarray) -> np.ndarray:
    """The word 3-shingles of a text, from its word hashes in order."""
    count = len(hashed)
    if count < SHINGLE_WORDS:
        return np.unique(hashed.astype(np.uint32))
    span = count - SHINGLE_WORDS + 1
    combined = hashed[:span].copy()
    for offset in range(1, SHINGLE_WORDS):
        # h·odd + next (mod 2⁶⁴), folded to 32 bits: order-sensitive, and no Python call per shingle.
        combined = combined * np.uint64(0x9E3779B97F4A7C15) + hashed[offset: span + offset]
    return np.unique((combined ^ (combined >> np.uint64(32))).astype(np.uint32))


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (datasketch's ``affine32`` pre-mix), on uint32 with wrap-around."""
    h = values.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def signature(shingles: np.ndarray, num_perm: int) -> np.ndarray:
    """The MinHash signature (``num_perm`` uint32) of a shingle set; an empty set gets datasketch's empty
    signature (all 2**32 - 1)."""
    if not len(shingles):
        return np.full(num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
    a, b = _permutations(num_perm)
    return (_fmix32(shingles)[:, None] * a + b).min(axis=0)


def fingerprint(text: str, num_perm: int = 128) -> Fingerprint:
    text_words = words(text)
    hashed = word_hashes(text_words)
    shingles = shingle_hashes(hashed)
    text_hash = hashlib.sha256(b" ".join(text_words)).hexdigest() if len(text_words) >= MIN_WORDS else None
    return Fingerprint(text_hash, shingles, signature(shingles, num_perm), np.unique(hashed.astype(np.uint32)))


def jaccard(first: np.ndarray, second: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted unique hash arrays (shingles or vocabularies)."""
    if not len(first) or not len(second):
        return 0.0
    common = len(np.intersect1d(first, second, assume_unique=True))
    return common / (len(first) + len(second) - common)


def lsh_bands(threshold: float, num_perm: int, recall: float = 0.999) -> tuple[int, int]:
    """(bands, rows) for MinHashLSH: the most rows per band (fewest chance candidates) that still finds a
    pair exactly at ``threshold`` with probability ≥ ``recall``. datasketch's own optimum weighs false
    positives and negatives alike and finds under half of the pairs at 0.85 with 128 permutations;
    here a false positive costs one exact Jaccard, a false negative a missed duplicate."""
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if 1 - (1 - threshold**rows) ** bands >= recall:
            return bands, rows
    return num_perm, 1


_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")


def date_stated(shingles: np.ndarray, iso: str) -> bool:
    """Whether a text with these word 3-shingles writes the date ``iso`` (YYYY-MM-DD) in one of the ways
    practices do — 05/03/2025, 5-3-25, 2025-05-03, May 3, 2025, 3-May-2025, 3 May 2025 — whatever field
    the extractor read it into, or missed."""
    try:
        year, month, day = (int(part) for part in iso.split("-"))
    except ValueError:
        return False
    months = [f"{month:02d}", str(month)]
    days = [f"{day:02d}", str(day)]
    names = [_MONTH_NAMES[month - 1], _MONTH_NAMES[month - 1][:3]] if 1 <= month <= 12 else []
    years = [str(year), f"{year % 100:02d}"]
    phrases = [(m, d, y) for m in months for d in days for y in years]
    phrases += [(str(year), months[0], days[0])]
    phrases += [phrase for name in names for d in days for phrase in ((name, d, str(year)), (d, name, str(year)))]
    wanted = np.concatenate([shingle_hashes(word_hashes([w.encode() for w in phrase])) for phrase in phrases])
    return bool(np.isin(wanted, shingles).any())
