"""What every request and response body shares: bounded strings, strict inputs, health."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
)

from privacy_assistant.settings import normalise_email

# Every address is stored and compared in one form (`normalise_email`).
Email = Annotated[EmailStr, Field(max_length=254), AfterValidator(normalise_email)]
# The id of a confirmed verification, presented by the assistant as proof that the address
# was verified (`services.verification.proof`).
VerificationId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                  max_length=64)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
ConversationId = Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)]


class StrictIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    version: str
