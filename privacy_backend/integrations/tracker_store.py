"""The backend's access to Rasa's tracker store: read a conversation's events for an export,
erase conversations for a deletion or the retention purge.

Rasa 3.6 has no API to delete a conversation (`SQLTrackerStore.save` only appends, and its
HTTP API can only add events), so the backend opens the same database Rasa's
`SQLTrackerStore` writes (`TRACKER_STORE_URL`, else the SQLite file `TRACKER_STORE_DB`) and
works on its `events` table through SQLAlchemy. Rasa reads a conversation from that table on
every turn and caches nothing, so an erased conversation is gone for Rasa's API at once.
A store Rasa has not created yet holds no conversation: every read is empty, every erasure
erases nothing.

An erasure also deletes the answers the REST channel keeps in Redis for the conversation's
turns (`rest_answers`, named by the message ids its events hold, so first), and leaves a mark
in the store, in the delete's transaction, that keeps a turn in flight from writing the
erased events back (`privacy_assistant.tombstones`).
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
    or_,
    select,
)

from privacy_assistant import tombstones
from privacy_backend.core.db import make_engine
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.rest_answers import RestAnswers

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
    """One conversation in the store: its id and the times of its first and last events."""

    conversation_id: str
    last_event_at: datetime
    first_event_at: datetime


def _utc(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, tz=timezone.utc)


class TrackerStore:
    def __init__(self, engine: Engine, rest_answers: RestAnswers | None = None) -> None:
        self.engine = engine
        self.rest_answers = rest_answers or RestAnswers()

    @classmethod
    def from_settings(cls, settings: Settings) -> TrackerStore:
        return cls(make_engine(settings.tracker_store_sqlalchemy_url),
                   RestAnswers(settings.redis_url))

    def close(self) -> None:
        self.engine.dispose()
        self.rest_answers.close()

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

    def _rest_turns(self, conversation_ids: list[str]) -> list[tuple[str, str]]:
        """(sender id, message id) of the conversations' user messages: the REST channel's
        stored turns are named by them."""
        turns: list[tuple[str, str]] = []
        with self.engine.connect() as conn:
            rows = conn.execute(select(EVENTS.c.sender_id, EVENTS.c.data).where(
                EVENTS.c.sender_id.in_(conversation_ids), EVENTS.c.type_name == "user"))
            for sender, data in rows:
                try:
                    message_id = json.loads(data or "{}").get("message_id")
                except ValueError:
                    continue
                if isinstance(message_id, str) and message_id:
                    turns.append((sender, message_id))
        return turns

    def erase(self, conversation_ids: Iterable[str], *, now: datetime | None = None) -> int:
        """Delete every event of these conversations, with the REST channel's answers to
        their turns, and mark them erased up to `now` (default: this moment) or their last
        event if later; how many events were deleted (0 the second time: erasing is
        idempotent)."""
        ids = sorted(set(conversation_ids))
        if not ids or not self._exists():
            return 0
        moment = (now or datetime.now(timezone.utc)).timestamp()
        tombstones.ensure_table(self.engine)
        erased = 0
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            if self.rest_answers.enabled:
                self.rest_answers.forget(self._rest_turns(chunk))
            with self.engine.begin() as conn:
                newest: dict[str, float] = {
                    sender: float(stamp or 0.0) for sender, stamp in conn.execute(
                        select(EVENTS.c.sender_id, func.max(EVENTS.c.timestamp))
                        .where(EVENTS.c.sender_id.in_(chunk)).group_by(EVENTS.c.sender_id))}
                tombstones.mark(conn, {sender: max(moment, newest.get(sender, 0.0))
                                       for sender in chunk}, erased_at=moment)
                erased += conn.execute(delete(EVENTS).where(
                    EVENTS.c.sender_id.in_(chunk))).rowcount or 0
        return erased

    def forget_marks(self, *, before: datetime) -> int:
        """Delete the erasure marks older than `before` (`tombstones.MARK_DAYS`)."""
        if not inspect(self.engine).has_table(tombstones.MARKS.name):
            return 0
        with self.engine.begin() as conn:
            return tombstones.forget_marks(conn, before.timestamp())

    def conversations(self, *, inactive_since: datetime, started_before: datetime | None = None,
                      exclude: Sequence[str] = ()) -> list[Conversation]:
        """Conversations whose last event is older than `inactive_since`, or whose first
        event is older than `started_before` however recent their last."""
        if not self._exists():
            return []
        first, last = func.min(EVENTS.c.timestamp), func.max(EVENTS.c.timestamp)
        old = last < inactive_since.timestamp()
        if started_before is not None:
            old = or_(old, first < started_before.timestamp())
        query = (select(EVENTS.c.sender_id, last, first).group_by(EVENTS.c.sender_id)
                 .having(old).order_by(EVENTS.c.sender_id))
        skip = set(exclude)
        with self.engine.connect() as conn:
            return [Conversation(sender, _utc(newest), _utc(oldest))
                    for sender, newest, oldest in conn.execute(query) if sender not in skip]
