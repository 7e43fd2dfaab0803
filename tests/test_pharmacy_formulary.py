"""Willow's drug knowledge without a database: every formulary code is in the terminology with the
same display, and a sig reads into the largest single and daily dose."""

from __future__ import annotations

import pytest

from osler.apps import terminology
from osler.apps.pharmacy.formulary import formulary
from osler.apps.pharmacy.sig import UnfitUnit, doses
from tests.test_pharmacy import IBUPROFEN, MIGRAINE_SIG, SUMATRIPTAN, TABLETS, UCUM


def test_every_formulary_code_is_in_the_terminology_with_the_same_display() -> None:
    table = formulary()
    assert len(table.drugs) >= 30
    for drug in table.drugs.values():
        assert terminology.require(terminology.RXNORM, drug.code).display == drug.display
        assert terminology.lookup(terminology.UCUM, drug.dose_unit) is not None
        assert drug.max_single <= drug.max_daily
    for ingredient in table.ingredients.values():
        assert terminology.require(terminology.RXNORM, ingredient.code).display == ingredient.name
    assert table.drug(SUMATRIPTAN).classes == {"triptan"}  # type: ignore[union-attr]


def test_the_sig_gives_the_largest_single_and_daily_dose() -> None:
    table = formulary()
    sumatriptan, ibuprofen, albuterol = table.drugs[SUMATRIPTAN], table.drugs[IBUPROFEN], table.drugs["2123111"]
    migraine = doses([MIGRAINE_SIG], sumatriptan)  # every 2 h would be 600 mg; the stated cap is 200
    assert (migraine.single, migraine.daily) == (50, 200)
    four_tablets_q6h = {"doseAndRate": [{"doseQuantity": {"value": 4, **TABLETS}}],
                        "timing": {"repeat": {"frequency": 1, "period": 6, "periodUnit": "h"}}}
    assert (doses([four_tablets_q6h], ibuprofen).single, doses([four_tablets_q6h], ibuprofen).daily) == (800, 3200)
    puffs = {"doseAndRate": [{"doseQuantity": {"value": 2, "unit": "puff", "system": UCUM, "code": "{puff}"}}],
             "timing": {"repeat": {"frequency": 1, "period": 4, "periodUnit": "h"}}}
    assert (doses([puffs], albuterol).single, doses([puffs], albuterol).daily) == (2, 12)
    assert doses([{"text": "as directed"}], ibuprofen).single is None
    with pytest.raises(UnfitUnit):
        doses([{"doseAndRate": [{"doseQuantity": {"value": 5, "code": "mL"}}]}], ibuprofen)
