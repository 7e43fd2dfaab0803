"""Deduplication of the documents the pipeline receives: exact repeats (same file or same normalized text),
near repeats (re-scans, re-sends: MinHash LSH over word shingles, confirmed by exact Jaccard and by the
key fields), and amended orders, which are never dropped but supersede the version they amend."""

from osler.dme.dedupe.deduper import VERDICTS, Deduper, DedupeVerdict
from osler.dme.dedupe.fingerprint import Fingerprint, fingerprint, jaccard

__all__ = ["VERDICTS", "DedupeVerdict", "Deduper", "Fingerprint", "fingerprint", "jaccard"]
