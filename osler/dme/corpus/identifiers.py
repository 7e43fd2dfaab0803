"""Synthetic identifiers in their real formats: Medicare Beneficiary Identifiers, NPIs with their Luhn check
digit (and deliberately invalid ones), medical record and member numbers."""

from __future__ import annotations

import random
import string

# CMS excludes these letters from MBIs so they cannot be read as digits (S, L, O, I, B, Z).
MBI_LETTERS = "".join(c for c in string.ascii_uppercase if c not in "SLOIBZ")
MBI_ALNUM = string.digits + MBI_LETTERS


def make_mbi(rng: random.Random) -> str:
    """An 11-character MBI: C A AN N A AN N A A N N (C = digit 1-9, A = letter, N = digit, AN = either)."""
    pattern = ("C", "A", "AN", "N", "A", "AN", "N", "A", "A", "N", "N")
    pools = {"C": "123456789", "A": MBI_LETTERS, "AN": MBI_ALNUM, "N": string.digits}
    return "".join(rng.choice(pools[slot]) for slot in pattern)


def npi_check_digit(first_nine: str) -> str:
    """The Luhn check digit of an NPI, computed over the prefix 80840 (the card issuer id) + the first 9 digits."""
    total = 0
    for position, char in enumerate(reversed("80840" + first_nine)):
        digit = int(char)
        if position % 2 == 0:  # doubled positions start right of the (missing) check digit
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def make_npi(rng: random.Random, *, valid: bool = True) -> str:
    first_nine = rng.choice("12") + "".join(rng.choice(string.digits) for _ in range(8))
    check = npi_check_digit(first_nine)
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    return first_nine + check


def make_mrn(rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        return str(rng.randint(100000, 9999999))
    if style == 1:
        return "MR" + str(rng.randint(1000000, 9999999))
    return f"{rng.randint(10, 99)}-{rng.randint(100000, 999999)}"


def make_member_id(rng: random.Random) -> str:
    prefix = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.choice((1, 3))))
    return prefix + str(rng.randint(10**7, 10**9))
