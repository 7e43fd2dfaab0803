"""Prelude: given names that may name the same person (Bill/William, Liz/Elizabeth…), from a data file.

The table is ``nicknames.json`` (groups of equivalent names); a name may sit in several groups
("pat" is both Patricia and Patrick), so two names are equivalent when they share any group.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources


@cache
def _groups_by_name() -> dict[str, frozenset[int]]:
    text = resources.files("osler.apps.registration").joinpath("nicknames.json").read_text("utf-8")
    index: dict[str, set[int]] = {}
    for number, group in enumerate(json.loads(text)["groups"]):
        for name in group:
            index.setdefault(name.lower(), set()).add(number)
    return {name: frozenset(numbers) for name, numbers in index.items()}


def are_nicknames(first: str, second: str) -> bool:
    """True when two (normalized, lower-case) given names share a nickname group."""
    groups = _groups_by_name()
    return bool(groups.get(first, frozenset()) & groups.get(second, frozenset()))
