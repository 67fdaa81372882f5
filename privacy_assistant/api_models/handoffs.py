"""Bodies of the human-handoff API that the assistant sends and reads."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from privacy_assistant.contract import HandoffStatus


class HandoffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=128)
    channel: str = Field(default="web", min_length=1, max_length=32,
                         description="web, slack, rest, ...: where the visitor is")
    reason: str = Field(min_length=1, max_length=200)
    summary: str | None = Field(default=None, max_length=2000)


class HandoffFields(BaseModel):
    # What a handoff shows to the action server and to the agent console alike.
    id: int
    channel: str
    reason: str
    summary: str | None
    status: HandoffStatus
    agent_name: str | None
    created_at: datetime
    taken_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    agents_online: int = Field(description="Agents with a live console session right now")

    @property
    def is_open(self) -> bool:
        return self.status is not HandoffStatus.CLOSED


class HandoffOut(HandoffFields):
    """A handoff as the action server sees it: with the conversation it belongs to."""

    conversation_id: str
