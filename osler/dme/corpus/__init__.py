"""The labelled synthetic corpus for evaluating the DME pipeline: order cases (CPAP, bilevel, oxygen) that
qualify or fail exactly one documentation rule, their documents in many layouts and wordings, digital and
scanned, with fragments, duplicates, re-scans and amended orders — and the labels the evaluation scores
against. ``generate`` writes a corpus; ``write_inbox`` mixes it into one fax folder."""

from osler.dme.corpus.generate import (
    LABELS_FILE,
    MEDIA_TYPES,
    CorpusManifest,
    LabelledCase,
    LabelledDocument,
    generate,
    write_inbox,
)

__all__ = ["LABELS_FILE", "MEDIA_TYPES", "CorpusManifest", "LabelledCase", "LabelledDocument", "generate",
           "write_inbox"]
