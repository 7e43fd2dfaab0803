"""Deduplication: exact and near repeats dropped, amended orders superseding, different patients kept, the
index surviving a restart, and the fingerprint agreeing with datasketch."""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import MinHash

from osler.dme.dedupe import Deduper, fingerprint, jaccard
from osler.dme.dedupe.fingerprint import lsh_bands, normalize_text
from osler.dme.model import DocumentKind
from tests.dme_documents import OTHER_PATIENT, PATIENT, cpap_order, document, office_note, prose, sleep_study

ORDER_TEXT = prose(1)


def rescan(text: str, seed: int, rate: float = 0.02) -> str:
    """The same page through a fax and OCR again: a few characters misread, punctuation and case noise."""
    rng = random.Random(seed)
    words = []
    for word in text.split():
        if rng.random() < rate:
            word = word.replace("a", "o", 1).replace("l", "1", 1) + "."
        words.append(word.upper() if rng.random() < 0.05 else word)
    return "  ".join(words)


def order(text: str = ORDER_TEXT, **overrides):
    return cpap_order(**overrides) if not text else _with_text(cpap_order(**overrides), text)


def _with_text(built, text: str):
    return document(built.kind, text, **{name: found.value for name, found in built.fields.items()})


def test_same_file_is_an_exact_duplicate():
    deduper = Deduper()
    first = order()
    deduper.add(first)
    verdict = deduper.check(first)
    assert (verdict.verdict, verdict.of, verdict.reason) == ("exact", first.sha256, "same file")


def test_same_text_in_another_file_is_an_exact_duplicate():
    deduper = Deduper()
    first = order()
    deduper.add(first)
    resent = order(ORDER_TEXT.upper().replace(" ", "\n"))
    assert resent.sha256 != first.sha256
    verdict = deduper.check(resent)
    assert (verdict.verdict, verdict.of, verdict.reason) == ("exact", first.sha256, "same text")


def test_rescan_with_ocr_noise_is_a_near_duplicate():
    deduper = Deduper()
    first = order()
    deduper.add(first)
    again = order(rescan(ORDER_TEXT, 7))
    similarity = jaccard(fingerprint(again.text).shingles, fingerprint(first.text).shingles)
    assert 0.85 <= similarity < 1.0
    verdict = deduper.check(again)
    assert (verdict.verdict, verdict.of) == ("near", first.sha256)
    assert verdict.similarity == similarity


def test_heavily_garbled_rescan_is_found_by_its_patient_and_vocabulary():
    deduper = Deduper()
    first = order()
    deduper.add(first)
    garbled = order(rescan(ORDER_TEXT, 7, rate=0.2))
    assert jaccard(fingerprint(garbled.text).shingles, fingerprint(first.text).shingles) < 0.85
    verdict = deduper.check(garbled)
    assert (verdict.verdict, verdict.of) == ("near", first.sha256)
    assert "(vocabulary 0." in verdict.reason


def test_same_patient_other_words_is_kept_even_with_equal_fields():
    deduper = Deduper()
    deduper.add(_with_text(sleep_study(22.0), ORDER_TEXT))
    assert deduper.check(_with_text(sleep_study(22.0), prose(2))).verdict == "unique"


def test_same_patient_alike_words_but_no_content_stated_by_both_is_kept():
    deduper = Deduper()
    deduper.add(_with_text(sleep_study(22.0), ORDER_TEXT))
    bare = document(DocumentKind.SLEEP_STUDY, rescan(ORDER_TEXT, 7, rate=0.2),
                    **{name: found.value for name, found in sleep_study().fields.items() if name != "sleep_study"})
    assert deduper.check(bare).verdict == "unique"


def test_another_order_for_the_same_patient_on_the_same_form_is_no_amendment():
    deduper = Deduper()
    deduper.add(order())
    oxygen = order(rescan(ORDER_TEXT, 8, rate=0.01), items=[{"hcpcs": "E1390", "quantity": 1}],
                   order_date="2025-06-01")
    verdict = deduper.check(oxygen)
    assert verdict.verdict == "unique"


