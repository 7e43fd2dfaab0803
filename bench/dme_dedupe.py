"""DME deduplication benchmark: 100,000 synthetic documents of ~300 words through ``osler.dme.dedupe``.

The stream mixes originals with derived copies whose truth is known: re-scans (OCR-like character noise
on 0-6 % of the words, so their Jaccard spreads across the 0.85 threshold), exact re-sends (same text,
other file), amended orders (same patient, changed pressure and order date) and template twins (the
same words for another patient). Measured in one run:

(a) throughput: 2 worker processes fingerprint the texts (normalize, shingle, MinHash) while the main
    process checks and adds each document in arrival order; wall time from the first text to the last
    verdict (target: 100,000 in ≤ 60 s);
(b) recall of the LSH + exact-Jaccard search against exhaustive pairwise Jaccard on a 2,000-document
    sample (whole groups of copies plus unrelated documents): every pair at or above the threshold
    that the index finds (target ≥ 0.99);
(c) verdicts: precision of drops (exact/near must point at a document of the same group with the same
    fields, never at another version of an amended order or at a twin; target 1.0), re-scans above the
    threshold dropped, amended orders answered ``supersedes``/``superseded`` (or dropped only as an
    identical copy of another amendment, which the random edits occasionally produce).

Every document is added to the index (the benchmark keeps all of them on file), so that the sample's
pairs between two copies are in it too.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import resource
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from bench.common import BenchOptions, Row, verdict
from osler.dme.dedupe import Deduper, Fingerprint, fingerprint, jaccard
from osler.dme.model import Document, DocumentKind, ExtractedField, Page

NAME = "dme_dedupe"
TITLE = "DME deduplication: 100,000 documents, MinHash LSH + exact Jaccard + key fields"

DOCUMENTS = 100_000
WORDS = 300
VOCABULARY = 20_000
SAMPLE = 2_000
THRESHOLD = 0.85
NUM_PERM = 128
PROCESSES = 2  # workers fingerprinting ahead of the main process, which checks and adds in arrival order
SEED = 5
SHARES = {"rescan": 0.10, "resend": 0.03, "amended": 0.03, "twin": 0.02}  # of all documents; the rest originals

TARGET_SECONDS = 60.0
TARGET_RECALL = 0.99

_OCR_SLIPS = {"l": "1", "o": "0", "e": "c", "i": "l", "s": "5", "m": "rn", "b": "h", "g": "q"}


@dataclass
class Synthetic:
    document: Document
    group: int  # the original it derives from (its own index for an original)
    role: str  # "original" | "rescan" | "resend" | "amended" | "twin"


def run(options: BenchOptions | None = None, documents: int = DOCUMENTS) -> dict[str, Any]:
    started = time.perf_counter()
    corpus = generate(documents, random.Random(SEED))
    generate_s = time.perf_counter() - started

    load_before = os.getloadavg()[0]
    main_cpu, workers_cpu = time.process_time(), _children_cpu_s()
    deduper = Deduper(THRESHOLD, NUM_PERM)
    prints: list[Fingerprint] = []
    verdicts = []
    busy_s = 0.0
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
        # Pipelined: the workers fingerprint ahead while this process checks and adds in arrival order.
        texts = (s.document.text for s in corpus)
        for synthetic, print_ in zip(corpus, pool.imap(_fingerprint, texts, chunksize=250), strict=True):
            begun = time.perf_counter()
            verdicts.append(deduper.check(synthetic.document, print_))
            deduper.add(synthetic.document, print_)
            busy_s += time.perf_counter() - begun
            prints.append(print_)
    total_s = time.perf_counter() - started
    load_after = os.getloadavg()[0]
    main_cpu, workers_cpu = time.process_time() - main_cpu, _children_cpu_s() - workers_cpu

    figures = {"documents": len(corpus), "words_per_document": WORDS, "threshold": THRESHOLD,
               "num_perm": NUM_PERM, "bands": deduper.bands, "rows_per_band": deduper.rows,
               "processes": PROCESSES, "generate_s": generate_s, "check_and_add_s": busy_s, "total_s": total_s,
               "documents_per_s": len(corpus) / total_s,
               # Other work on the machine slows this run: its 1-minute load average before and after.
               "load_average": [load_before, load_after],
               # CPU seconds spent, which a busy machine does not inflate: the main process (check + add)
               # bounds the wall time on an idle machine from below, as the workers run beside it.
               "cpu_s": {"main": main_cpu, "workers": workers_cpu},
               "roles": Counter(s.role for s in corpus),
               "verdicts": score_verdicts(corpus, prints, verdicts),
               "sample": sample_recall(corpus, prints, deduper, random.Random(SEED + 1))}
    return {"name": NAME, "title": TITLE, "figures": figures, "rows": table_rows(figures)}


def _children_cpu_s() -> float:
    """CPU seconds of the finished child processes (the pool's workers, once it is closed)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _fingerprint(text: str) -> Fingerprint:
    return fingerprint(text, NUM_PERM)


# ----------------------------------------------------------------------------------------- the corpus


def generate(count: int, rng: random.Random) -> list[Synthetic]:
    vocabulary = [_word(rng) for _ in range(VOCABULARY)]
    weights = [1.0 / (rank + 1) for rank in range(VOCABULARY)]  # Zipf: "the", "of"… recur across documents
    corpus: list[Synthetic] = []
    originals: list[int] = []
    derived_roles = rng.choices([*SHARES, "original"], weights=[*SHARES.values(), 1 - sum(SHARES.values())],
                                k=count)
    for role in derived_roles:
        if role == "original" or not originals:
            originals.append(len(corpus))
            corpus.append(_original(len(corpus), vocabulary, weights, rng))
            continue
        source = corpus[rng.choice(originals)]
        corpus.append(_derive(source, role, len(corpus), rng))
    return corpus


def _word(rng: random.Random) -> str:
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 10)))


