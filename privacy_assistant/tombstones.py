"""Erased conversations stay erased: the marks the backend leaves in Rasa's tracker store
when it erases a conversation, and the check Rasa's tracker store makes before it saves.

Rasa's `SQLTrackerStore.save` appends the events of the tracker it holds that the database
does not: it counts the stored events and writes the rest. A turn that loaded its tracker
before an erasure and saves it after (a turn in flight) finds no stored event and writes
them all again, bringing the erased conversation back. So the backend's erasure
(`privacy_backend.integrations.tracker_store`) records, in the same transaction as the
delete, a mark for each conversation: a SHA-256 of its id (not the id) and the time up to
which its events were erased (the later of the erasure's time and the newest erased event,
so a Rasa clock ahead of the backend's changes nothing). Before Rasa saves a tracker
(`rasa_server/tracker_store.py`), `drop_erased_events` removes from it every event up to that
time: the erased events never come back, and what the visitor says after the erasure is a
new conversation under the same id, saved as usual.

A turn lasts seconds, so a mark is needed only briefly: the retention purge deletes marks
older than `MARK_DAYS`. Everything here runs on SQLAlchemy 1.4 (the Rasa environment) and
2.0 (the backend's) alike.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, Float, MetaData, String, Table, delete, exc, insert, inspect, select

# How long a mark is kept: far longer than any turn can be in flight.
MARK_DAYS = 1

_metadata = MetaData()
MARKS = Table(
    "erased_conversations", _metadata,
    Column("sender_hash", String(64), primary_key=True),
    Column("erased_through", Float, nullable=False),
    Column("erased_at", Float, nullable=False),
)
# The engines on which the table is known to exist.
_ready: weakref.WeakSet[Any] = weakref.WeakSet()


def sender_hash(sender_id: str) -> str:
    return hashlib.sha256(sender_id.encode("utf-8")).hexdigest()


def ensure_table(engine: Any) -> None:
    """Create the marks' table if it is missing (once per engine and process)."""
    if engine in _ready:
        return
    try:
        MARKS.create(engine, checkfirst=True)
    except exc.DBAPIError:
        # Another process created it between the check and the create.
        if not inspect(engine).has_table(MARKS.name):
            raise
    _ready.add(engine)


def mark(conn: Any, erased_through: dict[str, float], erased_at: float) -> None:
    """Record the marks, in the caller's transaction: conversation id -> erased up to."""
    if not erased_through:
        return
    hashes = {sender_hash(sender): through for sender, through in erased_through.items()}
    conn.execute(delete(MARKS).where(MARKS.c.sender_hash.in_(list(hashes))))
    conn.execute(insert(MARKS), [
        {"sender_hash": digest, "erased_through": through, "erased_at": erased_at}
        for digest, through in hashes.items()])


def erased_through(engine: Any, sender_id: str) -> float | None:
    """The time up to which the conversation was erased, or None if it never was."""
    ensure_table(engine)
    with engine.connect() as conn:
        value = conn.execute(select(MARKS.c.erased_through).where(
            MARKS.c.sender_hash == sender_hash(sender_id))).scalar()
    return float(value) if value is not None else None


def drop_erased_events(engine: Any, tracker: Any) -> int:
    """Remove from `tracker` (Rasa's `DialogueStateTracker`, in place) the events of an
    erasure: those stamped up to the conversation's mark. How many were removed."""
    through = erased_through(engine, tracker.sender_id)
    if through is None:
        return 0
    events: Iterable[Any] = tracker.events
    kept = [event for event in events if (event.timestamp or 0.0) > through]
    removed = len(tracker.events) - len(kept)
    if removed:
        tracker.events.clear()
        tracker.events.extend(kept)
    return removed


def forget_marks(conn: Any, before: float) -> int:
    """Delete the marks of erasures older than `before` (a Unix time); how many."""
    result = conn.execute(delete(MARKS).where(MARKS.c.erased_at < before))
    return int(result.rowcount or 0)
