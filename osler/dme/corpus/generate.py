"""Writing a corpus: every case's documents as files (digital PDFs, scanned PDFs and TIFFs, fragments, exact
duplicates, re-scans, amended orders) plus ``labels.json`` — what each document is, which case it belongs to,
the fields it states, what it duplicates or supersedes, and each case's expected decision. ``write_inbox``
delivers the lot the way a fax server does: one folder, shuffled, names that say nothing about the case."""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from osler.dme.corpus import cases as case_plans
from osler.dme.corpus import render, wording
from osler.dme.corpus.cases import CaseSpec
from osler.dme.corpus.documents import BUILDERS, dme_order
from osler.dme.corpus.layouts import STYLES, Content

LABELS_FILE = "labels.json"
MEDIA_TYPES = {".pdf": "application/pdf", ".tif": "image/tiff"}


@dataclass
class LabelledDocument:
    id: str  # its first file, relative to the corpus root
    files: list[str]  # more than one: fragments, in their true order
    case: str
    kind: str
    scanned: bool
    layout: str
    fields: dict[str, Any]
    duplicate_of: str | None = None  # the document id this is a copy of
    duplicate: str | None = None  # "exact" (same bytes or text) | "near" (a re-scan)
    supersedes: str | None = None  # an amended order: the order it replaces


@dataclass
class LabelledCase:
    key: str
    therapy: str
    scenario: str
    status: str  # "qualified" | "missing"
    missing: list[str]
    order: str  # the document id of the order in force (the latest amendment)


@dataclass
class CorpusManifest:
    root: Path
    seed: int
    cases: dict[str, LabelledCase] = field(default_factory=dict)
    documents: list[LabelledDocument] = field(default_factory=list)

    def files(self) -> list[str]:
        return [name for document in self.documents for name in document.files]

    def save(self) -> None:
        payload = {"seed": self.seed, "cases": {k: asdict(c) for k, c in self.cases.items()},
                   "documents": [asdict(d) for d in self.documents]}
        (self.root / LABELS_FILE).write_text(json.dumps(payload, indent=1))

    @classmethod
    def load(cls, root: Path) -> CorpusManifest:
        payload = json.loads((root / LABELS_FILE).read_text())
        return cls(root, payload["seed"], {k: LabelledCase(**c) for k, c in payload["cases"].items()},
                   [LabelledDocument(**d) for d in payload["documents"]])


