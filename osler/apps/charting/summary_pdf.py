"""EpicCare Ambulatory (charting): laying out the after-visit summary as a PDF (fpdf2; pure, no I/O).

The summary is plain sections of lines — the visit, vitals, diagnoses, prescriptions, other orders,
allergies, medications, instructions — so the PDF reads top to bottom for a patient and its text can
be extracted (tests read it back with pypdf). The built-in Helvetica covers Latin-1; other characters
are replaced rather than failing the summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fpdf import FPDF

TITLE = "After-Visit Summary"


@dataclass
class VisitSummary:
    clinic: str
    patient: str
    visit_date: str
    provider: str
    birth_date: str | None = None
    sections: list[tuple[str, list[str]]] = field(default_factory=list)  # (heading, lines), in print order
    instructions: str = ""


def render(summary: VisitSummary) -> bytes:
    pdf = FPDF(format="Letter")
    pdf.set_title(_latin1(f"{TITLE} - {summary.clinic}"))
    pdf.set_author(_latin1(summary.provider))
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    _line(pdf, summary.clinic, 9)
    pdf.set_font("Helvetica", "", 13)
    _line(pdf, TITLE, 8)
    pdf.ln(3)
    pdf.set_font("Helvetica", "", 11)
    born = f" (born {summary.birth_date})" if summary.birth_date else ""
    for text in (f"Patient: {summary.patient}{born}", f"Visit date: {summary.visit_date}",
                 f"Provider: {summary.provider}"):
        _line(pdf, text, 6)
    for heading, lines in summary.sections:
        _section(pdf, heading, lines)
    if summary.instructions:
        _section(pdf, "Instructions", summary.instructions.splitlines())
    return bytes(pdf.output())


def _section(pdf: FPDF, heading: str, lines: list[str]) -> None:
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 12)
    _line(pdf, heading, 7)
    pdf.set_font("Helvetica", "", 11)
    for text in lines or ["None"]:
        pdf.multi_cell(0, 6, _latin1(text), new_x="LMARGIN", new_y="NEXT")


def _line(pdf: FPDF, text: str, height: float) -> None:
    pdf.cell(0, height, _latin1(text), new_x="LMARGIN", new_y="NEXT")


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")