def test_amended_order_supersedes_and_is_never_dropped():
    deduper = Deduper()
    first = order()
    deduper.add(first)
    amended_text = ORDER_TEXT.replace(ORDER_TEXT.split()[40], "pressure 12", 1)
    amended = order(amended_text, order_date="2025-04-02",
                    items=[{"hcpcs": "E0601", "quantity": 1, "settings": {"pressure": 12}}])
    verdict = deduper.check(amended)
    assert (verdict.verdict, verdict.of) == ("supersedes", first.sha256)
    assert "changed items, order_date" in verdict.reason


def test_an_older_version_arriving_late_is_superseded():
    deduper = Deduper()
    newer = order(order_date="2025-04-02", items=[{"hcpcs": "E0601", "quantity": 1, "settings": {"pressure": 12}}])
    deduper.add(newer)
    older = order(rescan(ORDER_TEXT, 3, rate=0.01))
    verdict = deduper.check(older)
    assert (verdict.verdict, verdict.of) == ("superseded", newer.sha256)


def test_signed_copy_of_an_unsigned_order_supersedes_it():
    deduper = Deduper()
    unsigned = order(signature_present=False)
    deduper.add(unsigned)
    verdict = deduper.check(order(rescan(ORDER_TEXT, 4, rate=0.03), signature_present=True))
    assert (verdict.verdict, verdict.of) == ("supersedes", unsigned.sha256)
    # The very same words read with other fields are judged on the fields, not dropped as the same text.
    same_words = deduper.check(order(ORDER_TEXT, signature_present=True))
    assert (same_words.verdict, same_words.of) == ("supersedes", unsigned.sha256)


def test_same_template_for_two_patients_is_unique():
    deduper = Deduper()
    deduper.add(order())
    other = order(rescan(ORDER_TEXT, 5, rate=0.01), **OTHER_PATIENT)
    verdict = deduper.check(other)
    assert verdict.verdict == "unique"


def test_same_words_other_kind_or_other_results_are_unique():
    deduper = Deduper()
    first = _with_text(sleep_study(22.0), ORDER_TEXT)
    deduper.add(first)
    assert deduper.check(_with_text(sleep_study(22.0), rescan(ORDER_TEXT, 2))).verdict == "near"
    assert deduper.check(_with_text(sleep_study(14.0), rescan(ORDER_TEXT, 2))).verdict == "unique"
    assert deduper.check(order(rescan(ORDER_TEXT, 2))).verdict == "unique"


def test_a_copy_that_says_more_than_the_kept_one_is_a_richer_repeat():
    deduper = Deduper()
    kept = _with_text(sleep_study(None), ORDER_TEXT)
    deduper.add(kept)
    verdict = deduper.check(_with_text(sleep_study(22.0), rescan(ORDER_TEXT, 2)))
    assert (verdict.verdict, verdict.of, verdict.richer) == ("near", kept.sha256, ("sleep_study",))


def test_a_copy_stating_the_birth_date_the_kept_one_lost_is_a_richer_repeat():
    deduper = Deduper()
    kept = _with_text(sleep_study(22.0), ORDER_TEXT)
    del kept.fields["birth_date"]  # OCR did not read it on the copy that arrived first
    deduper.add(kept)
    verdict = deduper.check(_with_text(sleep_study(22.0), rescan(ORDER_TEXT, 2)))
    assert (verdict.verdict, verdict.of, verdict.richer) == ("near", kept.sha256, ("birth_date",))


def test_a_rescan_that_lost_a_diagnosis_and_misread_the_mbi_is_a_near_duplicate():
    deduper = Deduper()
    first = office_note(diagnoses=["G47.33", "E66.01"])
    first = _with_text(first, ORDER_TEXT)
    deduper.add(first)
    garbled = _with_text(office_note(diagnoses=["G47.33"], mbi="1EG4TESMK73"),  # S read for 5
                         rescan(ORDER_TEXT, 7, rate=0.2))
    verdict = deduper.check(garbled)
    assert (verdict.verdict, verdict.of, verdict.richer) == ("near", first.sha256, ())


