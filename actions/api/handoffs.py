"""Typed client for the backend's human-handoff API (`/api/v1/handoffs`).

Transport, configuration and error mapping come from `actions.api.base.BackendClient`:
synchronous httpx with an explicit time-out, dataclasses out, and the same exceptions
(`BackendUnavailable`, `ValidationFailed`, ...).
Creating a handoff for a conversation that already has an open one returns that one.
Reading handoffs is for staff (the console, the staff token), not for the assistant.
Build one with `HandoffsClient.from_env()`; nothing happens at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from actions.api.base import BackendClient, parse_datetime
from actions.api.errors import (
    BackendError,
    BackendUnavailable,
    Conflict,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from privacy_assistant.contract import HandoffStatus

__all__ = [
    "BackendError",
    "BackendUnavailable",
    "Conflict",
    "Handoff",
    "HandoffStatus",
    "HandoffsClient",
    "NotFound",
    "Unauthorized",
    "ValidationFailed",
]

PATH = "/api/v1/handoffs"


@dataclass(frozen=True)
class Handoff:
    """`agents_online`: agents with a live console session right now (0: nobody to take it)."""

    id: int
    conversation_id: str
    channel: str
    reason: str
    summary: str | None
    status: HandoffStatus
    agent_name: str | None
    agents_online: int
    created_at: datetime
    taken_at: datetime | None
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status is not HandoffStatus.CLOSED

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Handoff:
        created = parse_datetime(data["created_at"])
        assert created is not None
        return cls(id=int(data["id"]), conversation_id=str(data["conversation_id"]),
                   channel=str(data["channel"]), reason=str(data["reason"]),
                   summary=data.get("summary"), status=HandoffStatus(data["status"]),
                   agent_name=data.get("agent_name"),
                   agents_online=int(data.get("agents_online") or 0), created_at=created,
                   taken_at=parse_datetime(data.get("taken_at")),
                   closed_at=parse_datetime(data.get("closed_at")))


class HandoffsClient(BackendClient):
    def create(self, conversation_id: str, channel: str, reason: str,
               summary: str | None = None) -> Handoff:
        """Queue the conversation for an agent (or return its handoff that is still open)."""
        body = {"conversation_id": conversation_id, "channel": channel, "reason": reason,
                "summary": summary}
        return Handoff.from_json(self._call("POST", PATH, json=body))
