"""Request and response bodies of the handoff API and the agent console.

The handoff as the assistant files and reads it is the contract it shares with the backend
(`privacy_assistant.api_models.handoffs`), re-exported here; the console's bodies are
defined here."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from privacy_assistant.api_models.handoffs import HandoffCreate, HandoffFields, HandoffOut
from privacy_backend.core.models import AgentRole

__all__ = [
    "AgentMessageIn", "AgentOut", "ConsoleHandoffOut", "ConversationOut", "HandoffCreate",
    "HandoffOut", "LoginIn", "QueueItem", "QueueOut", "SessionOut", "TranscriptLine",
]


class ConsoleHandoffOut(HandoffFields):
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
