"""Request and response bodies. Inputs forbid unknown fields and bound every length."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from privacy_backend.models import (
    Channel,
    PreferenceSource,
    RequestStatus,
    RequestType,
    VerificationPurpose,
)

Email = Annotated[EmailStr, Field(max_length=254)]
Actor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
ConversationId = Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)]


class StrictIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _lower_email(value: str) -> str:
    return value.strip().lower()


class RequestCreate(StrictIn):
    type: RequestType
    email: Email
    name: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=64,
                               description="State or country of residence, e.g. 'California'")
    authorized_agent: bool = False
    details: str | None = Field(default=None, max_length=2000)
    channel: Channel = Channel.REST
    conversation_id: ConversationId | None = None

    _email = field_validator("email", mode="after")(_lower_email)


class StatusUpdate(StrictIn):
    status: Literal["verified", "in_progress", "completed", "rejected"]
    actor: Actor
    note: Note | None = None


class ExtendIn(StrictIn):
    actor: Actor
    reason: Note


class CodeIn(StrictIn):
    code: str = Field(max_length=16, description="The 6-digit code from the email")

    @field_validator("code")
    @classmethod
    def _six_digits(cls, value: str) -> str:
        digits = re.sub(r"[\s-]", "", value)
        if not re.fullmatch(r"\d{6}", digits):
            raise ValueError("the code has 6 digits")
        return digits


class LookupIn(StrictIn):
    reference: str = Field(min_length=1, max_length=32)
    email: Email
    conversation_id: ConversationId | None = None

    _email = field_validator("email", mode="after")(_lower_email)


class VerificationStart(StrictIn):
    email: Email
    purpose: Literal["status_lookup", "preferences"]
    conversation_id: ConversationId | None = None

    _email = field_validator("email", mode="after")(_lower_email)


# -- marketing preferences -------------------------------------------------------------------
# Channel and topic names are configuration (PREFERENCE_CHANNELS, PREFERENCE_TOPICS), so the
# schema only bounds them; the service checks them against the settings (422 naming them).
_NAME_MAX = 32


def _choices(value: dict[str, Any]) -> dict[str, bool | dict[str, bool]]:
    """`{channel: bool | {topic: bool}}` with clear messages (a plain Union would report
    the failure of each branch)."""
    out: dict[str, bool | dict[str, bool]] = {}
    for channel, choice in value.items():
        name = channel.strip()
        if not 1 <= len(name) <= _NAME_MAX:
            raise ValueError(f"channel names have 1 to {_NAME_MAX} characters")
        if isinstance(choice, bool):
            out[name] = choice
            continue
        if not isinstance(choice, dict) or len(choice) > 64:
            raise ValueError(f"'{name}' must be true, false or a map of topics to true/false")
        topics: dict[str, bool] = {}
        for topic, flag in choice.items():
            if not 1 <= len(topic.strip()) <= _NAME_MAX:
                raise ValueError(f"topic names on '{name}' have 1 to {_NAME_MAX} characters")
            if not isinstance(flag, bool):
                raise ValueError(f"'{name}.{topic.strip()}' must be true or false")
            topics[topic.strip()] = flag
        out[name] = topics
    return out


_CHOICES_SCHEMA = {
    "type": "object",
    "additionalProperties": {"anyOf": [
        {"type": "boolean"},
        {"type": "object", "additionalProperties": {"type": "boolean"}},
    ]},
    "description": "channel -> {topic: subscribed}; `true`/`false` instead of a map sets every "
                   "topic of that channel",
}
ChannelChoices = Annotated[
    dict[str, Any], Field(max_length=16), AfterValidator(_choices),
    WithJsonSchema(_CHOICES_SCHEMA),
]


class _PreferenceWrite(StrictIn):
    source: PreferenceSource
    conversation_id: ConversationId | None = None
    actor: Actor | None = Field(default=None, description="Who made the change, e.g. an agent")


class PreferencesReplace(_PreferenceWrite):
    """Full replacement: topics not listed become `false` (not subscribed)."""

    global_opt_out: StrictBool
    channels: ChannelChoices


class PreferencesPatch(_PreferenceWrite):
    """Partial change: only what is given changes."""

    global_opt_out: StrictBool | None = None
    channels: ChannelChoices | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> PreferencesPatch:
        if self.global_opt_out is None and not self.channels:
            raise ValueError("give `global_opt_out` and/or `channels` to change")
        return self


class PreferencesOut(BaseModel):
    email: str
    global_opt_out: bool
    channels: dict[str, dict[str, bool]]
    updated_at: datetime | None = Field(description="null: nothing recorded, these are defaults")


class PreferenceChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source: PreferenceSource
    actor: str | None
    conversation_id: str | None
    before: dict[str, bool] = Field(description="changed settings before, e.g. "
                                                "{\"channels.email.promotions\": true}")
    after: dict[str, bool]
    created_at: datetime


class UnsubscribeLinkIn(StrictIn):
    email: Email
    scope: str = Field(min_length=1, max_length=70,
                       description="`all` (global opt-out), a channel (`email`), or "
                                   "`channel:topic` (`email:promotions`)")

    _email = field_validator("email", mode="after")(_lower_email)


class UnsubscribeLinkOut(BaseModel):
    url: str
    scope: str
    expires_at: datetime
    headers: dict[str, str] = Field(description="`List-Unsubscribe` and "
                                                "`List-Unsubscribe-Post` (RFC 8058) for the mail")


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    reference: str
    type: RequestType
    status: RequestStatus
    email: str
    name: str | None
    region: str | None
    jurisdiction: str
    authorized_agent: bool
    details: str | None
    channel: Channel
    conversation_id: str | None
    created_at: datetime
    updated_at: datetime
    verified_at: datetime | None
    due_at: datetime
    extensions_used: int


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None
    created_at: datetime


class CodeSent(BaseModel):
    verification_id: str
    expires_at: datetime
    message: str = "A verification code was emailed."


class LookupOut(BaseModel):
    verification_id: str
    expires_at: datetime
    message: str = (
        "If the reference and the email address match a request, a verification code was "
        "emailed to that address."
    )


class VerificationOut(BaseModel):
    id: str
    purpose: VerificationPurpose
    expires_at: datetime
    verified: bool
    verified_at: datetime | None = None
    attempts_left: int


class VerificationConfirmed(BaseModel):
    id: str
    purpose: VerificationPurpose
    email: str
    conversation_id: str | None
    verified_at: datetime
    request_reference: str | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    version: str
