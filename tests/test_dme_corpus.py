"""The labelled DME corpus: deterministic by seed, labels that the rendered documents really state, scans
without a text layer, every rule-failing scenario, fragments, duplicates, re-scans and amended orders."""

from __future__ import annotations

import io
import random
import re
from datetime import date
from pathlib import Path

import pypdf
import pytest
from PIL import Image

from osler.dme.corpus import CorpusManifest, LabelledDocument, generate, write_inbox
from osler.dme.corpus import cases as case_plans
from osler.dme.corpus.documents import OXYGEN_USE_PHRASES, number
from osler.dme.corpus.identifiers import make_mbi, make_npi, npi_check_digit
from osler.dme.corpus.wording import COMORBIDITY_PHRASES, DIAGNOSES, MASK_WORDS, SYMPTOM_PHRASES, all_date_forms

MBI = re.compile(r"^[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]"
                 r"[AC-HJKMNP-RT-Y]{2}[0-9]{2}$")
ALL_SCENARIOS = sum(len(scenarios) for scenarios in case_plans.SCENARIOS.values())


@pytest.fixture(scope="module")
def digital(tmp_path_factory: pytest.TempPathFactory) -> CorpusManifest:
    """One case of every scenario, digital (re-scans aside)."""
    return generate(tmp_path_factory.mktemp("digital"), cases=ALL_SCENARIOS, seed=2025, scanned_share=0.0)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def document_text(manifest: CorpusManifest, document: LabelledDocument) -> str:
    text = " ".join(pdf_text((manifest.root / name).read_bytes()) for name in document.files)
    return " ".join(text.casefold().split())


def test_identifiers_have_their_real_formats() -> None:
    rng = random.Random(1)
    assert all(MBI.match(make_mbi(rng)) for _ in range(500))
    assert npi_check_digit("123456789") == "3"  # CMS's worked example: NPI 1234567893
    valid = [make_npi(rng) for _ in range(200)]
    assert all(npi[-1] == npi_check_digit(npi[:9]) for npi in valid)
    invalid = [make_npi(rng, valid=False) for _ in range(200)]
    assert all(len(npi) == 10 and npi[-1] != npi_check_digit(npi[:9]) for npi in invalid)


