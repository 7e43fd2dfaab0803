"""The drafted request to the ordering practice for an incomplete order: who, which order, and exactly
what is missing (the decision's ``Missing`` messages), as a plain-text letter ready to fax or edit."""

from __future__ import annotations

from datetime import date

from osler.dme.deliver.packet import show_value
from osler.dme.model import OrderCase


def missing_request(case: OrderCase, *, supplier: str = "the DME supplier", today: date | None = None) -> str | None:
    """The letter, or ``None`` when nothing is missing."""
    if case.decision is None or not case.decision.missing:
        return None
    field = case.fields.get
    prescriber = show_value("prescriber_name", field("prescriber_name").value) if field("prescriber_name") else None
    patient = show_value("patient_name", field("patient_name").value) if field("patient_name") else "the patient"
    born = f" (born {field('birth_date').value})" if field("birth_date") else ""
    items = show_value("items", field("items").value) if field("items") else "durable medical equipment"
    ordered = f" dated {field('order_date').value}" if field("order_date") else ""
    lines = [f"Date: {(today or date.today()).isoformat()}",
             f"To: {'Dr. ' + prescriber if prescriber else 'the ordering practice'}"
             + (f" (NPI {field('prescriber_npi').value})" if field("prescriber_npi") else ""),
             f"From: {supplier}", "",
             f"Re: order for {items}{ordered} for {patient}{born}", "",
             "We received this order but cannot dispense it yet: the payer requires the following, which we "
             "did not find in the documents we have:", ""]
    lines += [f"  {number}. {missing.message}" for number, missing in enumerate(case.decision.missing, 1)]
    lines += ["", "Please send these documents (or a corrected order) by fax or through your EHR, quoting the "
              "reference below.", "", f"Reference: {case.key}", ""]
    return "\n".join(lines)
