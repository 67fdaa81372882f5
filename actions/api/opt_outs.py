"""Typed client for the backend's privacy opt-out API (`/api/v1/opt-outs`): "do not sell or
share my personal information" and "limit the use of my sensitive personal information".

Transport, configuration and error mapping come from `actions.api.base.BackendClient`
(the exceptions are those of `actions.api.errors`); the bodies are the backend's own
(`privacy_assistant.api_models.opt_outs`).
No code is asked for (CCPA regs §7026, §7027): the opt-out is recorded at once, for the
address the visitor gave or, without one, for the conversation. Recording the same opt-out
again returns the first record (`already_recorded`). The answer says nothing else about the
address. Listing opt-outs is for staff, not the assistant. Build one with
`OptOutsClient.from_env()`; nothing happens at import time.
"""

from __future__ import annotations

from actions.api.base import BackendClient, send_body
from privacy_assistant.api_models.opt_outs import OptOutCreate, OptOutOut
from privacy_assistant.contract import OptOutKind, OptOutSource

__all__ = ["OptOut", "OptOutKind", "OptOutSource", "OptOutsClient"]

PATH = "/api/v1/opt-outs"

# A recorded opt-out: its reference, when it was received, and the date it takes effect by.
OptOut = OptOutOut


class OptOutsClient(BackendClient):
    def create(self, kind: OptOutKind | str, *, conversation_id: str,
               email: str | None = None,
               source: OptOutSource | str = OptOutSource.CHAT) -> OptOut:
        """Record `kind` for `email` (or, without one, for the conversation); the first
        record when this one was recorded before. `RateLimited` past the backend's hourly
        bound."""
        body = send_body(OptOutCreate, kind=OptOutKind(kind), email=email,
                         conversation_id=conversation_id, source=OptOutSource(source))
        return self._read(OptOut, "POST", PATH, json=body)
