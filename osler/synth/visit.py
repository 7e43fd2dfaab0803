"""Sarah's journey, the visit and what follows it (EpicCare, Beaker, Willow, In Basket).

Dr. Grey sees Sarah: the medical assistant takes her vitals, the doctor diagnoses a migraine, orders a
CBC and a lipid panel, prescribes sumatriptan to the pharmacy down the street, signs her note and the
level of service, and Sarah gets her after-visit summary and checks out. The lab draws, receives and
results her specimens; Dr. Grey comments on the lipid panel and the results reach Sarah's portal inbox
with the comment. The pharmacy verifies and dispenses the prescription, Sarah is told it is ready and
picks it up. Last, her portal inbox is read back: results, visit summary, prescription ready.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from osler.apps import charting, checkin, inbasket, lab, pharmacy
from osler.apps.clinic import Clinic
from osler.apps.registration.payer_port import PayerGateway
from osler.chronicle.records import Actor, Stored
from osler.chronicle.store import Chronicle
from osler.config import Settings
from osler.synth.journey import MA, StoryClock
from osler.synth.steps import Step, StepResult, expect

DOCTOR = Actor("dr.grey", "treatment")
LAB_TECH = Actor("lab.chen", "treatment")
PHARMACIST = Actor("rph.novak", "treatment")
CBC, LIPIDS = "58410-2", "24331-1"
SUMATRIPTAN_50_MG_TABLET = "313420"
MIGRAINE = "G43.909"
RESULTS = {
    CBC: [("6690-2", 6.8, "10*3/uL"), ("789-8", 4.6, "10*6/uL"), ("718-7", 13.6, "g/dL"), ("4544-3", 40.9, "%"),
          ("787-2", 89.0, "fL"), ("777-3", 262.0, "10*3/uL")],
    LIPIDS: [("2093-3", 212.0, "mg/dL"), ("2571-8", 128.0, "mg/dL"), ("2085-9", 58.0, "mg/dL"),
             ("13457-7", 128.0, "mg/dL")],
}
COMMENT = "Cholesterol a little high; more exercise and less saturated fat, and we recheck in a year."


def care_steps(chronicle: Chronicle, settings: Settings, gateway: PayerGateway, clock: StoryClock) -> list[Step]:
    clinic = Clinic(chronicle, ZoneInfo(settings.clinic_timezone), clock)

    def seen(state: dict[str, Any]) -> StepResult:
        clock.advance(6)
        vitals = charting.record_vitals(clinic, state["encounter"], charting.VitalsRequest.model_validate({
            "practitioner": state["doctor"], "heart_rate": {"value": 74}, "respiratory_rate": {"value": 14},
            "temperature": {"value": 98.4, "unit": "[degF]"}, "spo2": {"value": 99},
            "height": {"value": 165, "unit": "cm"}, "weight": {"value": 61, "unit": "kg"},
            "blood_pressure": {"systolic": 118, "diastolic": 76}}), actor=MA)
        codes = {o.resource["code"]["coding"][0]["code"] for o in vitals}
        expect("39156-5" in codes, "no BMI was computed from her height and weight")
        expect("85354-9" in codes, "the blood pressure panel is missing")
        clock.advance(9)
        encounter = checkin.mark_seen(clinic, state["encounter"], state["doctor"], actor=DOCTOR)
        expect(checkin.milestones(encounter.resource)["seen"], "the time Dr. Grey saw her is not on the Encounter")
        return StepResult(f"{len(vitals)} vital signs (BP 118/76, BMI computed); Dr. Grey sees her", vitals)

    def diagnosed(state: dict[str, Any]) -> StepResult:
        problem = charting.add_problem(clinic, state["encounter"], charting.ProblemRequest(
            code=MIGRAINE, practitioner=state["doctor"]), actor=DOCTOR)
        diagnosed = charting.add_diagnoses(clinic, state["encounter"], charting.DiagnosesRequest.model_validate(
            {"practitioner": state["doctor"], "diagnoses": [{"code": MIGRAINE, "rank": 1}]}), actor=DOCTOR)
        ranked = diagnosed.encounter.resource.get("diagnosis") or []
        expect(ranked and ranked[0].get("rank") == 1, "the migraine is not the encounter's primary diagnosis")
        return StepResult("migraine (G43.909) on her problem list and as the visit's primary diagnosis",
                          [problem, *diagnosed.conditions, diagnosed.encounter])

    def labs_ordered(state: dict[str, Any]) -> StepResult:
        orders = {code: charting.place_order(clinic, state["encounter"], charting.LabOrder(
            code=code, sign=True, reasons=[MIGRAINE], practitioner=state["doctor"]), actor=DOCTOR)
            for code in (CBC, LIPIDS)}
        expect(all(o.resource["status"] == "active" for o in orders.values()), "the lab orders were not signed")
        state["lab_orders"] = {code: order.res_id for code, order in orders.items()}
        return StepResult("CBC and lipid panel ordered and signed", list(orders.values()))

    def prescribed(state: dict[str, Any]) -> StepResult:
        store = chronicle.create({"resourceType": "Organization", "active": True, "name": "Linden Avenue Pharmacy",
                                  "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                        "organization-type", "code": "prov"}],
                                            "text": "Pharmacy"}]}, actor=DOCTOR).stored
        rx = charting.place_order(clinic, state["encounter"], charting.Prescription(
            rxnorm=SUMATRIPTAN_50_MG_TABLET, dose=1, frequency=1, period=2, period_unit="h", as_needed=True,
            max_doses_per_day=4, quantity=9, refills=1, days_supply=30, pharmacy=store.res_id, sign=True,
            reasons=[MIGRAINE], practitioner=state["doctor"]), actor=DOCTOR)
        queued = [item for item in pharmacy.queue(clinic, store.res_id, actor=PHARMACIST)
                  if item.medication_request == rx.res_id]
        expect(queued, "the prescription did not reach the pharmacy's queue")
        state.update(pharmacy=store.res_id, prescription=rx.res_id)
        sig = rx.resource["dosageInstruction"][0]["text"]
        return StepResult(f"sumatriptan 50 mg to {store.resource['name']}: \"{sig}\"", [rx])

    def charted(state: dict[str, Any]) -> StepResult:
        note = charting.write_note(clinic, state["encounter"], charting.NoteRequest(
            practitioner=state["doctor"], text="Episodic unilateral throbbing headaches with photophobia, about "
            "twice a month, no aura; neurologic exam normal. Migraine without aura. Start sumatriptan as "
            "needed; headache diary; return in 3 months."), actor=DOCTOR)
        signed = charting.sign_note(clinic, note.res_id, charting.Acting(practitioner=state["doctor"]), actor=DOCTOR)
        expect(signed.resource["docStatus"] == "final", "the note was not signed")
        try:
            charting.edit_note(clinic, note.res_id, charting.NoteEdit(text="changed", practitioner=state["doctor"]),
                               actor=DOCTOR)
            expect(False, "a signed note could still be edited")
        except charting.NoteLocked:
            pass
        charge = charting.set_level_of_service(clinic, state["encounter"], charting.LevelOfService(
            code="99214", practitioner=state["doctor"]), actor=DOCTOR)
        return StepResult("progress note signed and locked; level of service 99214", [signed, charge])

    def summary_and_checkout(state: dict[str, Any]) -> StepResult:
        document = charting.after_visit_summary(clinic, state["encounter"], charting.SummaryRequest(
            practitioner=state["doctor"], instructions="Take sumatriptan at the start of a migraine; keep a "
            "headache diary; we will message you your lab results."), actor=DOCTOR)
        pdf = charting.summary_pdf(document.resource)
        expect(pdf.startswith(b"%PDF"), "the after-visit summary is not a PDF")
        clock.advance(20)
        encounter = checkin.check_out(clinic, state["encounter"], actor=MA)
        expect(encounter.resource["status"] == "finished", "the visit was not closed at check-out")
        return StepResult(f"after-visit summary ({len(pdf):,}-byte PDF) sent to her portal; checked out",
                          [document, encounter])

    def resulted(state: dict[str, Any]) -> StepResult:
        written: list[Stored] = []
        reports = {}
        for code, order in state["lab_orders"].items():
            specimen = lab.collect_specimen(clinic, order, actor=LAB_TECH)
            accession = specimen.resource["accessionIdentifier"]["value"]
            clock.advance(30)
            lab.receive_specimen(clinic, accession, actor=LAB_TECH)
            values = [lab.ResultValue(code=c, value=value, unit=unit) for c, value, unit in RESULTS[code]]
            filed = lab.file_results(clinic, accession, values, actor=LAB_TECH)
            expect(filed.task is not None, f"no review task reached Dr. Grey for {lab.lab_test(code).name}")
            reports[code] = filed
            written += [specimen, filed.report]
        cbc_flags = reports[CBC].as_json()["interpretation"]
        expect(set(cbc_flags.values()) == {"N"}, f"Sarah's CBC values are all in range, yet flagged {cbc_flags}")
        lipid_flags = reports[LIPIDS].as_json()["interpretation"]
        expect(lipid_flags.get("2093-3") == "H", f"total cholesterol 212 mg/dL should be flagged H: {lipid_flags}")
        expect(all(f.as_json()["released"] for f in reports.values()), "results were not released to her portal")
        state["lipid_report"] = reports[LIPIDS].report.res_id
        return StepResult(f"CBC normal; lipid panel: total cholesterol {lipid_flags.get('2093-3')}, "
                          f"LDL {lipid_flags.get('13457-7')}", written)

    def commented(state: dict[str, Any]) -> StepResult:
        commented = lab.add_result_comment(clinic, state["lipid_report"], COMMENT,
                                           author=f"Practitioner/{state['doctor']}", actor=DOCTOR)
        expect(commented.message is not None, "the comment on released results did not reach Sarah")
        return StepResult("Dr. Grey's comment added to the lipid panel and sent to Sarah",
                          [commented.report, *([commented.message] if commented.message else [])])

    def dispensed(state: dict[str, Any]) -> StepResult:
        pharmacist = chronicle.create({"resourceType": "Practitioner", "name": [{"family": "Novak",
                                                                                  "given": ["Ana"]}]},
                                      actor=PHARMACIST).stored.res_id
        clock.advance(45)
        verified = pharmacy.verify_prescription(clinic, state["prescription"], pharmacist, actor=PHARMACIST)
        dispense = pharmacy.dispense(clinic, state["prescription"], 9, 30, "SUM24A117", clinic.today() +
                                     timedelta(days=540), pharmacist, actor=PHARMACIST)
        _fill, message = pharmacy.mark_ready(clinic, state["prescription"], pharmacist, actor=PHARMACIST)
        clock.advance(120)
        picked_up = pharmacy.mark_picked_up(clinic, state["prescription"], pharmacist, actor=PHARMACIST)
        expect(picked_up.resource.get("whenHandedOver"), "the hand-over time is not recorded")
        warnings = f" ({len(verified.issues)} warning(s) noted)" if verified.issues else ""
        return StepResult(f"verified{warnings}, 9 tablets dispensed (lot SUM24A117), Sarah told it is ready, "
                          "picked up", [dispense, message, picked_up])

    def portal_inbox(state: dict[str, Any]) -> StepResult:
        box = inbasket.inbox(clinic, f"Patient/{state['patient']}", actor=Actor("portal", "patient-access"))
        categories = [item.category for item in box.items]
        for wanted in ("result-released", "visit-summary", "rx-ready"):
            expect(wanted in categories, f"Sarah's portal inbox has no {wanted} message: {categories}")
        texts = " ".join(item.text for item in box.items)
        expect(COMMENT in texts, "Dr. Grey's comment did not reach Sarah with her results")
        return StepResult(f"{len(box.items)} messages: " + ", ".join(sorted(set(categories))), [])

    return [Step("Vitals, then Dr. Grey sees her", seen), Step("A migraine is diagnosed", diagnosed),
            Step("Labs are ordered", labs_ordered), Step("A prescription goes to the pharmacy", prescribed),
            Step("The visit is charted", charted), Step("Her visit summary; she checks out", summary_and_checkout),
            Step("The lab results her specimens", resulted), Step("Dr. Grey comments on the results", commented),
            Step("The pharmacy fills her prescription", dispensed),
            Step("Sarah reads her portal inbox", portal_inbox)]
