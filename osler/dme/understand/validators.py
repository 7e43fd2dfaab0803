"""Identifier checks: the Medicare Beneficiary Identifier's published format and the NPI's Luhn check digit."""

from __future__ import annotations

import re

# CMS MBI format: position 1 digit 1-9; 2, 5, 8, 9 letters; 3, 6 letter or digit; 4, 7, 10, 11 digits.
# Letters exclude S, L, O, I, B and Z (they read like digits).
_LETTER = "[AC-HJKMNP-RT-Y]"
_LETTER_OR_DIGIT = "[AC-HJKMNP-RT-Y0-9]"
MBI_PATTERN = f"[1-9]{_LETTER}{_LETTER_OR_DIGIT}[0-9]{_LETTER}{_LETTER_OR_DIGIT}[0-9]{_LETTER}{_LETTER}[0-9][0-9]"
_MBI = re.compile(f"^{MBI_PATTERN}$")
NPI_PREFIX = "80840"  # the NPI's check digit is the Luhn digit of "80840" + its first nine digits


def valid_mbi(value: str) -> bool:
    """True for a well-formed MBI (dashes and spaces as printed on the card are ignored; letters upper-case)."""
    return bool(_MBI.match(re.sub(r"[\s-]", "", value or "")))


def valid_npi(value: str) -> bool:
    """True for a 10-digit NPI whose last digit is the Luhn check digit over "80840" + the first nine."""
    digits = re.sub(r"\s", "", value or "")
    if not re.fullmatch(r"\d{10}", digits):
        return False
    return luhn_check_digit(NPI_PREFIX + digits[:9]) == int(digits[9])


def luhn_check_digit(payload: str) -> int:
    """The digit that makes ``payload`` + digit pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # doubled: every second digit from the right of the payload
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return (10 - total % 10) % 10
