"""Prelude: medical record numbers — eight digits, the last a Luhn check digit that catches a mistyped digit
and most swapped neighbours.

Uniqueness is not this module's job: ``patients.register_patient`` creates the Patient with a
conditional create on the MRN and draws again on a clash.
"""

from __future__ import annotations

import secrets

MRN_LENGTH = 8


def luhn_check_digit(body: str) -> str:
    """The digit that makes ``body + digit`` pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:  # these become the odd positions, counted from the right, once the check digit is on
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str(-total % 10)


def is_valid_mrn(value: str) -> bool:
    return len(value) == MRN_LENGTH and value.isdigit() and luhn_check_digit(value[:-1]) == value[-1]


def new_mrn() -> str:
    """A random MRN (first digit never 0, so it survives spreadsheets that drop leading zeros)."""
    body = str(1 + secrets.randbelow(9)) + "".join(str(secrets.randbelow(10)) for _ in range(MRN_LENGTH - 2))
    return body + luhn_check_digit(body)
