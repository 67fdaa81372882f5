"""Bodies of the privacy opt-out API (`/api/v1/opt-outs`): "do not sell or share my
information" and "limit the use of my sensitive information", recorded at once and without a
code (CCPA regs §7026, §7027 forbid asking for verification), and the proof-free marketing
opt-out (`/api/v1/preferences/opt-out`, CAN-SPAM: nothing beyond the address and the choice).

Neither answer says anything about the person's other data or choices: whoever gives an
address may opt it out, so the answer must not become a way to read it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from privacy_assistant.api_models.common import ConversationId, Email, StrictIn
from privacy_assistant.contract import OptOutKind, OptOutSource

ChoiceName = str


class OptOutCreate(StrictIn):
    kind: OptOutKind
    # The address the visitor gave; none: the opt-out holds for the browser's conversation
    # and is linked to an address once one is verified in it.
    email: Email | None = None
    conversation_id: ConversationId = Field(min_length=1)
    # `gpc`: the widget's channel saw the browser's Global Privacy Control signal.
    source: OptOutSource = OptOutSource.CHAT

    @model_validator(mode="after")
    def _gpc_is_the_browsers(self) -> OptOutCreate:
        # The signal comes from a browser, which names no address: a `gpc` opt-out holds for
        # its conversation and is linked only by a code confirmed there.
        if self.source is OptOutSource.GPC and self.email is not None:
            raise ValueError("a `gpc` opt-out names no email: it holds for the conversation")
        return self


class OptOutOut(BaseModel):
    reference: str = Field(description="e.g. OO-7K2M9QXA")
    kind: OptOutKind
    source: OptOutSource
    received_at: datetime
    due_date: date = Field(description="15 business days after receipt (§7026(f))")
    linked_to_email: bool = Field(description="Whether an address is attached to it")
    already_recorded: bool = Field(
        description="true: the same opt-out was recorded before for this address or "
                    "conversation, and this is that record")


class MarketingOptOutIn(StrictIn):
    """Opt an address out of marketing without a code: everything (neither field), one
    channel, or one topic (on one channel, or on every channel when `channel` is absent)."""

    email: Email
    conversation_id: ConversationId = Field(min_length=1)
    channel: ChoiceName | None = Field(default=None, min_length=1, max_length=32)
    topic: ChoiceName | None = Field(default=None, min_length=1, max_length=32)


class MarketingOptOutOut(BaseModel):
    """What was recorded, and nothing of the address's other choices."""

    scope: Literal["everything", "channel", "topic"]
    channel: str | None
    topic: str | None
    recorded_at: datetime
