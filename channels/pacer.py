"""Pacing posts to Slack: at most one post per interval to each channel from this process,
the rate Slack allows for `chat.postMessage` (about one a second per channel). Used by the
Slack channel's Web API client (`channels.slack_web`). Runs in the Rasa environment.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import Any

POST_INTERVAL_SECONDS = 1.0  # Slack's limit for chat.postMessage: about one a second per channel


class Pacer:
    """At most one post per `interval` seconds to each Slack channel from this process."""

    def __init__(self, interval: float = POST_INTERVAL_SECONDS) -> None:
        self.interval = interval
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    @asynccontextmanager
    async def turn(self, channel: str) -> Any:
        """Wait until `channel` may have its next post, and hold the turn while it is made."""
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            wait = self._last.get(channel, 0.0) + self.interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                self._last[channel] = time.monotonic()
