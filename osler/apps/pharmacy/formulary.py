"""Willow: the shipped drug knowledge (``drugs.json``) — a small outpatient formulary keyed by RxNorm
clinical drug (SCD) code, each drug with its RxNorm ingredients, drug classes, dose form, strength and
adult screening limits (max single and max daily dose), plus the class cross-sensitivities.

Epic's Willow leans on a licensed drug database (First Databank, Medi-Span) for this; Osler ships the
few drugs it uses. Every RxNorm code here is in ``terminology/data/pharmacy_rxnorm.json`` with the same
display (a test holds the two together). Pure: nothing here reads the Chronicle.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class DrugClass:
    code: str
    display: str
    names: tuple[str, ...]  # how allergy free text names the class ("sulfa", "penicillins")


@dataclass(frozen=True)
class Ingredient:
    code: str  # RxNorm ingredient (IN)
    name: str
    classes: frozenset[str]


@dataclass(frozen=True)
class Drug:
    code: str  # RxNorm clinical drug (SCD)
    display: str
    ingredients: tuple[Ingredient, ...]
    dose_form: str
    dose_unit: str  # UCUM unit of one dose-form unit: {tbl}, {cap}, {puff}
    strength_mg: float | None  # mg per dose-form unit; None for a combination (limits are in dose units)
    max_single: float
    max_daily: float
    max_unit: str  # "mg", or ``dose_unit`` when the limits count tablets or puffs

    @property
    def ingredient_codes(self) -> frozenset[str]:
        return frozenset(i.code for i in self.ingredients)

    @property
    def classes(self) -> frozenset[str]:
        return frozenset(c for i in self.ingredients for c in i.classes)


@dataclass(frozen=True)
class Formulary:
    drugs: dict[str, Drug]
    ingredients: dict[str, Ingredient]
    classes: dict[str, DrugClass]
    cross_sensitivity: dict[frozenset[str], str]

    def drug(self, code: str) -> Drug | None:
        return self.drugs.get(code)

    def ingredients_of(self, code: str) -> tuple[Ingredient, ...]:
        """The ingredients of an RxNorm code that is a drug (SCD) or itself an ingredient (IN)."""
        drug = self.drugs.get(code)
        if drug is not None:
            return drug.ingredients
        ingredient = self.ingredients.get(code)
        return (ingredient,) if ingredient is not None else ()

    def named_in(self, text: str) -> tuple[frozenset[str], frozenset[str]]:
        """The ingredients and classes a free text names ("Penicillins", "sulfa drugs", "amoxicillin")."""
        lowered = text.lower()
        ingredients = frozenset(i.code for i in self.ingredients.values() if _mentions(lowered, i.name.lower()))
        classes = frozenset(c.code for c in self.classes.values() if any(_mentions(lowered, n) for n in c.names))
        return ingredients, classes

    def cross_note(self, allergen_classes: frozenset[str], drug_classes: frozenset[str]) -> tuple[str, str] | None:
        """(the allergen's class, the note) when an allergen class is cross-sensitive with a drug class."""
        for allergen_class in sorted(allergen_classes):
            for drug_class in sorted(drug_classes):
                note = self.cross_sensitivity.get(frozenset((allergen_class, drug_class)))
                if note is not None and allergen_class != drug_class:
                    return allergen_class, note
        return None

    def class_display(self, code: str) -> str:
        return self.classes[code].display


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(name)}(?![a-z])", text) is not None


@cache
def formulary() -> Formulary:
    document = json.loads((resources.files(__package__) / "drugs.json").read_text(encoding="utf-8"))
    return parse_formulary(document)


def parse_formulary(document: dict[str, Any]) -> Formulary:
    classes = {code: DrugClass(code, item["display"], tuple(item["names"]))
               for code, item in document["classes"].items()}
    ingredients = {}
    for code, item in document["ingredients"].items():
        unknown = set(item["classes"]) - set(classes)
        if unknown:
            raise ValueError(f"drugs.json: ingredient {code} names unknown classes {sorted(unknown)}")
        ingredients[code] = Ingredient(code, item["name"], frozenset(item["classes"]))
    drugs = {}
    for code, item in document["drugs"].items():
        missing = [i for i in item["ingredients"] if i not in ingredients]
        if missing:
            raise ValueError(f"drugs.json: drug {code} has unknown ingredients {missing}")
        strength = item.get("strength")
        drugs[code] = Drug(code, item["display"], tuple(ingredients[i] for i in item["ingredients"]),
                           item["dose_form"], item["dose_unit"], strength["value"] if strength else None,
                           item["max_single"], item["max_daily"], item["max_unit"])
    cross = {frozenset(pair["classes"]): pair["note"] for pair in document["cross_sensitivity"]}
    return Formulary(drugs, ingredients, classes, cross)
