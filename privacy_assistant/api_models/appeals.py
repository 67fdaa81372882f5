"""Bodies of the appeal API (`/api/v1/requests/{reference}/appeals`, `/api/v1/appeals`): an
appeal of a denied request, filed by the assistant with its proof of the request's address
(or by staff), and staff's written decision."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from privacy_assistant.api_models.common import ConversationId, StrictIn, VerificationId
from privacy_assistant.contract import AppealStatus, Channel

# How long the person's own words and staff's decision may be.
APPEAL_TEXT_MAX = 2000


class AppealCreate(StrictIn):
    reason: str = Field(min_length=1, max_length=APPEAL_TEXT_MAX,
                        description="Why the person disagrees with the denial, in their words")
    channel: Channel = Channel.REST
    conversation_id: ConversationId | None = None
    verification_id: VerificationId | None = Field(
        default=None, description="The assistant's proof: a request or status-lookup code "
                                  "confirmed for the request's address, in this "
                                  "conversation, within VERIFIED_FOR_MINUTES. Staff need none.")


class AppealOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    reference: str
    request_reference: str
    status: AppealStatus
    received_at: datetime
    due_at: datetime
    decided_at: datetime | None
    decision: str | None
    created: bool = Field(default=True, description="False when the request already had this "
                                                    "appeal (filing again changes nothing)")


class AppealDecision(StrictIn):
    outcome: Literal["granted", "denied"]
    reason: str = Field(min_length=1, max_length=APPEAL_TEXT_MAX,
                        description="The written decision: emailed to the person and kept")
