"""PAP supplies' replacement frequencies — policy article A52467 (with LCD L33718): Medicare pays for a
mask, cushion, filter or tubing only so often. An order asking for more at once than the usual maximum
allows for a three-month supply (the longest a supplier may dispense at once) needs a person's review of the
medical record that justifies it, so it is reported rather than passed.
"""

from __future__ import annotations

from osler.dme.qualify.context import Judgement

SUPPLY_MONTHS = 3
# HCPCS → (usual maximum quantity, per so many months)
USUAL_MAXIMUM: dict[str, tuple[int, int]] = {
    "A7030": (1, 3),  # full face mask
    "A7031": (1, 1),  # full face mask cushion
    "A7032": (2, 1),  # nasal mask cushion
    "A7033": (2, 1),  # nasal pillows
    "A7034": (1, 3),  # nasal mask
    "A7035": (1, 6),  # headgear
    "A7036": (1, 6),  # chinstrap
    "A7037": (1, 3),  # tubing
    "A7038": (2, 1),  # disposable filter
    "A7039": (1, 6),  # non-disposable filter
    "A7046": (1, 6),  # humidifier water chamber
    "A4604": (1, 3),  # heated tubing
}


def allowed_at_once(code: str) -> int | None:
    """The most of ``code`` one dispensing may cover (a three-month supply, at least one); None for an item
    without a replacement schedule."""
    if code not in USUAL_MAXIMUM:
        return None
    quantity, months = USUAL_MAXIMUM[code]
    # a six-monthly item may still come with the first supply: once, not half
    return quantity * SUPPLY_MONTHS // months if months <= SUPPLY_MONTHS else quantity


def check_supplies(judgement: Judgement) -> None:
    over = []
    for item in judgement.value("items") or []:
        code, quantity = str(item.get("hcpcs", "")).upper(), item.get("quantity")
        allowed = allowed_at_once(code)
        if allowed is not None and isinstance(quantity, int | float) and quantity > allowed:
            months = USUAL_MAXIMUM[code][1]
            over.append(f"{code} x {quantity:g} (usually {USUAL_MAXIMUM[code][0]} per {months} month"
                        f"{'s' if months > 1 else ''}, at most {allowed} at once)")
    if not over:
        return
    judgement.fail("supply-quantity", f"PAP supplies: {'; '.join(over)} exceed Medicare's replacement schedule; "
                   "please confirm the quantities or send the notes that document the need for more.")
