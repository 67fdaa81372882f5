"""Flood limits of the Rasa server's channels, checked before Rasa sees a message.

* The socket.io channel (`channels/socketio.py`) counts, per client address, the
  connections and the session requests (`WIDGET_SESSIONS_PER_IP_PER_MINUTE` each) and the
  messages (`WIDGET_MESSAGES_PER_IP_PER_MINUTE`); the client address is the peer's, or the
  one the trusted proxies in front of Rasa name (`RASA_PROXIES_COUNT`, see
  `scripts/rasa_run.py`).
* The socket.io and REST channels count the turns of each conversation
  (`CONVERSATION_TURNS_PER_HOUR`), so a busy conversation cannot grow without bound.

A value of 0 turns a limit off. The counters are fixed windows: in Redis when a URL is given
(`REDIS_URL`; one `SET NX EX` and `INCR` per hit, shared by every replica), else in a dict of
at most `MAX_LOCAL_KEYS` keys in this process. The variables are the `SharedSettings` of
`privacy_assistant/settings.py`, whose defaults these match (a test compares them); this
module reads them from the environment itself, as the Rasa environment has no
pydantic-settings. Standard library only (redis is imported when a URL is given).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

MAX_LOCAL_KEYS = 50_000
# The longest chat message a channel hands to Rasa (socket.io and REST). The widget's box
# takes far less; a 20 kB message would cost the NLU pipeline seconds of CPU.
MAX_MESSAGE_CHARS = 5000


@dataclass(frozen=True)
class ChannelLimits:
    """The limits, each under the environment variable of its upper-case name."""

    widget_sessions_per_ip_per_minute: int = 60
    widget_messages_per_ip_per_minute: int = 120
    conversation_turns_per_hour: int = 200

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ChannelLimits:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = (env.get(field.name.upper()) or "").strip()
            if raw:
                value = int(raw)
                if value < 0:
                    raise ValueError(f"{field.name.upper()} must be 0 (off) or more")
                values[field.name] = value
        return cls(**values)


class RateLimiter:
    """At most `limit` hits per key in each window of `window` seconds (0: no limit)."""

    def __init__(self, limit: int, window: int, redis_url: str = "", prefix: str = "") -> None:
        self.limit = limit
        self.window = window
        self.prefix = prefix
        self._local: dict[str, tuple[int, float]] = {}
        self._redis: Any = None
        if redis_url and limit:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(redis_url)

    async def hit(self, key: str) -> int:
        """Count a hit on `key`: 0 if it is within the limit, else the seconds until the
        window ends (a refused hit counts too, so hammering does not help)."""
        if not self.limit:
            return 0
        if self._redis is not None:
            name = self.prefix + key
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(name, 0, ex=self.window, nx=True)
                pipe.incr(name)
                pipe.ttl(name)
                _, count, ttl = await pipe.execute()
            return 0 if count <= self.limit else max(1, int(ttl))
        now = time.monotonic()
        count, ends = self._local.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + self.window
            self._make_room(now)
        self._local[key] = (count + 1, ends)
        return 0 if count + 1 <= self.limit else max(1, math.ceil(ends - now))

    def _make_room(self, now: float) -> None:
        if len(self._local) < MAX_LOCAL_KEYS:
            return
        self._local = {k: v for k, v in self._local.items() if v[1] > now}
        while len(self._local) >= MAX_LOCAL_KEYS:  # the oldest windows go first
            del self._local[next(iter(self._local))]


MAX_BODY_VARIABLE = "RASA_MAX_BODY_BYTES"
DEFAULT_MAX_BODY_BYTES = 64 * 1024
PROXIES_VARIABLE = "RASA_PROXIES_COUNT"


def max_body_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The largest request body the Rasa server reads (`RASA_MAX_BODY_BYTES`)."""
    env = os.environ if environ is None else environ
    raw = (env.get(MAX_BODY_VARIABLE) or "").strip()
    value = int(raw) if raw else DEFAULT_MAX_BODY_BYTES
    if value < 1024:
        raise ValueError(f"{MAX_BODY_VARIABLE} must be at least 1024")
    return value


def sanic_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The `SANIC_*` variables that make the Rasa server's Sanic app (built later, from the
    environment) refuse a body over `RASA_MAX_BODY_BYTES` with 413 while reading its
    headers, before any route, token or signature check, and a websocket frame over it; and
    take the client's address from the last `RASA_PROXIES_COUNT` X-Forwarded-For entries."""
    env = os.environ if environ is None else environ
    limit = str(max_body_bytes(env))
    found = {"SANIC_REQUEST_MAX_SIZE": limit, "SANIC_WEBSOCKET_MAX_SIZE": limit}
    proxies = int((env.get(PROXIES_VARIABLE) or "0").strip() or "0")
    if proxies < 0:
        raise ValueError(f"{PROXIES_VARIABLE} must be 0 or more")
    if proxies:
        found["SANIC_PROXIES_COUNT"] = str(proxies)
    return found
