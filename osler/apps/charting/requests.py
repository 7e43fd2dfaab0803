"""EpicCare Ambulatory (charting): the requests it accepts (pydantic models), shared by the Python API and
the HTTP API.

Validation here is about shape only — a malformed code, a negative dose, a request naming nothing — so
such a request is refused (400) before anything is read. Whether a code is known, a unit fits, a value is
plausible or the encounter is open is decided by the modules that act (422/409), still before any write.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from osler.apps.scheduling.requests import FhirId

Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,31}$")]
UnitCode = Annotated[str, StringConstraints(min_length=1, max_length=24, pattern=r"^\S+$")]
CptCode = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
Recipient = Annotated[str, StringConstraints(pattern=r"^(Organization|Practitioner)/[A-Za-z0-9\-.]{1,64}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
Priority = Literal["routine", "urgent", "asap", "stat"]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
PRACTITIONER = Field(None, description="the Practitioner acting (author, requester, performer); default: the "
                                       "encounter's primary performer")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Acting(Strict):
    practitioner: FhirId | None = PRACTITIONER


# ------------------------------------------------------------------------------------ vitals


class Measurement(Strict):
    value: FiniteFloat
    unit: UnitCode | None = Field(None, description="a UCUM code that fits the vital; default its usual unit")


class BloodPressure(Strict):
    systolic: FiniteFloat
    diastolic: FiniteFloat
    unit: UnitCode | None = Field(None, description="default mm[Hg]")


class VitalsRequest(Acting):
    """One set of vitals taken together; BMI is computed when height and weight are given without it."""

    effective: AwareDatetime | None = Field(None, description="when they were taken; default now")
    heart_rate: Measurement | None = Field(None, examples=[{"value": 72, "unit": "/min"}])
    respiratory_rate: Measurement | None = None
    temperature: Measurement | None = Field(None, examples=[{"value": 98.6, "unit": "[degF]"}])
    spo2: Measurement | None = None
    height: Measurement | None = None
    weight: Measurement | None = None
    bmi: Measurement | None = None
    blood_pressure: BloodPressure | None = Field(None, examples=[{"systolic": 118, "diastolic": 76}])

    @model_validator(mode="after")
    def _something(self) -> VitalsRequest:
        if not any(getattr(self, name) is not None for name in type(self).model_fields
                   if name not in ("practitioner", "effective")):
            raise ValueError("record at least one vital sign")
        return self


# ---------------------------------------------------------------- problems and diagnoses


class ProblemRequest(Acting):
    code: Code = Field(description="ICD-10-CM code", examples=["G43.909"])
    onset: date | None = None
    note: str | None = Field(None, max_length=2000)


class ResolveProblem(Acting):
    abated: date | None = Field(None, description="default today")


class DiagnosisItem(Strict):
    code: Code = Field(description="ICD-10-CM code")
    rank: int | None = Field(None, ge=1, le=99, description="1 is the primary diagnosis; default: after the others")


class DiagnosesRequest(Acting):
    diagnoses: list[DiagnosisItem] = Field(min_length=1, max_length=12)

    @model_validator(mode="after")
    def _distinct(self) -> DiagnosesRequest:
        codes = [item.code for item in self.diagnoses]
        if len(codes) != len(set(codes)):
            raise ValueError("a diagnosis code appears twice")
        return self


# ------------------------------------------------------------------ allergies, medications


class AllergyRequest(Acting):
    """A drug allergy (RxNorm ingredient) or another allergen (SNOMED CT substance): exactly one."""

    rxnorm: Code | None = Field(None, description="RxNorm ingredient code", examples=["7980"])
    snomed: Code | None = Field(None, description="SNOMED CT substance code (food, environment)")
    criticality: Literal["low", "high", "unable-to-assess"] | None = None
    reactions: list[Code] = Field(default_factory=list, max_length=10, description="SNOMED CT manifestations")
    severity: Literal["mild", "moderate", "severe"] | None = None
    onset: date | None = None
    note: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _one_substance(self) -> AllergyRequest:
        if (self.rxnorm is None) == (self.snomed is None):
            raise ValueError("name the allergen by exactly one of rxnorm (a drug ingredient) or snomed")
        if self.severity and not self.reactions:
            raise ValueError("a severity describes a reaction: name the reaction")
        return self


class MedicationEntry(Acting):
    rxnorm: Code = Field(description="RxNorm code of the drug the patient takes")
    dosage: str | None = Field(None, max_length=500, examples=["1 tablet by mouth daily"])
    started: date | None = None


class StopMedication(Acting):
    reason: str | None = Field(None, max_length=500)


# ----------------------------------------------------------------------------------- notes


class NoteRequest(Acting):
    text: Text
    type: Code = Field("11506-3", description="LOINC document type; default Progress note")
    title: str | None = Field(None, max_length=200)


class NoteEdit(Acting):
    text: Text
    title: str | None = Field(None, max_length=200)


class Addendum(Acting):
    text: Text


# ----------------------------------------------------------------------------------- orders


class OrderBase(Acting):
    priority: Priority = "routine"
    reasons: list[Code] = Field(default_factory=list, max_length=12, description="ICD-10-CM codes")
    note: str | None = Field(None, max_length=2000)
    sign: bool = Field(False, description="sign at once (status active); default: a draft to sign later")


class LabOrder(OrderBase):
    kind: Literal["lab"] = "lab"
    code: Code = Field(description="LOINC order code", examples=["58410-2"])
    specimen: Code | None = Field(None, description="v2-0487 specimen type; default the test's usual one")


class Prescription(OrderBase):
    kind: Literal["prescription"] = "prescription"
    rxnorm: Code = Field(description="RxNorm clinical drug (SCD)", examples=["313420"])
    dose: PositiveFloat = Field(examples=[1])
    dose_unit: UnitCode = Field("{tbl}", description="UCUM code: {tbl}, {cap}, mg, mL…")
    route: Code = Field("26643006", description="SNOMED CT route; default oral")
    frequency: int = Field(1, ge=1, le=24, description="doses per period")
    period: PositiveFloat = 1
    period_unit: Literal["h", "d", "wk"] = "d"
    as_needed: bool = False
    max_doses_per_day: PositiveFloat | None = Field(None, description="a daily cap, e.g. 4 tablets a day for an "
                                                                       "as-needed sig (maxDosePerPeriod)")
    sig: str | None = Field(None, max_length=500, description="default: composed from dose, route and timing")
    quantity: PositiveFloat = Field(description="quantity to dispense")
    quantity_unit: UnitCode = "{tbl}"
    refills: int = Field(0, ge=0, le=11)
    days_supply: int = Field(ge=1, le=365)
    pharmacy: FhirId = Field(description="the dispensing pharmacy's Organization id")


class DmeSettings(Strict):
    pressure: PositiveFloat | None = Field(None, description="fixed CPAP pressure, cm[H2O]")
    pressure_min: PositiveFloat | None = Field(None, description="auto-CPAP range low, cm[H2O]")
    pressure_max: PositiveFloat | None = Field(None, description="auto-CPAP range high, cm[H2O]")
    ipap: PositiveFloat | None = Field(None, description="bilevel inspiratory pressure, cm[H2O]")
    epap: PositiveFloat | None = Field(None, description="bilevel expiratory pressure, cm[H2O]")
    mask: Literal["full-face", "nasal", "nasal-pillows"] | None = None
    humidifier: bool | None = None
    oxygen_flow: PositiveFloat | None = Field(None, description="oxygen, L/min")

    @model_validator(mode="after")
    def _pressure_range(self) -> DmeSettings:
        if (self.pressure_min is None) != (self.pressure_max is None):
            raise ValueError("an auto-CPAP range needs both pressure_min and pressure_max")
        if self.pressure is not None and self.pressure_min is not None:
            raise ValueError("give a fixed pressure or an auto-CPAP range, not both")
        return self


class DmeOrder(OrderBase):
    kind: Literal["dme"] = "dme"
    hcpcs: Code = Field(examples=["E0601"])
    quantity: int = Field(1, ge=1, le=1000)
    settings: DmeSettings = DmeSettings()
    reasons: list[Code] = Field(min_length=1, max_length=12, description="ICD-10-CM codes (medical necessity)")
    supplier: FhirId = Field(description="the DME supplier's Organization id")
    supporting_documents: list[FhirId] = Field(default_factory=list, max_length=20,
                                               description="DocumentReference ids (notes, sleep study…)")
    cc: list[Recipient] = Field(default_factory=list, max_length=10,
                                description="Organization/… or Practitioner/… copied on the order")


class Referral(OrderBase):
    kind: Literal["referral"] = "referral"
    specialty: Code = Field(description="SNOMED CT specialty", examples=["394591006"])
    reasons: list[Code] = Field(min_length=1, max_length=12, description="ICD-10-CM codes")
    performer: Recipient | None = Field(None, description="Practitioner/… or Organization/… referred to")


OrderRequest = Annotated[LabOrder | Prescription | DmeOrder | Referral, Field(discriminator="kind")]
OrderKind = Literal["lab", "prescription", "dme", "referral"]


# ------------------------------------------------------------------ billing and summary


class LevelOfService(Acting):
    code: CptCode = Field(description="E/M office visit CPT code (the number only)", examples=["99213"])


class SummaryRequest(Acting):
    instructions: str = Field("", max_length=5000, description="what the patient should do next")
