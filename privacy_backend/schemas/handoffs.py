"""Request and response bodies of the handoff API and the agent console."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from privacy_backend.core.models import AgentRole, HandoffStatus


class HandoffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=128)
    channel: str = Field(default="web", min_length=1, max_length=32,
                         description="web, slack, rest, ...: where the visitor is")
    reason: str = Field(min_length=1, max_length=200)
    summary: str | None = Field(default=None, max_length=2000)


class _HandoffFields(BaseModel):
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


class HandoffOut(_HandoffFields):
    """A handoff as the action server sees it: with the conversation it belongs to."""

    conversation_id: str


class ConsoleHandoffOut(_HandoffFields):
    """A handoff as an agent's browser sees it: the conversation by a short handle only, so
    the console never holds the id a visitor's conversation is addressed by."""

    handle: str = Field(description="Short, stable handle of the conversation, e.g. C-7F3K-Q2MD")


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class AgentOut(BaseModel):
    id: int
    name: str
    email: str
    role: AgentRole


class SessionOut(BaseModel):
    agent: AgentOut
    csrf_token: str = Field(description="Send it as the X-CSRF-Token header on every POST")
    expires_at: datetime


class QueueItem(BaseModel):
    handoff: ConsoleHandoffOut
    age_seconds: int
    mine: bool


class QueueOut(BaseModel):
    agents_online: int
    handoffs: list[QueueItem]


class TranscriptLine(BaseModel):
    kind: Literal["user", "bot", "agent", "system"]
    text: str
    timestamp: float | None = None
    agent: str | None = None
    buttons: list[str] = Field(default_factory=list)


class ConversationOut(BaseModel):
    handoff: ConsoleHandoffOut
    mine: bool
    transcript: list[TranscriptLine]
    transcript_error: str | None = None
    requests: list[dict[str, Any]]
    preference_changes: list[dict[str, Any]]


class AgentMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)
