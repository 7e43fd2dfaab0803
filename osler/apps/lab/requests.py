"""Beaker: the requests it accepts (pydantic models), shared by the Python API and the HTTP API.

Validation here is about shape only (a reference that is not ``Type/id``, an empty list); whether a
value fits its test — the component, the unit, a number where one is needed — is decided by
``measurements`` against the catalog, and answered 422 with the offending entry's path.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StringConstraints

Reference = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")]
LoincCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,7}-[0-9]$")]
Accession = Annotated[str, StringConstraints(pattern=r"^L[0-9]{2}-[0-9]{6,}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResultValue(Strict):
    """One component's result: a number with its UCUM unit, or a qualitative answer."""

    code: LoincCode = Field(description="the component's LOINC code", examples=["718-7"])
    value: StrictInt | StrictFloat | Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        examples=[13.2, "Negative"])
    unit: str | None = Field(None, max_length=40, description="UCUM code; required for numeric components",
                             examples=["g/dL"])


class Collection(Strict):
    collector: Reference | None = Field(None, examples=["Practitioner/123"])
    collected: AwareDatetime | None = Field(None, description="when the specimen was drawn (default: now)")


class Receipt(Strict):
    received: AwareDatetime | None = Field(None, description="when the lab received the specimen (default: now)")


class ResultFiling(Strict):
    results: list[ResultValue] = Field(min_length=1, max_length=100)
    performer: Reference | None = Field(None, description="who performed the test (Organization or Practitioner)",
                                        examples=["Organization/lab"])
    conclusion: str | None = Field(None, max_length=2000)


class ResultComment(Strict):
    text: str = Field(min_length=1, max_length=4000)
    author: Reference = Field(examples=["Practitioner/123"])


class Correction(Strict):
    results: list[ResultValue] = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=1000)
    performer: Reference | None = None
