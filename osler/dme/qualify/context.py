"""What a rule set reads and writes while it judges one case: the merged fields, the unreadable documents,
and the decision taking shape (a ``Missing`` for each failed rule, a note for each passed one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from osler.dme.identity import parse_date
from osler.dme.model import Document, DocumentKind, ExtractedField, Missing, OrderCase


@dataclass
class Judgement:
    case: OrderCase
    fields: dict[str, ExtractedField]
    unreadable: list[Document]
    missing: list[Missing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def value(self, name: str) -> Any:
        found = self.fields.get(name)
        return None if found is None else found.value

    def date_of(self, name: str) -> date | None:
        """The ``date`` of a dict-valued field (sleep_study, face_to_face, oxygen_test) or a date field."""
        value = self.value(name)
        return parse_date(value.get("date") if isinstance(value, dict) else value)

    def has_document(self, kind: DocumentKind) -> bool:
        return any(d.kind == kind and d.quarantined is None for d in self.case.documents)

    def fail(self, code: str, message: str) -> None:
        if not any(m.code == code for m in self.missing):
            self.missing.append(Missing(code, message))

    def fail_absent(self, code: str, message: str) -> None:
        """A document is missing: when some document could not be read, it may be that one — say so."""
        if self.unreadable:
            names = ", ".join(f"{d.filename} ({d.quarantined})" for d in self.unreadable)
            message += f" We could not read {names}; if that is it, please send it again."
        self.fail(code, message)

    def passed(self, note: str) -> None:
        self.notes.append(note)

    def check(self, ok: bool, code: str, failure: str, success: str) -> bool:
        if ok:
            self.passed(success)
        else:
            self.fail(code, failure)
        return ok
