"""Where delivered orders go: a folder (packet PDF, JSON record, request letter; each written atomically
— temp file then rename — under a name fixed by the order key, so writing again replaces, never adds),
a webhook (POST of the JSON record with an ``Idempotency-Key``; retried with exponential backoff on
transport errors, 5xx and 429; other 4xx fail at once) and a CSV file appended for the billing import
(one row per item; rows carry the order key and result digest, and a row already there is not appended
again, under an exclusive lock so workers do not interleave)."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from osler.dme.deliver.packet import show_value
from osler.dme.deliver.record import file_stem
from osler.dme.model import OrderCase

CSV_COLUMNS = ["order_key", "result", "patient", "birth_date", "mbi", "hcpcs", "quantity", "settings",
               "prescriber_npi", "order_date", "decision", "missing", "supersedes"]


class DeliveryFailed(RuntimeError):
    """A destination refused the order or stayed unreachable after every retry."""


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def deliver_to_folder(folder: Path, key: str, packet: bytes, record: dict[str, Any], letter: str | None) -> list[Path]:
    stem = file_stem(key)
    written = [folder / f"{stem}.pdf", folder / f"{stem}.json"]
    write_atomically(written[0], packet)
    write_atomically(written[1], json.dumps(record, indent=2, default=str).encode())
    letter_path = folder / f"{stem}.request.txt"
    if letter:
        write_atomically(letter_path, letter.encode())
        written.append(letter_path)
    else:
        letter_path.unlink(missing_ok=True)  # a replay that completed the order withdraws the request
    return written


def post_webhook(url: str, record: dict[str, Any], idempotency_key: str, *, attempts: int, backoff_seconds: float,
                 sleep: Callable[[float], None] = time.sleep, timeout: float = 10.0) -> int:
    """POST until a 2xx; returns the number of attempts it took."""
    body = json.dumps(record, default=str).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key}
    problem = ""
    for attempt in range(1, attempts + 1):
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.TransportError as error:
            problem = f"unreachable ({type(error).__name__})"
        else:
            if response.is_success:
                return attempt
            if response.status_code < 500 and response.status_code != 429:
                raise DeliveryFailed(f"webhook refused the order: HTTP {response.status_code}")
            problem = f"HTTP {response.status_code}"
        if attempt < attempts:
            sleep(backoff_seconds * 2 ** (attempt - 1))
    raise DeliveryFailed(f"webhook failed after {attempts} attempts: {problem}")


def billing_rows(case: OrderCase, digest: str) -> list[dict[str, Any]]:
    value = case.fields.get
    decision = case.decision
    common = {"order_key": case.key, "result": digest[:16],
              "patient": show_value("patient_name", value("patient_name").value) if value("patient_name") else "",
              "birth_date": value("birth_date").value if value("birth_date") else "",
              "mbi": value("mbi").value if value("mbi") else "",
              "prescriber_npi": value("prescriber_npi").value if value("prescriber_npi") else "",
              "order_date": value("order_date").value if value("order_date") else "",
              "decision": decision.status if decision else "",
              "missing": "; ".join(m.code for m in decision.missing) if decision else "",
              "supersedes": case.supersedes or ""}  # billing voids the order an amendment replaces
    items = value("items").value if value("items") else []
    return [{**common, "hcpcs": item.get("hcpcs", ""), "quantity": item.get("quantity", 1),
             "settings": json.dumps(item.get("settings", {}), sort_keys=True)} for item in items or [{}]]


def append_csv(path: Path, rows: list[dict[str, Any]]) -> bool:
    """Append the rows unless this order's result is already in the file; ``False`` when it was."""
    if not rows:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", newline="") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        existing = handle.read()
        if existing and not existing.endswith("\n"):  # a write cut short by a crash: drop the partial row
            handle.truncate(existing.rfind("\n") + 1)
            existing = existing[:existing.rfind("\n") + 1]
        present = {(row["order_key"], row["result"]) for row in csv.DictReader(io.StringIO(existing))} \
            if existing else set()
        if (rows[0]["order_key"], rows[0]["result"]) in present:
            return False
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        if not existing:
            writer.writeheader()
        writer.writerows(rows)
        handle.seek(0, os.SEEK_END)
        handle.write(out.getvalue())
        handle.flush()
        os.fsync(handle.fileno())
    return True
