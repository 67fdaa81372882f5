"""Erasing conversations the assistant keeps: their events in Rasa's tracker store, their
handoffs (summaries, console reads) and their links to addresses (their privacy opt-outs
stay, without the conversation's id: `services.opt_outs.forget`). Shared by a completed
deletion request, the retention purge and the widget's "delete this chat".

The tracker store is another database, so the events go first, in their own transaction,
and the backend's rows after, in the caller's transaction: a crash between the two leaves
rows that the next run (completing again, or the next purge) erases, and erasing what is
already gone erases nothing. With the events go the REST channel's stored answers to the
conversations' turns, and a mark that keeps a turn still in flight from writing the erased
events back (`TrackerStore.erase`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import ConversationLink, Handoff, TranscriptRead
from privacy_backend.integrations.rest_answers import RestAnswersUnavailable
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.services import opt_outs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Erased:
    tracker_events: int
    handoffs: int
    links: int


def erase_events(tracker_store: TrackerStore, conversation_ids: Iterable[str],
                 now: datetime | None = None) -> int:
    """Step one: the conversations' events in the tracker store (committed at once), their
    REST answers, and the marks dated `now` (default: this moment). ApiError 503
    `erasure_unavailable` when Redis cannot be reached to delete the answers: the events
    of the conversations not yet erased stay, for the next attempt."""
    try:
        return tracker_store.erase(conversation_ids, now=now)
    except RestAnswersUnavailable as exc:
        log.warning("an erasure waits for Redis: %s", exc)
        raise ApiError(503, "erasure_unavailable", "The conversation cannot be erased "
                       "completely now (the answers stored for it are out of reach), so it "
                       "was kept. Try again later.", headers={"Retry-After": "60"}) from None


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
    # Their opt-outs stay, the record of a choice that needs no conversation to hold.
    opt_outs.forget(session, ids)
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        delete(ConversationLink).where(ConversationLink.conversation_id.in_(ids)))
    links = result.rowcount or 0
    session.flush()
    return len(handoff_ids), int(links)


def erase_conversations(session: Session, tracker_store: TrackerStore,
                        conversation_ids: Iterable[str], now: datetime | None = None) -> Erased:
    """Both steps; the caller commits."""
    ids = sorted(set(conversation_ids))
    events = erase_events(tracker_store, ids, now)
    handoffs, links = erase_rows(session, ids)
    return Erased(tracker_events=events, handoffs=handoffs, links=links)
