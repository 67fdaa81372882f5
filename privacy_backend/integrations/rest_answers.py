"""The answers the REST channel keeps for retries (`channels/rest.py`, `Turns`), deleted when
their conversation is erased.

A REST turn sent with a `message_id` is stored in Redis for a day under
`privacy-assistant:rest:` + SHA-256 of `<sender id>\\0<message id>` (its claim while it runs,
then the bot's answer, which can hold an address or a reference). The backend cannot list
those keys by conversation, but the conversation's user messages in the tracker store
carry their `message_id`s, so an erasure reads them before it deletes the events and
deletes each turn's key (`TrackerStore.erase`). The key's format is the REST channel's;
`tests/backend/test_erasure_marks.py` checks it against `channels.rest.Turns` in the Rasa
environment.

Without `REDIS_URL` the REST channel keeps the answers in the Rasa process, out of the
backend's reach: they go when it restarts, or a day after they were stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

PREFIX = "privacy-assistant:rest:"
# Keys deleted per DEL command.
BATCH = 500


def turn_key(sender_id: str, message_id: str) -> str:
    """The Redis key of a REST turn (`channels.rest.Turns`: its prefix and `key`)."""
    return PREFIX + hashlib.sha256(f"{sender_id}\0{message_id}".encode()).hexdigest()


class RestAnswersUnavailable(Exception):
    """Redis could not be reached: the stored answers could not be deleted."""


class RestAnswers:
    """Deletes stored REST turns from Redis (`REDIS_URL`); with no URL, deletes nothing."""

    def __init__(self, redis_url: str = "") -> None:
        self._redis: Any = None
        if redis_url:
            from redis import Redis

            self._redis = Redis.from_url(redis_url, socket_timeout=10)

    @property
    def enabled(self) -> bool:
        return self._redis is not None

    def forget(self, turns: Iterable[tuple[str, str]]) -> int:
        """Delete the stored turns given as (sender id, message id); how many were there.
        A Redis that cannot be reached raises `RestAnswersUnavailable`: the erasure stops
        before the events, which name the turns, are deleted, and is retried."""
        if self._redis is None:
            return 0
        from redis import RedisError

        keys = sorted({turn_key(sender, message) for sender, message in turns})
        deleted = 0
        try:
            for start in range(0, len(keys), BATCH):
                deleted += int(self._redis.delete(*keys[start:start + BATCH]))
        except RedisError as exc:
            raise RestAnswersUnavailable(type(exc).__name__) from exc
        return deleted

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
