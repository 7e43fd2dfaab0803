"""What is delivered for a case, independent of where: the JSON record, the result digest (what
``replay`` compares to decide whether to deliver again) and the file names the destinations use."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from osler.dme.model import OrderCase


def delivery_record(case: OrderCase) -> dict[str, Any]:
    """The case as JSON (fields with provenance, documents with their pages, the decision)."""
    return {"record": "osler-dme-order", "version": 1, **case.as_json()}


def result_digest(case: OrderCase) -> str:
    """A digest of what the supplier acts on — field values, the decision, which documents, superseding —
    so a replay that reaches the same result is recognised as such."""
    essence = {"fields": {name: field.value for name, field in sorted(case.fields.items())},
               "decision": case.decision.as_json() if case.decision else None,
               "documents": sorted(d.sha256 for d in case.documents), "superseded_by": case.superseded_by,
               **({"supersedes": case.supersedes} if case.supersedes else {})}
    return hashlib.sha256(json.dumps(essence, sort_keys=True, default=str).encode()).hexdigest()


def file_stem(key: str) -> str:
    """A readable, unique file name for an order key: its last path parts plus a short hash."""
    tail = "-".join(part[:16] for part in key.replace(":", "/").split("/")[-2:])
    readable = re.sub(r"[^A-Za-z0-9]+", "-", tail).strip("-")
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