def test_another_visit_date_is_another_document_even_when_the_words_agree():
    deduper = Deduper()
    deduper.add(_with_text(office_note(), ORDER_TEXT))
    later = office_note(face_to_face={"date": "2025-06-01", "symptoms": ["snoring"], "comorbidities": []})
    assert deduper.check(_with_text(later, rescan(ORDER_TEXT, 7))).verdict == "unique"


def test_an_order_date_the_copy_only_writes_still_makes_it_a_copy():
    deduper = Deduper()
    first = order(ORDER_TEXT + " signed 03/20/2025")
    deduper.add(first)
    lost_date = order(rescan(ORDER_TEXT, 7, rate=0.2) + " signed 03/20/2025", order_date=None)
    assert (deduper.check(lost_date).verdict, deduper.check(lost_date).of) == ("near", first.sha256)
    unwritten = order(rescan(ORDER_TEXT, 7, rate=0.2), order_date=None)
    assert deduper.check(unwritten).verdict == "unique"  # a copy cannot be told from a version: kept


def test_an_order_marked_amended_supersedes_even_on_the_same_date():
    deduper = Deduper()
    first = order()
    deduper.add(first)
    marked = order("AMENDED ORDER " + rescan(ORDER_TEXT, 7))
    assert (deduper.check(marked).verdict, deduper.check(marked).of) == ("supersedes", first.sha256)
    newer = Deduper()
    newer.add(marked)
    assert (newer.check(first).verdict, newer.check(first).of) == ("superseded", marked.sha256)


def test_an_amendment_on_another_form_supersedes_by_patient_and_item():
    deduper = Deduper()
    first = order()
    deduper.add(first)
    other_form = order(prose(3), order_date="2025-04-01")
    assert jaccard(fingerprint(other_form.text).vocabulary, fingerprint(first.text).vocabulary) < 0.5
    assert (deduper.check(other_form).verdict, deduper.check(other_form).of) == ("supersedes", first.sha256)


def test_a_name_alone_never_makes_a_later_order_an_amendment():
    deduper = Deduper()
    deduper.add(order(birth_date=None, mbi=None, mrn=None))
    later = order(rescan(ORDER_TEXT, 7), order_date="2025-04-01", birth_date=None, mbi=None, mrn=None)
    assert deduper.check(later).verdict == "unique"


def test_without_patient_identity_nothing_is_dropped_as_near():
    deduper = Deduper()
    deduper.add(document(DocumentKind.DME_ORDER, ORDER_TEXT))
    assert deduper.check(document(DocumentKind.DME_ORDER, rescan(ORDER_TEXT, 2))).verdict == "unique"


def test_empty_and_unreadable_documents_only_match_by_file():
    deduper = Deduper()
    deduper.add(document(None, "", quarantined="corrupt PDF"))
    assert deduper.check(document(None, "", quarantined="encrypted PDF")).verdict == "unique"
    deduper.add(document(DocumentKind.NON_DME, "Page 1 of 1"))
    assert deduper.check(document(DocumentKind.NON_DME, "page 1 of 1")).verdict == "unique"


def test_index_persists_across_a_restart(tmp_path):
    path = tmp_path / "dedupe.sqlite"
    deduper = Deduper(path=path)
    first = order()
    deduper.add(first)
    deduper.add(first)  # idempotent
    deduper.close()

    reopened = Deduper(path=path)
    assert len(reopened) == 1 and first.sha256 in reopened
    assert reopened.check(first).verdict == "exact"
    near = reopened.check(order(rescan(ORDER_TEXT, 7)))
    assert (near.verdict, near.of) == ("near", first.sha256)
    amended = reopened.check(order(rescan(ORDER_TEXT, 7), order_date="2025-05-01"))
    assert (amended.verdict, amended.of) == ("supersedes", first.sha256)
    reopened.close()


