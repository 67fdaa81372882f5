"""A tracker store shaped like the one Rasa 3.6's `SQLTrackerStore` creates (table `events`:
id, sender_id, type_name, timestamp, intent_name, action_name, data), filled the way Rasa
fills it, for the backend tests that export and erase conversations."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, func, insert, select

from privacy_backend.core.db import make_engine
from privacy_backend.integrations.tracker_store import TrackerStore

_metadata = MetaData()
RASA_EVENTS = Table(
    "events", _metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def rasa_store(tmp_path: Path) -> TrackerStore:
    """An empty Rasa-shaped tracker store in a SQLite file."""
    engine = make_engine(f"sqlite:///{tmp_path / 'rasa_tracker.db'}")
    _metadata.create_all(engine)
    return TrackerStore(engine)


def chat(store: TrackerStore, conversation_id: str, at: datetime,
         *turns: tuple[str, str]) -> None:
    """Append (visitor, bot) turns to a conversation, one second apart from `at`."""
    stamp = at.timestamp()
    rows: list[dict[str, Any]] = []
    for user, bot in turns:
        for kind, text in (("user", user), ("bot", bot)):
            event = {"event": kind, "text": text, "timestamp": stamp}
            rows.append({"sender_id": conversation_id, "type_name": kind, "timestamp": stamp,
                         "data": json.dumps(event)})
            stamp += 1
    with store.engine.begin() as conn:
        conn.execute(insert(RASA_EVENTS), rows)


def event_count(store: TrackerStore, conversation_id: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(RASA_EVENTS).where(
            RASA_EVENTS.c.sender_id == conversation_id)) or 0)