def _document(number: int, words: list[str], fields: dict[str, Any], kind: DocumentKind) -> Document:
    return Document(f"doc{number:07d}", "bench", f"doc{number:07d}.pdf", "application/pdf",
                    [Page(1, " ".join(words), "text-layer")], kind, 1.0,
                    {name: ExtractedField(name, value, 1.0) for name, value in fields.items()})


def _original(number: int, vocabulary: list[str], weights: list[float], rng: random.Random) -> Synthetic:
    family, given = _word(rng).title(), _word(rng).title()
    birth = f"19{rng.randint(30, 69)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    order_date = f"2026-{rng.randint(1, 9):02d}-{rng.randint(1, 28):02d}"
    pressure = rng.randint(5, 15)
    header = ["patient", family, given, "dob", birth, "order", "date", order_date, "pressure", str(pressure)]
    fields = {"patient_name": {"family": family, "given": given}, "birth_date": birth, "order_date": order_date,
              "items": [{"hcpcs": "E0601", "quantity": 1, "settings": {"pressure": pressure}}]}
    words = header + rng.choices(vocabulary, weights=weights, k=WORDS - len(header))
    return Synthetic(_document(number, words, fields, DocumentKind.DME_ORDER), number, "original")


def _derive(source: Synthetic, role: str, number: int, rng: random.Random) -> Synthetic:
    words = source.document.text.split()
    fields = {name: field.value for name, field in source.document.fields.items()}
    if role == "rescan":
        noise = rng.uniform(0.0, 0.06)
        # The header (patient, DOB, order lines) is what the extractor reads; the noise hits the body.
        words = words[:10] + [_ocr_slip(word, rng) if rng.random() < noise else word for word in words[10:]]
    elif role == "amended":
        pressure = int(words[9]) + rng.randint(1, 3)
        order_date = f"2026-{rng.randint(10, 12):02d}-{rng.randint(1, 28):02d}"
        words = [*words[:7], order_date, "pressure", str(pressure), *words[10:]]
        fields["order_date"] = order_date
        fields["items"] = [{"hcpcs": "E0601", "quantity": 1, "settings": {"pressure": pressure}}]
    elif role == "twin":
        family, given = _word(rng).title(), _word(rng).title()
        birth = f"19{rng.randint(70, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        words = ["patient", family, given, "dob", birth, *words[5:]]
        fields["patient_name"] = {"family": family, "given": given}
        fields["birth_date"] = birth
    return Synthetic(_document(number, words, fields, DocumentKind.DME_ORDER), source.group, role)


