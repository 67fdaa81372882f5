"""Bodies of the request and verification API: inputs forbid unknown fields, bound lengths.

The bodies the assistant sends and reads are the contract it shares with the backend
(`privacy_assistant.api_models.requests`) and are re-exported here; the staff-only ones
(status changes, extensions, audit trails, a verification's state) are defined here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from privacy_assistant.api_models.requests import (
    MAIL_STATE,
    QUEUE_CAP,
    CodeIn,
    CodeSent,
    LookupIn,
    LookupOut,
    MailState,
    QueueView,
    RequestCreate,
    RequestCreated,
    RequestOut,
    RequestQueueItem,
    RequestQueueOut,
    RequestVerified,
    VerificationConfirmed,
    VerificationStart,
)
from privacy_backend.core.models import DenialReason, VerificationPurpose
from privacy_backend.schemas.common import Note, StrictIn

__all__ = [
    "MAIL_STATE", "QUEUE_CAP", "AuditOut", "CodeIn", "CodeSent", "ExtendIn", "LookupIn",
    "LookupOut", "MailState", "QueueView", "RequestCreate", "RequestCreated", "RequestOut",
    "RequestQueueItem", "RequestQueueOut", "RequestVerified", "StatusUpdate",
    "VerificationConfirmed", "VerificationOut", "VerificationStart",
]


# Changes are recorded under the authenticated caller (`core.security.Caller.actor`): there is
# no `actor` field, and sending one is a 422 like any unknown field.
class StatusUpdate(StrictIn):
    status: Literal["verified", "in_progress", "completed", "rejected", "duplicate"]
    note: Note | None = None
    denial_reason: DenialReason | None = Field(
        default=None, description="With `rejected`: the kind of reason, as the yearly metrics "
                                  "count denials (`other` when not given)")
    partial: bool = Field(default=False, description="With `completed`: complied with in part "
                                                     "only; the `note` says what was withheld "
                                                     "and why")
    duplicate_of: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = Field(
        default=None, description="With `duplicate` (required): the reference of the first "
                                  "request, of the same type, that this one repeats")

    @model_validator(mode="after")
    def _fields_go_with_their_status(self) -> StatusUpdate:
        if self.denial_reason is not None and self.status != "rejected":
            raise ValueError("`denial_reason` goes with status 'rejected' only")
        if self.partial and self.status != "completed":
            raise ValueError("`partial` goes with status 'completed' only")
        if (self.duplicate_of is not None) != (self.status == "duplicate"):
            raise ValueError("status 'duplicate' needs `duplicate_of`, and `duplicate_of` "
                             "goes with it only")
        return self


class ExtendIn(StrictIn):
    reason: Note


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None
    created_at: datetime


class VerificationOut(BaseModel):
    id: str
    purpose: VerificationPurpose
    expires_at: datetime
    verified: bool
    verified_at: datetime | None = None
    attempts_left: int
