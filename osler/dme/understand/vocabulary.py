"""The closed vocabularies the extractor reads into: symptoms and comorbidities (canonical name → the ways
notes write them), the HCPCS codes of the equipment this pipeline orders, and the ICD-10-CM codes that
commonly support those orders. Canonical names are the values ``face_to_face`` carries (the corpus labels with
the same names; the rules in ``osler.dme.qualify`` match them by pattern)."""

from __future__ import annotations

# Canonical name → synonyms: regex fragments matched on word boundaries, case-insensitively unless the
# fragment has no lower-case letter (abbreviations: "MI", "DOE" must not match "mi" or the name "Doe").
SYMPTOMS: dict[str, tuple[str, ...]] = {
    "snoring": (r"snoring", r"snores", r"loud\s+snor\w*"),
    "witnessed apneas": (r"witnessed\s+apneas?", r"observed\s+apneas?", r"apneic\s+episodes",
                         r"(?:observed|witnessed)\s+pauses\s+in\s+breathing", r"breathing\s+pauses",
                         r"stops?\s+breathing\s+(?:during|in\s+(?:his|her)\s+)?sleep"),
    "morning headache": (r"morning\s+headaches?", r"(?:wakes?|waking|awakens?)\s+(?:up\s+)?with\s+(?:a\s+)?headaches?",
                         r"headaches?\s+(?:on|upon|in\s+the)\s+(?:waking|awakening|morning)"),
    "excessive daytime sleepiness": (
        r"excessive\s+daytime\s+sleepiness", r"EDS", r"daytime\s+(?:sleepiness|somnolence)", r"hypersomnolence",
        r"hypersomnia", r"falls?\s+asleep\s+(?:while|during|at)", r"falling\s+asleep\s+(?:while|during|at)",
        r"excessively\s+sleepy", r"sleepy\s+during\s+the\s+day", r"dozing\s+off", r"dozes\s+off"),
    "mood disorder": (r"mood\s+disorders?", r"depression", r"depressive\s+disorder", r"depressed\s+mood",
                      r"anxiety", r"mood\s+(?:changes|swings|disturbance)"),
    "insomnia": (r"insomnia", r"difficulty\s+(?:falling|staying|maintaining)\s+(?:asleep|sleep)",
                 r"trouble\s+(?:sleeping|staying\s+asleep)", r"sleep\s+maintenance\s+(?:difficulty|insomnia)"),
    "impaired cognition": (r"impaired\s+cognition", r"cognitive\s+(?:impairment|decline|deficits?|dysfunction)",
                           r"memory\s+(?:problems|loss|impairment|difficult(?:y|ies))", r"poor\s+concentration",
                           r"difficulty\s+concentrating", r"trouble\s+concentrating", r"brain\s+fog"),
    "dyspnea": (r"dyspnea", r"dyspnoea", r"shortness\s+of\s+breath", r"SOB", r"breathless(?:ness)?", r"DOE"),
}

COMORBIDITIES: dict[str, tuple[str, ...]] = {
    "hypertension": (r"(?<!pulmonary\s)(?<!pulmonary\sarterial\s)hypertension", r"HTN", r"high\s+blood\s+pressure",
                     r"elevated\s+blood\s+pressure"),
    "stroke": (r"stroke", r"CVA", r"cerebrovascular\s+accident", r"TIA", r"transient\s+ischemic\s+attack",
               r"cerebral\s+infarct(?:ion)?"),
    "ischemic heart disease": (r"ischemic\s+heart\s+disease", r"IHD", r"coronary\s+artery\s+disease", r"CAD",
                               r"coronary\s+heart\s+disease", r"myocardial\s+infarction", r"MI", r"angina",
                               r"CABG", r"s/p\s+(?:stent|PCI)"),
    "obesity": (r"obesity", r"obese", r"morbid(?:ly)?\s+obes\w+"),
    "copd": (r"COPD", r"chronic\s+obstructive\s+pulmonary\s+disease", r"chronic\s+obstructive\s+lung\s+disease",
             r"emphysema", r"chronic\s+bronchitis"),
    "heart failure": (r"heart\s+failure", r"CHF", r"HFrEF", r"HFpEF", r"cardiomyopathy"),
}

