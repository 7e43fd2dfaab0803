"""What each kind of document says about a case, in varied wording — and the labels: exactly the fields (in
``osler.dme.model`` vocabulary) that the document states. A builder returns the document's ``Content`` (laid out
later by a style) and its labelled fields; anything not labelled is distraction: the practice's group NPI, the
interpreting physician, prior studies, other dates, a secondary insurance."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from osler.dme.corpus import wording
from osler.dme.corpus.cases import CaseSpec, Person
from osler.dme.corpus.layouts import Content, Fact, Section, Table
from osler.dme.corpus.wording import Wording

OXYGEN_USE_PHRASES = {"continuous": ("continuous", "24 hours/day, continuous", "continuously"),
                      "nocturnal": ("nocturnal", "during sleep (nocturnal)", "nocturnal use only"),
                      "exertional": ("exertional", "with exertion (exertional)", "exertional use")}
OTHER_HISTORY = ("osteoarthritis", "GERD", "hyperlipidemia", "hypothyroidism", "BPH", "glaucoma")


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class Writer:
    """One document in progress: its voice (``Wording``), its facts and the fields it has labelled."""

    def __init__(self, case: CaseSpec, rng: random.Random) -> None:
        self.case, self.rng, self.w = case, rng, Wording(rng)
        self.fields: dict[str, Any] = {}

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def patient_name(self) -> str:
        person = self.case.patient
        return wording.format_name(person.given, person.family, self.rng, middle=person.middle)

    def clinician(self, person: Person) -> str:
        return wording.format_clinician(person.given, person.family, getattr(person, "suffix", "MD"), self.rng)

    def fact(self, label_key: str, value: str, sentence: str, field_name: str | None = None,
             field_value: Any = None) -> Fact:
        if field_name:
            self.fields[field_name] = field_value
        return Fact(self.w.label(label_key), value, sentence.format(v=value).replace("..", "."))

    def identity(self, *, sex: float = 0.0, mrn: float = 0.0, mbi: float = 0.0, payer: float = 0.0) -> list[Fact]:
        case, rng = self.case, self.rng
        facts = [self.fact("patient", self.patient_name(), rng.choice(("Patient: {v}.", "This concerns {v}.",
                                                                        "Re patient {v}.")),
                           "patient_name", case.patient.value),
                 self.fact("birth_date", self.w.date(case.birth_date), rng.choice(("Date of birth {v}.", "Born {v}.",
                                                                                   "DOB {v}.")),
                           "birth_date", case.birth_date.isoformat())]
        if self.chance(sex):
            facts.append(self.fact("sex", wording.format_sex(case.sex, rng), "Sex: {v}.", "sex", case.sex))
        if self.chance(mrn):
            facts.append(self.fact("mrn", case.mrn, "Medical record number {v}.", "mrn", case.mrn))
        if self.chance(mbi):
            facts.append(self.fact("mbi", wording.format_mbi(case.mbi, rng), "Medicare ID (MBI) {v}.", "mbi", case.mbi))
        if self.chance(payer):
            facts.append(self.fact("payer", case.payer, "Primary insurance is {v}.", "payer", case.payer))
            if case.member_id:
                facts.append(self.fact("member_id", case.member_id, "Member ID {v}.", "member_id", case.member_id))
        return facts

    def letterhead(self, practice: str, *, group_npi: str | None = None) -> list[str]:
        own = practice == self.case.prescriber.practice
        address = self.case.prescriber.address if own else (
            f"{self.rng.randint(10, 9999)} {self.w.pick(wording.STREETS)}, {self.w.pick(wording.CITIES)}")
        lines = [practice, address, f"Phone {self.case.prescriber.phone if own else self.phone()}  Fax {self.phone()}"]
        if group_npi and self.chance(0.6):
            lines.append(f"{self.w.pick(('Group NPI', 'Practice NPI', 'Facility NPI', 'Billing NPI'))}: {group_npi}")
        return lines

    def phone(self) -> str:
        return f"({self.rng.randint(200, 989)}) {self.rng.randint(200, 989)}-{self.rng.randint(1000, 9999)}"

    def diagnoses(self, codes: list[str]) -> Fact:
        text = "; ".join(f"{code} {wording.DIAGNOSES[code]}" if self.chance(0.5) else
                         f"{wording.DIAGNOSES[code]} ({code})" for code in codes)
        return self.fact("diagnoses", text, "Diagnoses: {v}.", "diagnoses", list(codes))

    def prescriber(self, *, npi: float) -> list[Fact]:
        doctor = self.case.prescriber
        facts = [self.fact("prescriber", self.clinician(doctor), "Ordered by {v}.", "prescriber_name", doctor.value)]
        if self.chance(npi):
            facts.append(self.fact("npi", doctor.npi, "NPI {v}.", "prescriber_npi", doctor.npi))
        return facts

    def signature(self, signed: bool, when: date, who: Person) -> list[str]:
        self.fields["signature_present"] = signed
        name = self.clinician(who)
        if not signed:
            return [self.w.pick(("Physician Signature: ______________________   Date: ___________",
                                 "Signature of ordering practitioner: ____________________",
                                 "Prescriber signature: ________________  Date: ________"))]
        return [self.w.pick(("Electronically signed by {n} on {d}", "Signature: /s/ {n}   Date: {d}",
                             "Signed: {n}  {d}", "Physician signature: [signed] {n}, {d}",
                             "Digitally signed by {n} - {d}")).format(n=name, d=self.w.date(when))]

    def content(self, title: str, letterhead: list[str], identity: list[Fact], sections: list[Section],
                signature: list[str] | None = None) -> tuple[Content, dict[str, Any]]:
        return Content(title, letterhead, identity, sections, signature or []), self.fields


def _setting_text(w: Wording, item: dict[str, Any]) -> str:
    s = item["settings"]
    parts: list[str] = []
    if "pressure" in s:
        parts.append(w.pick(("CPAP at {p} cm H2O", "Pressure: {p} cmH2O", "fixed pressure {p} cm H2O")).format(
            p=s["pressure"]))
    if "pressure_min" in s:
        parts.append(w.pick(("Auto-CPAP {a}-{b} cm H2O", "APAP min {a} / max {b} cmH2O",
                             "auto-titrating range {a} to {b} cm H2O")).format(a=s["pressure_min"],
                                                                                b=s["pressure_max"]))
    if "ipap" in s:
        parts.append(w.pick(("IPAP {i} / EPAP {e} cm H2O", "IPAP {i} cmH2O, EPAP {e} cmH2O")).format(
            i=s["ipap"], e=s["epap"]))
    if "mask" in s:
        parts.append(w.pick(wording.MASK_WORDS[s["mask"]]))
    if "oxygen_lpm" in s:
        parts.append(w.pick(("{l} L/min via nasal cannula", "{l} LPM", "O2 at {l} liters per minute")).format(
            l=number(s["oxygen_lpm"])))
        parts.append(w.pick(OXYGEN_USE_PHRASES[s["oxygen_use"]]))
    return ", ".join(parts)


def dme_order(case: CaseSpec, rng: random.Random, *, items: list[dict[str, Any]] | None = None,
              order_date: date | None = None, amends: date | None = None,
              coverage: bool = False) -> tuple[Content, dict[str, Any]]:
    """``coverage``: the order is the only place the MBI and payer are written (no facesheet came with it)."""
    x = Writer(case, rng)
    items = items or case.items
    order_date = order_date or case.order_date
    title = x.w.pick(("Detailed Written Order", "DME Prescription", "Standard Written Order - Durable Medical "
                      "Equipment", "Physician Order for Home Medical Equipment", "Rx: Durable Medical Equipment",
                      "Oxygen Order" if case.therapy == "oxygen" else "PAP Therapy Order"))
    # How the practice marks the correction; its own generator, so the rest of the form reads as before
    marker = random.Random(f"{case.key}/amended").choice(("AMENDED ORDER - ", "Revised ", "Corrected ", "sentence"))
    if amends and marker != "sentence":
        title = marker + title
    identity = x.identity(sex=0.4, mrn=0.3, mbi=1.0 if coverage else 0.6, payer=1.0 if coverage else 0.35)
    rows = [[item["hcpcs"], x.w.pick(wording.HCPCS_WORDS[item["hcpcs"]]), str(item["quantity"]),
             _setting_text(x.w, item)] for item in items]
    table = Table(["HCPCS", "Description", "Qty", "Settings / Instructions"], rows,
                  [f"{code} {words}, quantity {qty}" + (f" ({settings})" if settings else "")
                   for code, words, qty, settings in rows], (12, 34, 8, 46))
    x.fields["items"] = items
    order_facts: list[Fact | Table | str] = [
        x.fact("order_date", x.w.date(order_date), "The order is dated {v}.", "order_date", order_date.isoformat()),
        table, x.diagnoses(case.diagnoses),
        Fact("Length of need", x.w.pick(("99 months (lifetime)", "Lifetime", "12 months")), "")]
    if case.cpap_trial_failed:
        order_facts.append(Fact("Medical necessity", x.w.pick(("Failed CPAP trial: unable to tolerate CPAP",
                                                                "CPAP tried and failed (intolerant of CPAP)"))))
    if amends and marker == "sentence":
        order_facts.append(f"This order amends and replaces the order dated {x.w.date(amends)}.")
    sections = [Section(x.w.pick(("Order", "Equipment Ordered", "Items", "Prescription")), order_facts),
                Section(x.w.pick(("Prescriber", "Ordering Practitioner", "Physician Information")),
                        [*x.prescriber(npi=1.0), Fact("Phone", case.prescriber.phone, "")])]
    signature = x.signature(case.signed, order_date, case.prescriber)
    return x.content(title, x.letterhead(case.prescriber.practice, group_npi=case.prescriber.practice_npi), identity,
                     sections, signature)


def facesheet(case: CaseSpec, rng: random.Random) -> tuple[Content, dict[str, Any]]:
    x = Writer(case, rng)
    title = x.w.pick(("Patient Face Sheet", "Demographics", "Patient Registration Summary", "FACE SHEET",
                      "Patient Information", "Admission Face Sheet"))
    identity = x.identity(sex=1.0, mrn=1.0, mbi=1.0 if case.member_id is None else 0.7, payer=1.0)
    contact = [Fact("Address", f"{rng.randint(10, 9999)} {x.w.pick(wording.STREETS)}, {x.w.pick(wording.CITIES)}"),
               Fact("Home phone", x.phone())]
    if x.chance(0.5):
        other = Person(x.w.pick(wording.FIRST_NAMES), case.patient.family)
        contact.append(Fact("Emergency contact", f"{other.given} {other.family} (spouse)"))
    sections = [Section("Contact", list(contact))]
    extra: list[Fact | Table | str] = []
    if x.chance(0.4):
        secondary = f"{x.w.pick(wording.SECONDARY_PAYERS)}, ID {rng.randint(10**8, 10**9)}"
        extra.append(Fact("Secondary insurance", secondary))
    if case.pcp and x.chance(0.6):
        extra.append(Fact("Primary care physician", x.clinician(case.pcp)))
    if extra:
        sections.append(Section(x.w.pick(("Other", "Additional information", "Care team / coverage")), extra))
    footer_date = case.order_date - timedelta(days=rng.randint(0, 5))
    return x.content(title, x.letterhead(case.prescriber.practice), identity, sections,
                     [f"Printed {x.w.date(footer_date)}"])


def office_note(case: CaseSpec, rng: random.Random) -> tuple[Content, dict[str, Any]]:
    x = Writer(case, rng)
    f2f = case.face_to_face or {}
    visit = date.fromisoformat(f2f["date"])
    pap = case.therapy != "oxygen"
    title = x.w.pick(("Office Visit", "Progress Note", "Face-to-Face Evaluation", "Clinic Note",
                      "Sleep Medicine Consultation" if pap else "Pulmonary Follow-up Visit", "New Patient Visit"))
    identity = [*x.identity(sex=0.3, mrn=0.5), x.fact("visit_date", x.w.date(visit), "Seen in clinic on {v}.")]
    x.fields["face_to_face"] = {"date": visit.isoformat(), "symptoms": f2f["symptoms"],
                                "comorbidities": f2f["comorbidities"]}
    provider = x.prescriber(npi=0.3)
    symptoms, comorbidities = f2f["symptoms"], f2f["comorbidities"]
    complaints = [x.w.pick(wording.SYMPTOM_PHRASES[s]) for s in symptoms]
    if pap:
        subjective = "Patient presents for evaluation of suspected sleep apnea."
        subjective += f" Reports {', '.join(complaints)}." if complaints else ""
        if "excessive daytime sleepiness" in symptoms:
            subjective += f" Epworth Sleepiness Scale {case.epworth}/24."
        elif not set(symptoms) & set(wording.QUALIFYING_SYMPTOMS) and x.chance(0.5):
            subjective += f" Denies daytime sleepiness, insomnia or low mood; Epworth score {case.epworth}/24."
        if case.cpap_trial_failed:
            subjective += x.w.pick((" Failed a CPAP trial: unable to tolerate CPAP despite mask refits.",
                                    " Previously on CPAP, intolerant of CPAP at effective pressures."))
    else:
        subjective = f"Follow-up of chronic lung disease with {', '.join(complaints)} and reduced exercise tolerance."
    written = set(wording.DIAGNOSIS_CONDITIONS.values())  # those come in through the assessment's diagnoses
    history = [x.w.pick(wording.COMORBIDITY_PHRASES[c]) for c in comorbidities if c not in written or x.chance(0.3)]
    history += rng.sample(OTHER_HISTORY, rng.randint(1, 2))
    if pap and not set(comorbidities) & set(wording.QUALIFYING_COMORBIDITIES) and x.chance(0.5):
        history.append("no history of hypertension, stroke or heart disease")
    vitals = f"BP {rng.randint(118, 150)}/{rng.randint(70, 92)}, HR {rng.randint(60, 95)}, BMI {rng.randint(27, 44)}"
    vitals += f".{rng.randint(0, 9)}" + (f", SpO2 {rng.randint(94, 99)}% on room air" if pap and x.chance(0.3) else "")
    plan = (x.w.pick(("Order attended polysomnography.", "Home sleep apnea test ordered.",
                      "Schedule diagnostic sleep study, then PAP if indicated."))
            if pap and case.sleep_study and visit < date.fromisoformat(case.sleep_study["date"])
            else x.w.pick(("Reviewed recent testing with the patient; start therapy as ordered.",
                           "Discussed results; DME order sent to supplier.")))
    sections = [Section(x.w.pick(("Subjective", "History of Present Illness", "S")), [subjective]),
                Section(x.w.pick(("Past Medical History", "PMH", "Medical history")), [", ".join(history) + "."]),
                Section(x.w.pick(("Objective", "Exam", "O")), [f"Vitals: {vitals}."]),
                Section(x.w.pick(("Assessment", "Impression", "A")), [x.diagnoses(case.diagnoses)]),
                Section(x.w.pick(("Plan", "P", "Recommendations")), [plan]),
                Section(x.w.pick(("Provider", "Clinician")), list(provider))]
    signature = x.signature(True, visit + timedelta(days=rng.randint(0, 2)), case.prescriber)
    if case.pcp and x.chance(0.4):
        signature.append(f"cc: {x.clinician(case.pcp)}")
    return x.content(title, x.letterhead(case.prescriber.practice, group_npi=case.prescriber.practice_npi), identity,
                     sections, signature)


def sleep_study(case: CaseSpec, rng: random.Random) -> tuple[Content, dict[str, Any]]:
    x = Writer(case, rng)
    study = dict(case.sleep_study or {})
    x.fields["sleep_study"] = study
    when = date.fromisoformat(study["date"])
    if study["type"] == "PSG":
        title = x.w.pick(("Polysomnography Report", "Diagnostic Polysomnogram", "Attended In-Lab Sleep Study (PSG)",
                          "Overnight Polysomnography (Type I)"))
    else:
        title = x.w.pick(("Home Sleep Apnea Test Report", "HSAT Interpretation", "Home Sleep Test (Type III) Report",
                          "Unattended Home Sleep Test (HST)"))
    identity = [*x.identity(sex=0.3, mrn=0.5), x.fact("study_date", x.w.date(when), "Study performed {v}.")]
    if x.chance(0.5):
        identity.append(x.fact("prescriber", x.clinician(case.prescriber), "Referred by {v}.", "prescriber_name",
                               case.prescriber.value))
    reader = case.interpreting
    if reader and x.chance(0.6):
        identity.append(Fact("Interpreting physician", f"{x.clinician(reader)}, NPI {reader.npi}"))
    hours = study["recording_hours"]
    recording = (f"{number(hours)} hours" if x.chance(0.6) else f"{number(round(hours * 60, 1))} min")
    index_name, index = ("ahi", study["ahi"]) if study["ahi"] is not None else ("rdi", study["rdi"])
    if index_name == "ahi":
        index_text = x.w.pick(("AHI of {v}", "apnea-hypopnea index: {v}/h", "{v} events per hour (AHI)",
                               "AHI {v} events/hr")).format(v=number(index))
    else:
        index_text = x.w.pick(("RDI of {v}", "respiratory disturbance index: {v}/h", "RDI {v} events/hr")).format(
            v=number(index))
    results: list[Fact | Table | str] = [
        Fact(x.w.pick(("Total recording time", "TRT", "Recording duration")), recording),
        Fact(x.w.pick(("Total respiratory events", "Apneas + hypopneas", "Total events")), str(study["total_events"])),
        Fact(x.w.pick(("Severity index", "Result", "Respiratory index")), index_text)]
    if study["type"] == "PSG" and x.chance(0.5):
        results.append(Fact("Total sleep time", f"{number(round(hours - 0.6, 1))} hours"))
    if x.chance(0.5):
        results.append(Fact("Supine AHI", number(round(index * 1.4, 1))))
    results.append(Fact("Oxygen nadir", f"{rng.randint(78, 89)}%"))
    if x.chance(0.3):
        prior = when - timedelta(days=rng.randint(800, 2500))
        results.append(f"Comparison: prior study on {x.w.date(prior)} showed AHI {number(round(index * 0.6, 1))}.")
    if index >= 5:
        severity = "severe" if index >= 30 else "moderate" if index >= 15 else "mild"
        impression: list[Fact | Table | str] = [f"Obstructive sleep apnea, {severity}.", x.diagnoses(["G47.33"])]
    else:
        impression = ["Findings do not meet criteria for obstructive sleep apnea."]
    sections = [Section(x.w.pick(("Results", "Respiratory Data", "Summary of Findings")), results),
                Section(x.w.pick(("Impression", "Interpretation", "Diagnosis")), impression)]
    signature = [f"Interpreted by {x.clinician(reader)}" if reader else "Interpreted by the sleep physician"]
    return x.content(title, x.letterhead(x.w.pick(wording.PRACTICES), group_npi=case.prescriber.practice_npi),
                     identity, sections, signature)


def oxygen_test(case: CaseSpec, rng: random.Random) -> tuple[Content, dict[str, Any]]:
    x = Writer(case, rng)
    test = dict(case.oxygen_test or {})
    x.fields["oxygen_test"] = test
    when = date.fromisoformat(test["date"])
    identity = [*x.identity(sex=0.2, mrn=0.5), x.fact("study_date", x.w.date(when), "Tested on {v}.")]
    if x.chance(0.5):
        identity.append(x.fact("prescriber", x.clinician(case.prescriber), "Ordered by {v}.", "prescriber_name",
                               case.prescriber.value))
    results: list[Fact | Table | str]
    if test["pao2"] is not None:
        title = x.w.pick(("Arterial Blood Gas Results", "ABG Report", "Blood Gas Analysis"))
        results = [Table(["Test", "Result", "Units"],
                         [["pH", f"7.{rng.randint(35, 45)}", ""], ["PaCO2", str(rng.randint(38, 52)), "mmHg"],
                          ["PaO2", number(test["pao2"]), "mmHg"], ["HCO3", str(rng.randint(22, 30)), "mEq/L"]]),
                   "Drawn at rest on room air."]
    elif test["condition"] == "rest":
        title = x.w.pick(("Resting Pulse Oximetry", "Oxygen Saturation Test", "Qualifying Oxygen Test"))
        results = [Fact("SpO2 at rest on room air", f"{number(test['spo2'])}%")]
    elif test["condition"] == "exercise":
        title = x.w.pick(("Six-Minute Walk Test with Oximetry", "Ambulatory Oximetry Study", "Exercise Oximetry"))
        results = [Table(["Condition", "Oxygen", "SpO2"],
                         [["At rest", "room air", f"{rng.randint(91, 95)}%"],
                          ["During exercise", "room air", f"{number(test['spo2'])}%"],
                          ["During exercise", "2 L/min", f"{rng.randint(92, 96)}%"]])]
    else:
        title = x.w.pick(("Overnight Oximetry Report", "Nocturnal Oximetry", "Overnight Pulse Oximetry (sleep)"))
        minutes = rng.randint(8, 95) if test["spo2"] <= 88 else 0
        results = [Fact("Lowest SpO2 during sleep (room air)", f"{number(test['spo2'])}%"),
                   Fact("Time with SpO2 at or below 88%", f"{minutes} minutes"),
                   Fact("Mean SpO2", f"{rng.randint(90, 94)}%")]
    sections = [Section(x.w.pick(("Results", "Findings", "Measurements")), results)]
    return x.content(title, x.letterhead(x.w.pick(wording.PRACTICES)), identity, sections,
                     [f"Performed by {x.w.pick(('RT', 'RRT', 'CRT'))} {x.w.pick(wording.LAST_NAMES)}"])


def encounter_summary(case: CaseSpec, rng: random.Random) -> tuple[Content, dict[str, Any]]:
    x = Writer(case, rng)
    title = x.w.pick(("Encounter Summary", "Visit Summary", "Discharge Summary", "Clinical Summary",
                      "After Visit Summary", "Continuity of Care Summary"))
    when = case.order_date - timedelta(days=rng.randint(30, 400))
    identity = [*x.identity(sex=0.5, mrn=0.8), Fact(x.w.label("visit_date"), x.w.date(when))]
    if case.pcp:
        identity.append(Fact("Attending", x.clinician(case.pcp)))
    medications = rng.sample(("lisinopril 10 mg daily", "metformin 500 mg BID", "atorvastatin 40 mg nightly",
                              "tiotropium inhaler daily", "albuterol PRN", "furosemide 20 mg daily"), 3)
    sections = [Section(x.w.pick(("Problem List", "Diagnoses", "Active Problems")), [x.diagnoses(case.diagnoses)]),
                Section("Medications", ["; ".join(medications)]),
                Section("Allergies", [x.w.pick(("NKDA", "Penicillin (rash)", "Sulfa"))])]
    return x.content(title, x.letterhead(x.w.pick(wording.PRACTICES)), identity, sections)


def non_dme(case: CaseSpec, rng: random.Random) -> tuple[Content, dict[str, Any]]:
    """Paperwork that rides along with orders but is not DME documentation; labelled by kind only."""
    x = Writer(case, rng)
    identity = x.identity(mrn=0.5)
    when = case.order_date - timedelta(days=rng.randint(1, 200))
    variant = rng.randrange(4)
    if variant == 0:
        title = "Laboratory Report"
        sections = [Section("Complete Blood Count", [Table(["Test", "Result", "Reference"], [
            ["WBC", f"{rng.uniform(4, 11):.1f}", "4.0-11.0"], ["Hemoglobin", f"{rng.uniform(11, 16):.1f}", "12-16"],
            ["Platelets", str(rng.randint(150, 400)), "150-400"]])]), Section("Collected", [x.w.date(when)])]
    elif variant == 1:
        title = "Referral Letter"
        sections = [Section("Referral", [f"Please see this patient in cardiology for evaluation of palpitations. "
                                         f"Last seen {x.w.date(when)}."])]
    elif variant == 2:
        title = "Immunization Record"
        sections = [Section("Vaccines", [Table(["Vaccine", "Date", "Lot"], [
            [name, x.w.date(when - timedelta(days=rng.randint(0, 900))), f"L{rng.randint(1000, 9999)}"]
            for name in ("Influenza", "Pneumococcal PCV20", "Tdap", "COVID-19")])])]
    else:
        title = "Billing Statement"
        sections = [Section("Charges", [Table(["Date", "Description", "Amount"], [
            [x.w.date(when), "Office visit", f"${rng.randint(80, 250)}.00"],
            [x.w.date(when), "Spirometry", f"${rng.randint(40, 120)}.00"]]), "Amount due within 30 days."])]
    x.fields.clear()  # non-DME paperwork is scored on its kind only
    return x.content(title, x.letterhead(x.w.pick(wording.PRACTICES)), identity, sections)


BUILDERS = {"dme_order": dme_order, "facesheet": facesheet, "office_note": office_note, "sleep_study": sleep_study,
            "oxygen_test": oxygen_test, "encounter_summary": encounter_summary, "non_dme": non_dme}