def test_generation_is_deterministic_by_seed(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", cases=2, seed=42, scanned_share=0.4)
    second = generate(tmp_path / "b", cases=2, seed=42, scanned_share=0.4)
    other = generate(tmp_path / "c", cases=2, seed=43, scanned_share=0.0)
    assert any(d.scanned for d in first.documents)
    assert (first.root / "labels.json").read_text() == (second.root / "labels.json").read_text()
    assert first.files() == second.files()
    assert all((first.root / n).read_bytes() == (second.root / n).read_bytes() for n in first.files())
    assert (first.root / "labels.json").read_text() != (other.root / "labels.json").read_text()
    assert CorpusManifest.load(first.root).documents == first.documents


def test_scanned_documents_have_no_text_layer(tmp_path: Path) -> None:
    manifest = generate(tmp_path, cases=2, seed=9, scanned_share=1.0)
    scanned = [d for d in manifest.documents if d.scanned]
    assert scanned and all(d.scanned for d in manifest.documents)
    suffixes = set()
    for document in scanned:
        for name in document.files:
            data = (manifest.root / name).read_bytes()
            suffixes.add(Path(name).suffix)
            if name.endswith(".pdf"):
                assert pdf_text(data).strip() == "", name
            else:
                assert Image.open(io.BytesIO(data)).format == "TIFF"
    assert suffixes == {".pdf", ".tif"}


def _forms(name: str, value) -> list[list[str]]:
    """For each part of a labelled value, the ways it may be written (any one must appear)."""
    if name in ("patient_name", "prescriber_name"):
        return [[value["family"]], [value["given"]]]
    if name in ("birth_date", "order_date"):
        return [all_date_forms(date.fromisoformat(value))]
    if name in ("mrn", "mbi", "member_id", "prescriber_npi"):
        return [[value, f"{value[:4]}-{value[4:7]}-{value[7:]}"]]
    if name == "sex":
        return [[value, f": {value[0]}"]]
    if name == "payer":
        return [[value]]
    if name == "signature_present":
        return [["signed", "/s/"] if value else ["____"]]
    if name == "diagnoses":
        return [[code] for code in value]
    if name == "items":
        forms = [[item["hcpcs"]] for item in value]
        for item in value:
            for key, setting in item["settings"].items():
                if key == "mask":
                    forms.append(list(MASK_WORDS[setting]))
                elif key == "oxygen_use":
                    forms.append(list(OXYGEN_USE_PHRASES[setting]))
                elif key != "humidifier":
                    forms.append([number(setting)])
        return forms
    dated = [all_date_forms(date.fromisoformat(value["date"]))]
    if name == "sleep_study":
        hours = value["recording_hours"]
        index = value["ahi"] if value["ahi"] is not None else value["rdi"]
        return [*dated, [number(index)], [str(value["total_events"])],
                [f"{number(hours)} hours", f"{number(round(hours * 60, 1))} min"]]
    if name == "face_to_face":
        written = {v.lower(): [v] for v in DIAGNOSES.values()}
        phrases = {**SYMPTOM_PHRASES, **COMORBIDITY_PHRASES}
        return dated + [[*phrases[c], *written.get(c, []), "obesity due to", "pulmonary disease", "heart failure"]
                        for c in value["symptoms"] + value["comorbidities"]]
    measured = value["spo2"] if value["spo2"] is not None else value["pao2"]
    return [*dated, [f"{number(measured)}%" if value["spo2"] is not None else number(measured)]]


def test_labels_are_stated_by_the_rendered_text(digital: CorpusManifest) -> None:
    checked = 0
    for document in digital.documents:
        if document.scanned:
            continue
        text = document_text(digital, document)
        bare = re.sub(r"[-\s]", "", text)
        for name, value in document.fields.items():
            for forms in _forms(name, value):
                assert any(f.casefold() in text or f.casefold().replace("-", "") in bare for f in forms), (
                    document.id, name, value, forms)
                checked += 1
    assert checked > 500


def test_every_scenario_and_delivery_quirk_is_present(digital: CorpusManifest) -> None:
    scenarios = {(case.therapy, case.scenario) for case in digital.cases.values()}
    assert len(scenarios) == ALL_SCENARIOS
    assert {case.status for case in digital.cases.values()} == {"qualified", "missing"}
    for case in digital.cases.values():
        assert case.missing == list(case_plans.SCENARIOS[case.therapy][case.scenario])
    kinds = {d.kind for d in digital.documents}
    assert kinds == {"dme_order", "facesheet", "office_note", "sleep_study", "oxygen_test", "encounter_summary",
                     "non_dme"}
    layouts = {(d.kind, d.layout) for d in digital.documents}
    assert len({layout for _, layout in layouts}) == 7
    by_id = {d.id: d for d in digital.documents}

    fragmented = [d for d in digital.documents if len(d.files) > 1]
    assert fragmented
    for document in fragmented:
        parts = [pdf_text((digital.root / name).read_bytes()).casefold() for name in document.files]
        assert all(re.search(rf"part {n}\s*(?:of|/)\s*{len(parts)}", part) for n, part in enumerate(parts, 1))

    exact = [d for d in digital.documents if d.duplicate == "exact"]
    near = [d for d in digital.documents if d.duplicate == "near"]
    assert exact and near
    for copy in exact:
        copied, original = (digital.root / copy.id).read_bytes(), (digital.root / copy.duplicate_of).read_bytes()
        assert copied == original or pdf_text(copied) == pdf_text(original)  # same bytes, or same text
    assert any("resent" in copy.id for copy in exact) and any("copy" in copy.id for copy in exact)
    assert all(copy.scanned and copy.fields == by_id[copy.duplicate_of].fields for copy in near)

    amended = [d for d in digital.documents if d.supersedes and not d.duplicate_of]
    assert amended
    for order in amended:
        earlier = by_id[order.supersedes]
        assert order.kind == earlier.kind == "dme_order" and order.case == earlier.case
        assert (order.fields["items"], order.fields["order_date"]) != (earlier.fields["items"],
                                                                        earlier.fields["order_date"])
        assert digital.cases[order.case].order == order.id


def test_inbox_mixes_every_file_under_fax_names(digital: CorpusManifest, tmp_path: Path) -> None:
    mapping = write_inbox(digital, tmp_path)
    assert sorted(mapping.values()) == sorted(digital.files())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(mapping)
    assert all(re.fullmatch(r"fax_\d{8}_\d{6}_\d{4}\.(pdf|tif)", name) for name in mapping)
    assert all((tmp_path / name).read_bytes() == (digital.root / source).read_bytes()
               for name, source in mapping.items())
    arrival = [mapping[name].split("/")[0] for name in sorted(mapping)]
    assert arrival != sorted(arrival)  # shuffled: the cases' files are interleaved