# A coded diagnosis documents its condition even when the note never writes the condition's name
# (ICD-10-CM code prefix → canonical name).
CONDITION_CODES: dict[str, str] = {
    "I10": "hypertension", "I11": "hypertension", "I12": "hypertension", "I13": "hypertension",
    "I20": "ischemic heart disease", "I21": "ischemic heart disease", "I25": "ischemic heart disease",
    "I63": "stroke", "Z86.73": "stroke", "E66": "obesity", "J43": "copd", "J44": "copd", "I50": "heart failure",
    "F32": "mood disorder", "F33": "mood disorder", "G47.0": "insomnia", "F51.0": "insomnia",
}

# Equipment: HCPCS code → what it is; the kind decides which settings an item carries.
HCPCS: dict[str, tuple[str, str]] = {
    "E0601": ("pap", "CPAP device"),
    "E0470": ("pap", "bi-level device without backup rate"),
    "E0471": ("pap", "bi-level device with backup rate"),
    "E0562": ("accessory", "heated humidifier"),
    "E0561": ("accessory", "non-heated humidifier"),
    "A7030": ("accessory", "full face mask"),
    "A7031": ("accessory", "full face mask cushion"),
    "A7032": ("accessory", "nasal cushion"),
    "A7033": ("accessory", "nasal pillows"),
    "A7034": ("accessory", "nasal mask"),
    "A7035": ("accessory", "headgear"),
    "A7036": ("accessory", "chinstrap"),
    "A7037": ("accessory", "tubing"),
    "A7038": ("accessory", "disposable filter"),
    "A7039": ("accessory", "non-disposable filter"),
    "A7046": ("accessory", "humidifier water chamber"),
    "A4604": ("accessory", "heated tubing"),
    "E1390": ("oxygen", "oxygen concentrator"),
    "E1391": ("oxygen", "dual-delivery oxygen concentrator"),
    "E1392": ("oxygen", "portable oxygen concentrator"),
    "E0431": ("oxygen", "portable gaseous oxygen"),
    "E0434": ("oxygen", "portable liquid oxygen"),
    "E0439": ("oxygen", "stationary liquid oxygen"),
    "E0424": ("oxygen", "stationary gaseous oxygen"),
    "E0443": ("oxygen", "portable oxygen contents, gaseous"),
    "K0738": ("oxygen", "home fill oxygen system"),
    "E0465": ("ventilator", "home ventilator, invasive"),
    "E0466": ("ventilator", "home ventilator, non-invasive"),
    "E0260": ("other", "hospital bed"),
    "E0143": ("other", "walker"),
    "K0001": ("other", "standard wheelchair"),
}

# When an order names equipment in words but prints no code (regex → code).
DEVICE_WORDS: tuple[tuple[str, str], ...] = (
    (r"bi-?level\s+(?:pap\s+)?(?:s/?t|with\s+(?:a\s+)?backup)|bipap\s+s/?t|\bASV\b", "E0471"),
    (r"bi-?level|bipap|bpap", "E0470"),
    (r"\b(?:auto-?c?pap|apap|cpap|auto-?titrating\s+pap|continuous\s+positive\s+airway\s+pressure)\b", "E0601"),
    (r"portable\s+(?:oxygen\s+)?concentrator|\bPOC\b", "E1392"),
    (r"oxygen\s+concentrator|stationary\s+concentrator|\bconcentrator\b", "E1390"),
    (r"portable\s+(?:gaseous\s+)?oxygen|oxygen\s+(?:cylinders?|tanks?)|e-?tanks?", "E0431"),
)

# ICD-10-CM codes commonly behind these orders; any well-formed code is read, these are also read without
# their dot (OCR and some EHRs drop it).
KNOWN_ICD10: frozenset[str] = frozenset({
    "G47.33", "G47.30", "G47.31", "G47.32", "G47.34", "G47.35", "G47.36", "G47.37", "G47.39", "G47.10", "G47.19",
    "E66.2", "E66.01", "E66.9", "E66.811", "E66.812", "E66.813", "Z68.41", "Z68.42", "Z68.43", "Z68.44", "Z68.45",
    "I10", "I11.0", "I11.9", "I25.10", "I25.2", "I50.9", "I50.22", "I50.32", "I48.91", "I48.0", "I27.20", "I27.23",
    "I63.9", "Z86.73", "E11.9", "E11.65", "J44.9", "J44.1", "J43.9", "J84.10", "J96.10", "J96.11", "J96.12",
    "J96.01", "J96.90", "R06.02", "R06.00", "R06.83", "R09.02", "R40.0", "Z99.81", "Z99.89", "F32.9", "F41.1",
    "G47.00", "R53.83", "R51.9", "R35.1",
})
