"""Global Privacy Control in the widget's channel (W3C GPC; CCPA regs §7025): a browser that
sends the signal has opted out of the sale and sharing of its personal information, and the
channel records that for the browser's conversation, without asking anything.

The signal is the `Sec-GPC` header of the socket.io handshake, exactly `1` (`0`, `true`,
`1,1` are no signal), or `"gpc": true` in the widget's `session_request` (its
`navigator.globalPrivacyControl`). The opt-out is recorded by the backend
(`POST /api/v1/opt-outs`, source `gpc`, the assistant's token) in the background: the chat
never waits for it. If the backend cannot be reached the channel logs a warning and tries
again at the conversation's next `session_request` (a reload, a reconnection); the backend
answers a repeat with the record it already holds. It links the record to an address once
a code confirms one in the conversation.

Runs in the Rasa process (pydantic 1): the body is written here by hand, following
`privacy_assistant.api_models.opt_outs.OptOutCreate`, which this process cannot import.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels.backend import UNREACHABLE, Backend
from privacy_assistant import gpc

logger = logging.getLogger(__name__)

HEADER = "HTTP_SEC_GPC"  # `Sec-GPC`, as engine.io's environ names it
RECORD_TIMEOUT_SECONDS = 10.0
# Conversations whose opt-out this process has recorded: not sent again (forgotten when full).
MAX_REMEMBERED = 10_000


def gpc_signal(environ: Any, data: Any) -> bool:
    """Whether the browser signals GPC: the handshake's `Sec-GPC` exactly `1` (repeated
    headers arrive joined, `1,1`, and count for nothing), or `gpc: true` in the request."""
    header = environ.get(HEADER) if isinstance(environ, dict) else None
    return (header is not None and gpc.signals([header])) or (
        isinstance(data, dict) and data.get("gpc") is True)


class GpcRecorder:
    """Records the `gpc` opt-out of sale and sharing for a conversation, once per process
    when it succeeds, in background tasks that never raise."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.recorded: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    def record(self, session_id: str) -> None:
        """Start recording it, unless this process already did; returns at once."""
        if session_id in self.recorded:
            return
        task = asyncio.ensure_future(self._post(session_id))
        self.tasks.add(task)  # held until done, so the task is not collected mid-way
        task.add_done_callback(self.tasks.discard)

    async def _post(self, session_id: str) -> None:
        if not self.backend.configured:
            logger.warning("GPC signal not recorded: the channel has no backend_url or "
                           "backend_token")
            return
        body = {"kind": "sale_sharing", "conversation_id": session_id, "source": "gpc"}
        try:
            status = await self.backend.post("/api/v1/opt-outs", json=body,
                                             timeout=RECORD_TIMEOUT_SECONDS)
        except UNREACHABLE as exc:
            logger.warning("GPC opt-out not recorded yet (%s); it is tried again at the "
                           "conversation's next session", type(exc).__name__)
            return
        if status in (200, 201):
            if len(self.recorded) >= MAX_REMEMBERED:
                self.recorded.clear()
            self.recorded.add(session_id)
            return
        logger.warning("the backend answered %d to a GPC opt-out; it is tried again at the "
                       "conversation's next session", status)
