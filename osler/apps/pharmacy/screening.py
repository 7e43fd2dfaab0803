"""Willow: the verification checks — allergy conflict, duplicate therapy, dose range — as findings.

Pure: given the prescription, its drug from the formulary, the patient's allergies and other active
medications, ``screen`` says what is wrong. A ``high`` finding is a hard stop (the pharmacist must
override it with a reason); ``moderate`` and ``low`` ones are warnings recorded with the verification.

* Allergy: an allergy coded with an RxNorm ingredient (or a drug) sharing an ingredient with the
  prescription, or one of its classes (coded, or named in the allergy's text: "Penicillins", "sulfa"),
  is a hard stop; a class known to cross-react (penicillin ↔ cephalosporin) is a warning.
* Duplicate therapy: another active prescription or medication-list entry with the same ingredient is
  a hard stop; with the same drug class (two triptans, two SSRIs) a warning.
* Dose range: the sig's single or daily dose above the formulary's maximum is a hard stop; a dose in a
  unit that cannot be compared is a hard stop; a sig without a readable dose is a warning.
* A drug that is not in the formulary cannot be checked: a hard stop, for the pharmacist to override.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from osler.apps.pharmacy.formulary import Drug, formulary
from osler.apps.pharmacy.prescriptions import medication_codes
from osler.apps.pharmacy.sig import UnfitUnit, doses
from osler.apps.terminology import RXNORM
from osler.chronicle.records import Stored


@dataclass(frozen=True)
class Finding:
    kind: str  # a Willow issue code (vocabulary.ISSUES)
    severity: str  # high (hard stop) | moderate | low
    detail: str
    implicated: tuple[str, ...] = ()  # references other than the prescription itself

    @property
    def hard_stop(self) -> bool:
        return self.severity == "high"


def screen(prescription: dict[str, Any], drug: Drug | None, allergies: list[Stored],
           medications: list[Stored]) -> list[Finding]:
    if drug is None:
        code = (medication_codes(prescription) or ["no RxNorm code"])[0]
        return [Finding("unknown-drug", "high", f"{code} is not in the pharmacy's formulary: allergies, "
                                                "duplicates and dose cannot be checked automatically")]
    return [*allergy_findings(drug, allergies), *duplicate_findings(drug, medications),
            *dose_findings(drug, prescription.get("dosageInstruction") or [])]


def allergy_findings(drug: Drug, allergies: list[Stored]) -> list[Finding]:
    table = formulary()
    findings = []
    for allergy in allergies:
        ingredients, classes = _allergens(allergy.resource)
        ref, named = (f"AllergyIntolerance/{allergy.res_id}",), _allergy_name(allergy.resource)
        shared = ingredients & drug.ingredient_codes
        if shared:
            names = ", ".join(sorted(table.ingredients[c].name for c in shared))
            findings.append(Finding("allergy-ingredient", "high",
                                    f"allergy to {named}: {drug.display} contains {names}", ref))
            continue
        same = classes & drug.classes
        if same:
            names = ", ".join(sorted(table.class_display(c) for c in same))
            findings.append(Finding("allergy-class", "high",
                                    f"allergy to {named}: {drug.display} is in the same class ({names})", ref))
            continue
        cross = table.cross_note(classes, drug.classes)
        if cross is not None:
            findings.append(Finding("allergy-cross-sensitivity", "moderate",
                                    f"allergy to {named} ({table.class_display(cross[0])}): {cross[1]}", ref))
    return findings


def duplicate_findings(drug: Drug, medications: list[Stored]) -> list[Finding]:
    table = formulary()
    findings = []
    for medication in medications:
        ingredients = {i.code for code in medication_codes(medication.resource) for i in table.ingredients_of(code)}
        ref = (f"{medication.res_type}/{medication.res_id}",)
        kind = "prescription" if medication.res_type == "MedicationRequest" else "medication-list entry"
        shared = ingredients & drug.ingredient_codes
        if shared:
            names = ", ".join(sorted(table.ingredients[c].name for c in shared))
            findings.append(Finding("duplicate-ingredient", "high",
                                    f"an active {kind} already contains {names}", ref))
            continue
        classes = {c for code in ingredients for c in table.ingredients[code].classes} & drug.classes
        if classes:
            names = ", ".join(sorted(table.class_display(c) for c in classes))
            findings.append(Finding("duplicate-class", "moderate",
                                    f"an active {kind} is in the same class ({names})", ref))
    return findings


def dose_findings(drug: Drug, dosage_instructions: list[dict[str, Any]]) -> list[Finding]:
    try:
        amounts = doses(dosage_instructions, drug)
    except UnfitUnit as error:
        return [Finding("dose-unit", "high", str(error))]
    unit = drug.max_unit
    if amounts.single is None:
        return [Finding("dose-unchecked", "low", "the sig gives no dose quantity: dose range not checked")]
    findings = []
    if amounts.single > drug.max_single:
        findings.append(Finding("dose-single", "high", f"a single dose of {_show(amounts.single)} {unit} is above "
                                                       f"the maximum of {_show(drug.max_single)} {unit}"))
    if amounts.daily is not None and amounts.daily > drug.max_daily:
        findings.append(Finding("dose-daily", "high", f"up to {_show(amounts.daily)} {unit} a day is above the "
                                                      f"maximum of {_show(drug.max_daily)} {unit} a day"))
    return findings


def _allergens(allergy: dict[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """The RxNorm ingredients and drug classes an allergy is to, from its codes and its words."""
    table = formulary()
    code = allergy.get("code") or {}
    ingredients = {i.code for c in code.get("coding") or [] if c.get("system") == RXNORM
                   for i in table.ingredients_of(c.get("code", ""))}
    words = " ".join([code.get("text") or "", *(c.get("display") or "" for c in code.get("coding") or [])])
    named_ingredients, named_classes = table.named_in(words)
    ingredients |= named_ingredients
    classes = {c for i in ingredients for c in table.ingredients[i].classes} | named_classes
    return frozenset(ingredients), frozenset(classes)


def _allergy_name(allergy: dict[str, Any]) -> str:
    code = allergy.get("code") or {}
    return code.get("text") or next((c["display"] for c in code.get("coding") or [] if c.get("display")),
                                    "a recorded allergen")


def _show(value: float) -> str:
    return f"{value:g}"
