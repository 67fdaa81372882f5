"""The conversation lock store: in the Rasa process by default, in Redis when `REDIS_URL` is
set, so that several Rasa replicas never handle one conversation at the same time.

Rasa serialises the messages of one conversation with ticket locks: each message draws the
next ticket and waits until it is served. Rasa 3.6's own `RedisLockStore` draws a ticket by
reading the lock, adding the ticket and writing the lock back, in three separate commands;
two replicas that draw at the same moment both read the same lock, both write ticket N, and
both handle their message at once (the second write also drops the first ticket). Here
every change to a lock is one optimistic Redis transaction (WATCH the key, read, MULTI,
write, EXEC, retried when another replica changed the key meanwhile), so each ticket is
drawn exactly once and a lock is deleted only when nobody is waiting on it.

`endpoints.yml` names this class with `url: ${REDIS_URL}`; an empty URL keeps the locks in
the process, which is right for one Rasa server with one Sanic worker.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX,
    LOCK_LIFETIME,
    LockError,
    LockStore,
)
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

KEY_PREFIX = "privacy-assistant:" + DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX
# A lock nobody touched for this long belongs to a replica that died mid-turn: Redis drops
# it. Its tickets expired long before (Rasa's lock lifetime is 60 s); this only frees memory.
KEY_TTL_SECONDS = 3600
SOCKET_TIMEOUT_SECONDS = 10.0

T = TypeVar("T")


class SharedLockStore(LockStore):
    """Ticket locks in Redis (`url`), changed atomically; in this process without a URL."""

    def __init__(self, endpoint_config: EndpointConfig | None = None,
                 url: str | None = None) -> None:
        url = url if url is not None else (endpoint_config.url if endpoint_config else "")
        self._local: dict[str, TicketLock] = {}
        self.red: Any = None
        if url:
            import redis  # the Rasa environment has redis (Rasa's own stores use it)

            self.red = redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT_SECONDS)
            # Fail at start, not on the first message: Rasa reports "Cannot connect to
            # lock store" and exits.
            self.red.ping()
        super().__init__()

    @property
    def shared(self) -> bool:
        return self.red is not None

    # -- storage: what Rasa's base class reads ------------------------------------------
    def get_lock(self, conversation_id: str) -> TicketLock | None:
        if not self.shared:
            return self._local.get(conversation_id)
        raw = self.red.get(KEY_PREFIX + conversation_id)
        return TicketLock.from_dict(json.loads(raw)) if raw else None

    def save_lock(self, lock: TicketLock) -> None:
        if not self.shared:
            self._local[lock.conversation_id] = lock
            return
        self.red.set(KEY_PREFIX + lock.conversation_id, lock.dumps(), ex=KEY_TTL_SECONDS)

    def delete_lock(self, conversation_id: str) -> None:
        if not self.shared:
            self._local.pop(conversation_id, None)
            return
        self.red.delete(KEY_PREFIX + conversation_id)

    # -- every change is one read-modify-write on one key -------------------------------
    def _change(self, conversation_id: str,
                change: Callable[[TicketLock | None], tuple[TicketLock | None, T]]) -> T:
        """Apply `change` to the lock as stored; `change` returns the lock to store (None
        deletes it) and the result. Without Redis this runs between two awaits of the one
        event loop, so nothing can interleave."""
        if not self.shared:
            new, result = change(self._local.get(conversation_id))
            if new is None:
                self._local.pop(conversation_id, None)
            else:
                self._local[conversation_id] = new
            return result
        import redis

        key = KEY_PREFIX + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                    new, result = change(lock)
                    pipe.multi()
                    if new is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, new.dumps(), ex=KEY_TTL_SECONDS)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    # Another replica changed this lock between our read and our write.
                    continue

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def draw(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, draw)
        except Exception as exc:  # Rasa expects a LockError for any failure here
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

    def update_lock(self, conversation_id: str) -> None:
        def expire(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, expire)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.cleanup(conversation_id, ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Serve the ticket, and delete the lock in the same step when nobody waits."""
        def serve(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, serve)