def _ocr_slip(word: str, rng: random.Random) -> str:
    slips = [i for i, char in enumerate(word) if char in _OCR_SLIPS]
    if not slips:
        return word + rng.choice(".,'")  # punctuation noise: normalization removes it
    i = rng.choice(slips)
    return word[:i] + _OCR_SLIPS[word[i]] + word[i + 1:]


# ------------------------------------------------------------------------------------------ measuring


def score_verdicts(corpus: list[Synthetic], prints: list[Fingerprint], verdicts: list[Any]) -> dict[str, Any]:
    by_sha = {s.document.sha256: s for s in corpus}
    drops = correct_drops = 0
    rescans_above = rescans_dropped = amended = amended_superseding = 0
    wrong: list[str] = []
    for synthetic, print_, answer in zip(corpus, prints, verdicts, strict=True):
        dropped = answer.verdict in ("exact", "near")
        if dropped:
            drops += 1
            target = by_sha[answer.of]
            # The generator's truth: one group and the very same fields (two amendments can come out alike).
            if target.group == synthetic.group and _values(target) == _values(synthetic):
                correct_drops += 1
            elif len(wrong) < 10:
                wrong.append(f"{synthetic.role} {synthetic.document.sha256} dropped as {answer.verdict} of "
                             f"{target.role} {target.document.sha256}")
        # An original's group is its own position in the stream.
        if synthetic.role == "rescan" and jaccard(print_.shingles, prints[synthetic.group].shingles) >= THRESHOLD:
            rescans_above += 1
            rescans_dropped += answer.verdict in ("exact", "near")
        if synthetic.role == "amended":
            amended += 1
            amended_superseding += answer.verdict in ("supersedes", "superseded") or \
                (dropped and _values(by_sha[answer.of]) == _values(synthetic))
    return {"drops": drops, "correct_drops": correct_drops, "precision": correct_drops / drops if drops else 1.0,
            "rescans_at_or_above_threshold": rescans_above, "rescans_dropped": rescans_dropped,
            "rescan_recall": rescans_dropped / rescans_above if rescans_above else 1.0,
            "amended": amended, "amended_superseding": amended_superseding, "wrong_drops": wrong,
            "counts": Counter(v.verdict for v in verdicts)}


def _values(synthetic: Synthetic) -> dict[str, Any]:
    return {name: field.value for name, field in synthetic.document.fields.items()}


def sample_recall(corpus: list[Synthetic], prints: list[Fingerprint], deduper: Deduper,
                  rng: random.Random) -> dict[str, Any]:
    """Pairs at or above the threshold by exhaustive exact Jaccard on a sample, and how many of them the
    index finds. The sample is whole groups of copies (so that it holds pairs) topped up with documents
    picked at random."""
    groups: dict[int, list[int]] = {}
    for position, synthetic in enumerate(corpus):
        groups.setdefault(synthetic.group, []).append(position)
    with_copies = [members for members in groups.values() if len(members) > 1]
    rng.shuffle(with_copies)
    chosen: list[int] = []
    for members in with_copies:
        if len(chosen) + len(members) > SAMPLE // 2:
            break
        chosen += members
    taken = set(chosen)
    rest = [position for position in range(len(corpus)) if position not in taken]
    chosen += rng.sample(rest, SAMPLE - len(chosen))
    truth = _pairs_at_threshold([prints[position] for position in chosen])
    sha_to_slot = {corpus[position].document.sha256: slot for slot, position in enumerate(chosen)}
    found: set[tuple[int, int]] = set()
    for slot, position in enumerate(chosen):
        for sha256, _similarity in deduper.near(prints[position]):
            other = sha_to_slot.get(sha256)
            if other is not None and other != slot:
                found.add((min(slot, other), max(slot, other)))
    hits = len(truth & found)
    return {"documents": len(chosen), "pairs_compared": len(chosen) * (len(chosen) - 1) // 2,
            "pairs_at_or_above_threshold": len(truth), "pairs_found": hits, "extra_pairs_found": len(found - truth),
            "recall": hits / len(truth) if truth else 1.0}


