"""Short-lived claims the channels share between Rasa replicas: the REST channel's turns sent
with a message id (`channels.rest.Turns`) and the Slack events already taken
(`channels.slack.SeenStore`).

`ClaimStore` keeps keys with an expiry: in Redis when a URL is given (`REDIS_URL`; atomic
`SET NX EX`, shared by every replica), else in a dict in this process (one replica only), so
both channels behave alike with or without Redis. Runs in the Rasa environment.
"""

from __future__ import annotations

import time
from typing import Any

# An in-process store drops its expired keys once it holds this many.
MAX_LOCAL_KEYS = 50_000


class ClaimStore:
    """Keys with a value and an expiry, each under `prefix`. `claim` is atomic: of several
    callers (on any replica, with Redis) only the first gets True until the key expires."""

    def __init__(self, redis_url: str = "", prefix: str = "") -> None:
        self.prefix = prefix
        self._local: dict[str, tuple[bytes, float]] = {}
        self._redis: Any = None
        if redis_url:
            from redis.asyncio import Redis  # the Rasa environment has redis for its stores

            self._redis = Redis.from_url(redis_url)

    async def claim(self, key: str, ttl: int, value: bytes = b"1") -> bool:
        """Set `key` to `value` for `ttl` seconds unless it is set; whether it was not."""
        if self._redis is not None:
            return bool(await self._redis.set(self.prefix + key, value, nx=True, ex=ttl))
        if self._get_local(key) is not None:
            return False
        if len(self._local) > MAX_LOCAL_KEYS:
            now = time.monotonic()
            self._local = {k: v for k, v in self._local.items() if v[1] > now}
        self._local[key] = (value, time.monotonic() + ttl)
        return True

    async def put(self, key: str, value: bytes, ttl: int) -> None:
        """Set `key` to `value` for `ttl` seconds, whether or not it is set."""
        if self._redis is not None:
            await self._redis.set(self.prefix + key, value, ex=ttl)
        else:
            self._local[key] = (value, time.monotonic() + ttl)

    async def renew(self, key: str, value: bytes, ttl: int) -> None:
        """Keep `key` (as `value`) for another `ttl` seconds, if it has not expired."""
        if self._redis is not None:
            await self._redis.set(self.prefix + key, value, xx=True, ex=ttl)
        elif self._get_local(key) is not None:
            self._local[key] = (value, time.monotonic() + ttl)

    async def drop(self, key: str) -> None:
        """Remove `key`, whatever it holds."""
        if self._redis is not None:
            await self._redis.delete(self.prefix + key)
        else:
            self._local.pop(key, None)

    async def get(self, key: str) -> bytes | None:
        if self._redis is not None:
            value: bytes | None = await self._redis.get(self.prefix + key)
            return value
        return self._get_local(key)

    async def has(self, key: str) -> bool:
        if self._redis is not None:
            return bool(await self._redis.exists(self.prefix + key))
        return self._get_local(key) is not None

    def _get_local(self, key: str) -> bytes | None:
        value, expires = self._local.get(key, (b"", 0.0))
        return value if expires > time.monotonic() else None
