"""In Basket: the requests it accepts (pydantic models), shared by the Python API and the HTTP API.
Shape only; whether the people named exist is checked by the modules that act."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Reference = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")]
PoolCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PoolSetup(Strict):
    code: PoolCode = Field(examples=["lopez-care-team"])
    name: str = Field(min_length=1, max_length=200, examples=["Dr. Lopez's care team"])
    members: list[Reference] = Field(default_factory=list, max_length=500, examples=[["Practitioner/12"]])
    lead: Reference | None = Field(None, description="the clinician whose care team pool this is (managingEntity)")
    active: bool = True


class DelegationSetup(Strict):
    practitioner: Reference = Field(description="who is away", examples=["Practitioner/12"])
    covering: Reference = Field(description="the colleague (Practitioner) or pool (Group) covering",
                                examples=["Practitioner/13"])
    start: AwareDatetime | None = Field(None, description="default: now")
    end: AwareDatetime | None = Field(None, description="default: until ended")


class MessageRequest(Strict):
    sender: Reference
    recipient: Reference | Annotated[str, StringConstraints(pattern=r"^care-team$")] = Field(
        description="a Practitioner, Patient or pool (Group), or 'care-team' for a patient's message")
    subject: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=10_000)
    patient: Reference | None = Field(None, description="the patient the message is about")
    category: str | None = Field(None, description="default: patient-message when a patient is sender or "
                                 "recipient, else staff-message")
    priority: str = "routine"


class ReplyRequest(Strict):
    sender: Reference
    text: str = Field(min_length=1, max_length=10_000)


class ItemAction(Strict):
    by: Reference | None = Field(None, description="who reads or completes the item (checked against its "
                                 "recipients and their pools)")