def _pairs_at_threshold(prints: list[Fingerprint]) -> set[tuple[int, int]]:
    """Every pair (i < j) whose exact shingle Jaccard is ≥ the threshold: a sparse document-by-shingle
    matrix times its transpose gives all intersections at once."""
    shingles, columns = np.unique(np.concatenate([p.shingles for p in prints]), return_inverse=True)
    rows = np.repeat(np.arange(len(prints)), [len(p.shingles) for p in prints])
    matrix = sparse.csr_matrix((np.ones(len(columns), dtype=np.int32), (rows, columns)),
                               shape=(len(prints), len(shingles)))
    intersections = (matrix @ matrix.T).tocoo()
    sizes = np.array([len(p.shingles) for p in prints])
    pairs = set()
    for i, j, common in zip(intersections.row, intersections.col, intersections.data, strict=True):
        if i < j and common / (sizes[i] + sizes[j] - common) >= THRESHOLD:
            pairs.add((int(i), int(j)))
    return pairs


def table_rows(figures: dict[str, Any]) -> list[Row]:
    sample, verdicts = figures["sample"], figures["verdicts"]
    return [
        Row(f"documents checked + added ({figures['words_per_document']} words each)",
            f"{figures['documents']:,} in {figures['total_s']:.1f} s ({figures['documents_per_s']:,.0f}/s)",
            f"≤ {TARGET_SECONDS:.0f} s for 100,000",
            verdict(figures["documents"] >= DOCUMENTS and figures["total_s"] <= TARGET_SECONDS)),
        Row(f"  of which check + add (fingerprints in {figures['processes']} worker process(es) alongside)",
            f"{figures['check_and_add_s']:.1f} s (load average {figures['load_average'][0]:.1f} → "
            f"{figures['load_average'][1]:.1f} on {os.cpu_count()} cores)"),
        Row("CPU time: main process (check + add) / fingerprint workers",
            f"{figures['cpu_s']['main']:.1f} s / {figures['cpu_s']['workers']:.1f} s"),
        Row(f"LSH: {figures['num_perm']} permutations, {figures['bands']} bands x {figures['rows_per_band']} rows",
            f"threshold {figures['threshold']}"),
        Row(f"recall vs exhaustive Jaccard ({sample['documents']:,}-document sample)",
            f"{sample['recall']:.4f} ({sample['pairs_found']:,} of {sample['pairs_at_or_above_threshold']:,} pairs)",
            f"≥ {TARGET_RECALL}", verdict(sample["recall"] >= TARGET_RECALL)),
        Row("drop precision (exact/near pointing at the same document)",
            f"{verdicts['precision']:.4f} ({verdicts['correct_drops']:,} of {verdicts['drops']:,})", "1.0",
            verdict(verdicts["precision"] == 1.0)),
        Row("re-scans at or above the threshold dropped",
            f"{verdicts['rescan_recall']:.4f} ({verdicts['rescans_dropped']:,} of "
            f"{verdicts['rescans_at_or_above_threshold']:,})"),
        Row("amended orders kept as supersedes/superseded",
            f"{verdicts['amended_superseding']:,} of {verdicts['amended']:,}"),
    ]