def test_signature_is_datasketch_minhash_of_the_shingles():
    print_ = fingerprint(ORDER_TEXT)
    reference = MinHash(num_perm=128, hashfunc=int)
    reference.update_batch(print_.shingles.tolist())
    assert np.array_equal(print_.signature, reference.hashvalues)
    assert print_.minhash.jaccard(fingerprint(rescan(ORDER_TEXT, 7)).minhash) > 0.7


def test_normalization_ignores_case_punctuation_layout_and_accents():
    assert normalize_text("Patient:  JOSÉ  Núñez,\nDOB 04/09/1950.") == "patient jose nunez dob 04 09 1950"


def test_bands_find_a_pair_at_the_threshold_with_the_wanted_recall():
    bands, rows = lsh_bands(0.85, 128)
    assert (bands, rows) == (18, 7)  # the split the README and the benchmark report

    def found(b: int, r: int) -> float:
        return 1 - (1 - 0.85**r) ** b

    assert found(bands, rows) >= 0.999
    # the most rows per band that still reaches the recall: one more would miss pairs at the threshold
    assert found(128 // (rows + 1), rows + 1) < 0.999


def test_settings_written_differently_are_the_same_settings():
    deduper = Deduper()
    deduper.add(order())
    same = order(rescan(ORDER_TEXT, 7), items=[{"hcpcs": "e0601", "quantity": "1", "settings": {"pressure": 10.0}}])
    assert deduper.check(same).verdict == "near"


def test_facesheet_rescan_with_ocr_specks_in_the_payer_is_a_near_duplicate():
    deduper = Deduper()
    first = document(DocumentKind.FACESHEET, ORDER_TEXT, payer="CMS Medicare Part B", **PATIENT)
    deduper.add(first)
    speckled = document(DocumentKind.FACESHEET, rescan(ORDER_TEXT, 9, rate=0.15), payer="CMS Medicare Part B. OS",
                        **PATIENT)
    assert (deduper.check(speckled).verdict, deduper.check(speckled).of) == ("near", first.sha256)
    changed = document(DocumentKind.FACESHEET, rescan(ORDER_TEXT, 9, rate=0.15), payer="Aetna Medicare Advantage",
                       **PATIENT)
    assert deduper.check(changed).verdict == "unique"


def test_an_index_built_with_other_permutations_is_refused(tmp_path):
    path = tmp_path / "dedupe.sqlite"
    built = Deduper(path=path)
    built.add(order())
    built.close()
    with pytest.raises(ValueError, match="built with 128 permutations"):
        Deduper(num_perm=64, path=path)


def test_a_richer_repeat_taking_the_kept_copy_s_place_keeps_what_only_the_copy_read():
    from osler.dme.model import fill_from
    from osler.dme.qualify import decide
    from tests.dme_documents import case_of, oxygen_order, oxygen_test

    deduper = Deduper()
    kept = _with_text(oxygen_test(86.0, when="2025-05-01"), ORDER_TEXT)
    del kept.fields["mrn"]  # the first copy's OCR lost the MRN…
    deduper.add(kept)
    rescanned = _with_text(oxygen_test(86.0, when=None), rescan(ORDER_TEXT, 3))  # …the re-scan lost the date
    verdict = deduper.check(rescanned)
    assert (verdict.verdict, verdict.of, verdict.richer) == ("near", kept.sha256, ("mrn",))
    fill_from(rescanned, kept)
    assert rescanned.fields["oxygen_test"].value["date"] == "2025-05-01"
    assert rescanned.fields["mrn"].value == PATIENT["mrn"]
    assert "oxygen-test-date" not in {m.code for m in decide(case_of(oxygen_order(), rescanned)).missing}
    # what the repeat states stands: a reading it made is not overwritten by the copy's
    other = _with_text(oxygen_test(88.0, when="2025-05-02"), ORDER_TEXT)
    fill_from(other, kept)
    assert other.fields["oxygen_test"].value == {"date": "2025-05-02", "spo2": 88.0, "pao2": None, "condition": "rest"}
