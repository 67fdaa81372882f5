"""The yearly request metrics (CCPA regs §7102) as the API, the console and the CLI give
them: one row per request type and opt-out kind, and the appeals. How each figure is counted
is `services.metrics`'s docstring."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

# The calendar year asked for (UTC), as the API's and the console's `?year=` take it.
Year = Annotated[int, Query(ge=2000, le=9998, description="A calendar year (UTC)")]


class DeniedOut(BaseModel):
    """Denials by reason (`DenialReason`); they add up to `denied`."""

    identity_not_verified: int
    agent_not_authorized: int
    exemption: int
    unfounded: int
    other: int


class TypeMetrics(BaseModel):
    """One request type (or opt-out kind) in the year. `received` = `complied_in_whole` +
    `complied_in_part` + `denied` + `open`; duplicates are counted apart."""

    request_type: str = Field(description="know, access, portability, deletion, correction, "
                                          "or the opt-out kinds sale_sharing, limit_sensitive")
    received: int
    complied_in_whole: int
    complied_in_part: int
    denied: int
    denied_by_reason: DeniedOut
    open: int = Field(description="Still open (pending verification, verified, in progress)")
    duplicates: int = Field(description="Pointed to an open request of the same type and "
                                        "address; not counted as received")
    median_days: float | None = Field(description="Calendar days (UTC) from receipt to the "
                                                  "response, one decimal; null when none")
    mean_days: float | None


class AppealMetrics(BaseModel):
    """The appeals received in the year, and the days (UTC calendar days) taken to decide."""

    received: int
    granted: int
    denied: int
    open: int
    median_days: float | None
    mean_days: float | None


class YearMetrics(BaseModel):
    year: int
    types: list[TypeMetrics]
    appeals: AppealMetrics
