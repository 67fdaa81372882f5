"""Typed client for the backend's human-handoff API (`/api/v1/handoffs`).

Transport, configuration and error mapping come from `actions.api.base.BackendClient`
(the exceptions are those of `actions.api.errors`); the bodies are the backend's own
(`privacy_assistant.api_models.handoffs`).
Creating a handoff for a conversation that already has an open one returns that one.
Reading handoffs is for staff (the console, the staff token), not for the assistant.
Build one with `HandoffsClient.from_env()`; nothing happens at import time.
"""

from __future__ import annotations

from actions.api.base import BackendClient, send_body
from privacy_assistant.api_models.handoffs import HandoffCreate, HandoffOut
from privacy_assistant.contract import HandoffStatus

__all__ = ["Handoff", "HandoffStatus", "HandoffsClient"]

PATH = "/api/v1/handoffs"

# A handoff as the assistant reads it; `agents_online`: agents with a live console session
# right now (0: nobody to take it).
Handoff = HandoffOut


class HandoffsClient(BackendClient):
    def create(self, conversation_id: str, channel: str, reason: str,
               summary: str | None = None) -> Handoff:
        """Queue the conversation for an agent (or return its handoff that is still open)."""
        body = send_body(HandoffCreate, conversation_id=conversation_id, channel=channel,
                         reason=reason, summary=summary)
        return self._read(Handoff, "POST", PATH, json=body)
