"""Erasing conversations the assistant keeps: their events in Rasa's tracker store, their
handoffs (summaries, console reads) and their links to addresses. Shared by a completed
deletion request, the retention purge and the widget's "delete this chat".

The tracker store is another database, so the events go first, in their own transaction,
and the backend's rows after, in the caller's transaction: a crash between the two leaves
rows that the next run (completing again, or the next purge) erases, and erasing what is
already gone erases nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from privacy_backend.core.models import ConversationLink, Handoff, TranscriptRead
from privacy_backend.integrations.tracker_store import TrackerStore


@dataclass(frozen=True)
class Erased:
    tracker_events: int
    handoffs: int
    links: int


def erase_events(tracker_store: TrackerStore, conversation_ids: Iterable[str]) -> int:
    """Step one: the conversations' events in the tracker store (committed at once)."""
    return tracker_store.erase(conversation_ids)


def erase_rows(session: Session, conversation_ids: Iterable[str]) -> tuple[int, int]:
    """Step two, in the caller's transaction (flushed, not committed): the conversations'
    handoffs with their console reads, and their links. Returns (handoffs, links)."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return 0, 0
    handoff_ids = list(session.scalars(select(Handoff.id).where(
        Handoff.conversation_id.in_(ids))))
    if handoff_ids:
        session.execute(delete(TranscriptRead).where(TranscriptRead.handoff_id.in_(handoff_ids)))
        session.execute(delete(Handoff).where(Handoff.id.in_(handoff_ids)))
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        delete(ConversationLink).where(ConversationLink.conversation_id.in_(ids)))
    links = result.rowcount or 0
    session.flush()
    return len(handoff_ids), int(links)


def erase_conversations(session: Session, tracker_store: TrackerStore,
                        conversation_ids: Iterable[str]) -> Erased:
    """Both steps; the caller commits."""
    ids = sorted(set(conversation_ids))
    events = erase_events(tracker_store, ids)
    handoffs, links = erase_rows(session, ids)
    return Erased(tracker_events=events, handoffs=handoffs, links=links)