class _CaseWriter:
    """Writes one case's documents into the corpus and their labels into the manifest."""

    def __init__(self, manifest: CorpusManifest, spec: CaseSpec, rng: random.Random, scanned_share: float) -> None:
        self.manifest, self.spec, self.rng, self.scanned_share = manifest, spec, rng, scanned_share
        self.count = 0
        self.templates: dict[str, float] = {}  # document id → its template seed
        self.fax_time = datetime.combine(spec.order_date, datetime.min.time()) + timedelta(hours=rng.randint(7, 18))
        (manifest.root / spec.key).mkdir(parents=True, exist_ok=True)

    def _fax_header(self) -> str:
        self.fax_time += timedelta(minutes=self.rng.randint(1, 300))
        sender = self.rng.choice(wording.PRACTICES)
        fax = f"{self.rng.randint(200, 989)}-{self.rng.randint(200, 989)}-{self.rng.randint(1000, 9999)}"
        return (f"{self.fax_time:%m/%d/%Y %H:%M}  FROM: {sender} ({fax})  TO: {wording.SUPPLIER}  "
                "PAGE {page}/{pages}")

    def _write(self, stem: str, digital: bytes, scanned: bool) -> str:
        if scanned:
            media, suffix = ("tiff", ".tif") if self.rng.random() < 0.4 else ("pdf", ".pdf")
            data = render.scan(digital, self.rng, header=self._fax_header(), media=media)
        else:
            suffix, data = ".pdf", digital
        name = f"{self.spec.key}/{stem}{suffix}"
        (self.manifest.root / name).write_bytes(data)
        return name

    def _stem(self, kind: str) -> str:
        self.count += 1
        return f"{self.count:02d}-{kind}"

    def document(self, kind: str, content: Content, fields: dict[str, Any], *, fragments: int = 1,
                 template: float | None = None) -> tuple[LabelledDocument, bytes]:
        """``template`` seeds the look (style, font, margins): the same value lays a corrected order out on the
        same form as the original."""
        template = self.rng.random() if template is None else template
        look = random.Random(template)
        style = look.choice(sorted(STYLES))
        font = look.choice(render.FONTS)
        scanned = self.rng.random() < self.scanned_share
        stem = self._stem(kind)
        if fragments == 1:
            digital = render.to_pdf(STYLES[style](content, look), look, font=font)
            files = [self._write(stem, digital, scanned)]
        else:
            parts = [render.to_pdf(STYLES[style](part, look), look, font=font)
                     for part in self._split(content, fragments)]
            files = [self._write(f"{stem}-part{number}", part, scanned) for number, part in enumerate(parts, 1)]
            digital = b""
        labelled = LabelledDocument(files[0], files, self.spec.key, kind, scanned, style, fields)
        self.templates[labelled.id] = template
        self.manifest.documents.append(labelled)
        return labelled, digital

    def _split(self, content: Content, parts: int) -> list[Content]:
        """A note faxed in parts: each part carries a reference and its number, the continuation pages the
        patient's name, so the parts can be put back together in order."""
        reference = f"{self.rng.randint(10, 99)}{self.rng.choice('ABCDEFGHJKMNPRTW')}{self.rng.randint(1000, 99999)}"
        marker = self.rng.choice(("Ref {r} - part {k} of {n}", "Document #{r}, part {k}/{n}",
                                  "Doc ID {r} (part {k} of {n})"))
        size = -(-len(content.sections) // parts)
        chunks = [content.sections[i:i + size] for i in range(0, len(content.sections), size)]
        patient = f"Patient: {self.spec.patient.family}, {self.spec.patient.given}"
        out = []
        for number, chunk in enumerate(chunks, 1):
            tag = marker.format(r=reference, k=number, n=len(chunks))
            if number == 1:
                out.append(Content(content.title, [tag, *content.letterhead], content.identity, chunk, []))
            else:
                out.append(Content(f"{content.title} (continued)", [tag, patient], [], chunk,
                                   content.signature if number == len(chunks) else []))
        return out

    def copies(self, original: LabelledDocument, digital: bytes) -> None:
        if self.rng.random() < 0.08:  # the same fax sent twice: the very same bytes
            name = f"{self.spec.key}/{self._stem(original.kind)}-copy{Path(original.id).suffix}"
            shutil.copyfile(self.manifest.root / original.id, self.manifest.root / name)
            self._copy_label(original, [name], original.scanned, "exact")
        elif self.rng.random() < 0.09:  # the same paper scanned again: a near duplicate
            name = self._write(self._stem(original.kind) + "-rescan", digital, True)
            self._copy_label(original, [name], True, "near")
        elif not original.scanned and self.rng.random() < 0.05:  # exported again: other bytes, the same text
            name = f"{self.spec.key}/{self._stem(original.kind)}-resent.pdf"
            (self.manifest.root / name).write_bytes(render.resave(digital, producer=self.rng.choice(
                ("EHR document export", "eFax gateway", "Print to PDF"))))
            self._copy_label(original, [name], False, "exact")

    def _copy_label(self, original: LabelledDocument, files: list[str], scanned: bool, how: str) -> None:
        self.manifest.documents.append(LabelledDocument(files[0], files, original.case, original.kind, scanned,
                                                        original.layout, original.fields, original.id, how))

    def amend(self, order: LabelledDocument, wording_seed: float, template: float,
              coverage: bool) -> LabelledDocument:
        """A corrected order on the practice's same form: same patient, a changed setting or a later date. It
        must supersede the original, never be dropped as its duplicate."""
        spec = self.spec
        items = [dict(item, settings=dict(item["settings"])) for item in spec.items]
        settings = items[0]["settings"]
        latest = 12
        if spec.therapy == "oxygen":  # the test and the visit in the 30 days before the order must stay there
            for record in (spec.oxygen_test, spec.face_to_face):
                gap = (spec.order_date - date.fromisoformat(record["date"])).days if record else 0
                if gap <= case_plans.OXYGEN_TEST_WINDOW_DAYS:
                    latest = min(latest, case_plans.OXYGEN_TEST_WINDOW_DAYS - gap)
        order_date = spec.order_date + timedelta(days=self.rng.randint(min(2, latest), latest))  # re-signed
        changed = next((k for k in ("pressure", "pressure_max", "ipap", "oxygen_lpm") if k in settings), None)
        if changed and self.rng.random() < 0.7:
            settings[changed] = settings[changed] + (1 if changed != "oxygen_lpm" else 0.5)
        content, fields = dme_order(spec, random.Random(wording_seed), items=items, order_date=order_date,
                                    amends=spec.order_date, coverage=coverage)
        amended, digital = self.document("dme_order", content, fields, template=template)
        amended.supersedes = order.id
        self.copies(amended, digital)
        return amended

    def write(self) -> LabelledCase:
        spec, rng = self.spec, self.rng
        kinds = ["dme_order"]
        kinds += ["facesheet"] if rng.random() < 0.85 else []
        kinds += ["office_note"] if spec.face_to_face else []
        kinds += ["sleep_study"] if spec.sleep_study else []
        kinds += ["oxygen_test"] if spec.oxygen_test else []
        kinds += ["encounter_summary"] if rng.random() < 0.4 else []
        kinds += ["non_dme"] * rng.choice((0, 0, 1, 1, 2))
        coverage = "facesheet" not in kinds
        wording_seed = rng.random()  # the order's wording, kept to write its amendment on the same form
        for kind in kinds:
            if kind == "dme_order":
                content, fields = dme_order(spec, random.Random(wording_seed), coverage=coverage)
            else:
                content, fields = BUILDERS[kind](spec, rng)
            fragments = rng.choice((2, 3)) if kind == "office_note" and rng.random() < 0.25 else 1
            labelled, digital = self.document(kind, content, fields, fragments=fragments)
            if fragments == 1:
                self.copies(labelled, digital)
        order = next(d for d in self.manifest.documents if d.case == spec.key and d.kind == "dme_order")
        current = self.amend(order, wording_seed, self.templates[order.id], coverage) if rng.random() < 0.15 else order
        return LabelledCase(spec.key, spec.therapy, spec.scenario, spec.expected_status,
                            list(spec.expected_missing), current.id)


def generate(out_dir: Path, *, cases: int, seed: int, scanned_share: float = 0.5) -> CorpusManifest:
    """Write ``cases`` labelled cases under ``out_dir``; the same seed writes the same bytes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = CorpusManifest(out_dir, seed)
    for index, (therapy, scenario) in enumerate(case_plans.plan_cases(random.Random(seed), cases), 1):
        key = f"case-{index:03d}"
        rng = random.Random(f"{seed}/{key}")  # per case, so one case's randomness never shifts another's
        spec = case_plans.make_case(rng, key, therapy, scenario)
        manifest.cases[key] = _CaseWriter(manifest, spec, rng, scanned_share).write()
    manifest.save()
    return manifest


def write_inbox(manifest: CorpusManifest, folder: Path) -> dict[str, str]:
    """Every file of every case in one folder, shuffled, with fax-server names. Returns inbox name → corpus file."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{manifest.seed}/inbox")
    files = manifest.files()
    rng.shuffle(files)
    received = datetime.combine(date(2025, 11, 3), datetime.min.time())
    mapping: dict[str, str] = {}
    for number, name in enumerate(files, 1):
        received += timedelta(seconds=rng.randint(20, 900))
        inbox_name = f"fax_{received:%Y%m%d_%H%M%S}_{number:04d}{Path(name).suffix}"
        shutil.copyfile(manifest.root / name, folder / inbox_name)
        mapping[inbox_name] = name
    return mapping
