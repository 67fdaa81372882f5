"""Bodies of the request and verification API: inputs forbid unknown fields, bound lengths.

The bodies the assistant sends and reads are the contract it shares with the backend
(`privacy_assistant.api_models.requests`) and are re-exported here; the staff-only ones
(status changes, extensions, audit trails, a verification's state) are defined here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

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
from privacy_backend.core.models import VerificationPurpose
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
    status: Literal["verified", "in_progress", "completed", "rejected"]
    note: Note | None = None


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
