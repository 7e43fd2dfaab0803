"""Rules every Medicare DME order meets, whatever the item: the written order's elements (beneficiary,
order date, items and quantities, treating practitioner's name, a valid NPI, the signature) and a
well-formed Medicare Beneficiary Identifier (or, for a Medicare Advantage plan, its member ID)."""

from __future__ import annotations

from osler.dme.identity import folded_identifier, hcpcs_codes
from osler.dme.model import DocumentKind
from osler.dme.qualify.context import Judgement
from osler.dme.understand.validators import valid_mbi, valid_npi


def check_order(judgement: Judgement) -> None:
    if not judgement.has_document(DocumentKind.DME_ORDER) and not judgement.value("items"):
        judgement.fail_absent("order", "No written order for the equipment is on file.")
    name = judgement.value("patient_name") or {}
    judgement.check(bool(name.get("family") and name.get("given")), "beneficiary-name",
                    "Order: the beneficiary's full name (first and last) is missing.", "Order: beneficiary named.")
    judgement.check(judgement.date_of("order_date") is not None, "order-date",
                    "Order: the order date is missing or unreadable.", "Order: dated.")
    items = judgement.value("items") or []
    judgement.check(bool(hcpcs_codes(items)), "order-items",
                    "Order: no item (equipment description or HCPCS code) is listed.", "Order: items listed.")
    without_quantity = sorted(str(i.get("hcpcs")) for i in items if not i.get("quantity"))
    judgement.check(not without_quantity, "order-quantity",
                    f"Order: the quantity of {', '.join(without_quantity)} is missing.", "Order: quantities given.")
    prescriber = judgement.value("prescriber_name") or {}
    judgement.check(bool(prescriber.get("family")), "prescriber-name",
                    "Order: the treating practitioner's name is missing.", "Order: treating practitioner named.")
    npi = judgement.value("prescriber_npi")
    if not npi:
        judgement.fail("prescriber-npi", "Order: the treating practitioner's NPI is missing.")
    else:
        judgement.check(valid_npi(str(npi)), "prescriber-npi",
                        f"Order: NPI {npi} is not a valid NPI (its check digit does not match); please send the "
                        "treating practitioner's correct 10-digit NPI.", "Order: NPI valid.")
    judgement.check(judgement.value("signature_present") is True, "prescriber-signature",
                    "Order: not signed by the treating practitioner; please sign and date the order and send it "
                    "again.", "Order: signed.")


def check_mbi(judgement: Judgement) -> None:
    mbi = judgement.value("mbi")
    plan_id = _plan_member_id(judgement)
    if not mbi and plan_id:
        # A Medicare Advantage plan identifies the member by its own ID; the MBI is not what it bills against.
        judgement.passed("No MBI; the plan's member ID identifies the patient.")
        return
    if mbi and plan_id and not valid_mbi(str(mbi)):
        # …so an MBI that fails its format check (OCR's misreading, more often than not) holds nothing up
        judgement.passed(f"MBI {mbi} fails its format check; the plan's member ID {plan_id} identifies the patient.")
        return
    if not mbi:
        judgement.fail("mbi", "The patient's Medicare Beneficiary Identifier (MBI) is not on the order or the "
                       "facesheet.")
        return
    judgement.check(valid_mbi(str(mbi)), "mbi", f"MBI {mbi} is not a valid Medicare Beneficiary Identifier "
                    "(11 characters, e.g. 1EG4-TE5-MK73); please check it against the patient's card.", "MBI valid.")


def _plan_member_id(judgement: Judgement) -> str | None:
    """The plan's member ID, when it is not the MBI itself written under a member-ID label."""
    member_id = judgement.value("member_id")
    if not member_id or folded_identifier(member_id) == folded_identifier(judgement.value("mbi")):
        return None
    return str(member_id)


def check_diagnosis(judgement: Judgement, code: str, condition: str) -> None:
    codes = {str(c).upper() for c in judgement.value("diagnoses") or ()}
    judgement.check(code in codes, "diagnosis",
                    f"No diagnosis of {condition} (ICD-10-CM {code}) on the order or the notes.",
                    f"Diagnosis {code} documented.")
