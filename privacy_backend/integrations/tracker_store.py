"""The backend's access to Rasa's tracker store: read a conversation's events for an export,
erase conversations for a deletion or the retention purge.

Rasa 3.6 has no API to delete a conversation (`SQLTrackerStore.save` only appends, and its
HTTP API can only add events), so the backend opens the same database Rasa's
`SQLTrackerStore` writes (`TRACKER_STORE_URL`, else the SQLite file `TRACKER_STORE_DB`) and
works on its `events` table through SQLAlchemy. Rasa reads a conversation from that table on
every turn and caches nothing, so an erased conversation is gone for Rasa's API at once.
A store Rasa has not created yet holds no conversation: every read is empty, every erasure
erases nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    inspect,
    select,
)

from privacy_backend.core.db import make_engine
from privacy_backend.core.settings import Settings

log = logging.getLogger(__name__)

# The columns of Rasa 3.6's `SQLTrackerStore.SQLEvent` that the backend uses.
_metadata = MetaData()
EVENTS = Table(
    "events", _metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("data", Text),
)
# Erase in batches so that one long conversation list never makes one huge statement.
BATCH = 200


@dataclass(frozen=True)
class Conversation:
    """One conversation in the store: its id and the time of its last event."""

    conversation_id: str
    last_event_at: datetime


class TrackerStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_settings(cls, settings: Settings) -> TrackerStore:
        return cls(make_engine(settings.tracker_store_sqlalchemy_url))

    def close(self) -> None:
        self.engine.dispose()

    def _exists(self) -> bool:
        return inspect(self.engine).has_table(EVENTS.name)

    def events(self, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's events as Rasa stored them (codes already masked), in order."""
        if not self._exists():
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(select(EVENTS.c.data).where(
                EVENTS.c.sender_id == conversation_id).order_by(EVENTS.c.id)).scalars()
            return [json.loads(row) for row in rows if row]

    def count(self, conversation_ids: Iterable[str]) -> int:
        ids = list(conversation_ids)
        if not ids or not self._exists():
            return 0
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(EVENTS).where(
                EVENTS.c.sender_id.in_(ids))) or 0)

    def erase(self, conversation_ids: Iterable[str]) -> int:
        """Delete every event of these conversations; how many were deleted (0 the second
        time: erasing is idempotent)."""
        ids = sorted(set(conversation_ids))
        if not ids or not self._exists():
            return 0
        erased = 0
        with self.engine.begin() as conn:
            for start in range(0, len(ids), BATCH):
                chunk = ids[start:start + BATCH]
                erased += conn.execute(delete(EVENTS).where(
                    EVENTS.c.sender_id.in_(chunk))).rowcount or 0
        return erased

    def conversations(self, *, inactive_since: datetime,
                      exclude: Sequence[str] = ()) -> list[Conversation]:
        """Conversations whose last event is older than `inactive_since`."""
        if not self._exists():
            return []
        cutoff = inactive_since.timestamp()
        last = func.max(EVENTS.c.timestamp)
        query = (select(EVENTS.c.sender_id, last).group_by(EVENTS.c.sender_id)
                 .having(last < cutoff).order_by(EVENTS.c.sender_id))
        skip = set(exclude)
        with self.engine.connect() as conn:
            return [Conversation(sender, datetime.fromtimestamp(ts, tz=timezone.utc))
                    for sender, ts in conn.execute(query) if sender not in skip]
