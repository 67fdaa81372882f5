"""Handoffs: waiting -> active (an agent took it) -> closed, one open handoff per
conversation, and the transcript an agent reads (from Rasa's tracker events).

The queue cannot be flooded (each handoff is also a post in the privacy team's Slack
channel): a conversation opens at most `HANDOFFS_PER_CONVERSATION_PER_HOUR` handoffs an hour
(429 `too_many_handoffs`), and at most `HANDOFF_MAX_OPEN` are open at once (503
`handoff_queue_full`); the assistant then tells the visitor how else to reach the team. A
conversation's open handoff is answered again whatever the limits. A one-time code in the
summary is masked here too, whoever sent it."""

from __future__ import annotations

import base64
import hashlib
import logging
import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privacy_assistant.code_mask import mask_codes
from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import Agent, AgentRole, Handoff, HandoffStatus, TranscriptRead
from privacy_backend.integrations.rasa import RasaApi, RasaUnavailable
from privacy_backend.schemas.handoffs import (
    ConsoleHandoffOut,
    HandoffCreate,
    HandoffOut,
    TranscriptLine,
)

log = logging.getLogger(__name__)
OPEN = (HandoffStatus.WAITING, HandoffStatus.ACTIVE)


def open_for(session: Session, conversation_id: str) -> Handoff | None:
    return session.scalar(
        select(Handoff).where(Handoff.conversation_id == conversation_id,
                              Handoff.status.in_(OPEN)).order_by(Handoff.id.desc()).limit(1))


def check_limits(session: Session, conversation_id: str, *, max_open: int,
                 per_conversation_per_hour: int, now: datetime) -> None:
    """Refuse a new handoff beyond the conversation's hourly count or the queue's size."""
    recent = session.scalar(select(func.count(Handoff.id)).where(
        Handoff.conversation_id == conversation_id,
        Handoff.created_at > now - timedelta(hours=1))) or 0
    if recent >= per_conversation_per_hour:
        first = session.scalar(select(func.min(Handoff.created_at)).where(
            Handoff.conversation_id == conversation_id,
            Handoff.created_at > now - timedelta(hours=1)))
        left = (first + timedelta(hours=1) - now).total_seconds() if first else 3600.0
        raise ApiError(429, "too_many_handoffs",
                       f"This conversation asked for a person {recent} times within the "
                       "hour; try again later.",
                       headers={"Retry-After": str(max(1, math.ceil(left)))})
    waiting = session.scalar(select(func.count(Handoff.id))
                             .where(Handoff.status.in_(OPEN))) or 0
    if waiting >= max_open:
        raise ApiError(503, "handoff_queue_full",
                       "The support queue is full; try again later.",
                       headers={"Retry-After": "60"})


def create(session: Session, body: HandoffCreate, *, now: datetime, max_open: int,
           per_conversation_per_hour: int) -> tuple[Handoff, bool]:
    """The new handoff and True, or the conversation's open one and False; `ApiError` 429
    or 503 beyond the limits (`check_limits`)."""
    existing = open_for(session, body.conversation_id)
    if existing is not None:
        return existing, False
    check_limits(session, body.conversation_id, max_open=max_open,
                 per_conversation_per_hour=per_conversation_per_hour, now=now)
    summary = mask_codes(body.summary) if body.summary else body.summary
    handoff = Handoff(conversation_id=body.conversation_id, channel=body.channel,
                      reason=body.reason, summary=summary, status=HandoffStatus.WAITING,
                      created_at=now)
    session.add(handoff)
    session.flush()
    return handoff, True


def may_read(handoff: Handoff, agent: Agent) -> bool:
    """An agent reads a conversation queued for the team or assigned to them; a privacy
    admin reads every handed-off conversation."""
    return (agent.role is AgentRole.PRIVACY_ADMIN or handoff.status is HandoffStatus.WAITING
            or handoff.agent_id == agent.id)


def require_reader(handoff: Handoff, agent: Agent) -> None:
    if not may_read(handoff, agent):
        raise ApiError(403, "not_your_conversation",
                       "This conversation is assigned to another agent.")


def record_read(session: Session, handoff: Handoff, agent: Agent, *, now: datetime) -> None:
    session.add(TranscriptRead(agent_id=agent.id, handoff_id=handoff.id, read_at=now))


def queue(session: Session, agent: Agent) -> list[Handoff]:
    """The open handoffs `agent` may read: waiting ones (oldest first), then active ones."""
    found = session.scalars(select(Handoff).where(Handoff.status.in_(OPEN))
                            .order_by(Handoff.created_at, Handoff.id))
    readable = [h for h in found if may_read(h, agent)]
    return sorted(readable, key=lambda h: h.status is not HandoffStatus.WAITING)


def get(session: Session, handoff_id: int, *, for_update: bool = False) -> Handoff:
    """The handoff; `for_update` locks its row until commit (PostgreSQL), so two agents
    taking it at once are served one after the other and the second sees it taken. SQLite
    serialises write transactions already (BEGIN IMMEDIATE)."""
    handoff = session.get(Handoff, handoff_id, with_for_update=for_update)
    if handoff is None:
        raise ApiError(404, "not_found", "No handoff with that identifier.")
    return handoff


def take(handoff: Handoff, agent: Agent, *, now: datetime) -> None:
    if handoff.status is HandoffStatus.ACTIVE and handoff.agent_id == agent.id:
        return
    if handoff.status is not HandoffStatus.WAITING:
        taken_by = handoff.agent.name if handoff.agent else None
        raise ApiError(409, "not_waiting",
                       f"This handoff is '{handoff.status.value}'"
                       + (f" and taken by {taken_by}." if taken_by else "."),
                       current_status=handoff.status.value)
    handoff.status = HandoffStatus.ACTIVE
    handoff.agent_id = agent.id
    handoff.agent = agent
    handoff.taken_at = now


def untake(handoff: Handoff) -> None:
    """Undo `take` (the bot could not be paused)."""
    handoff.status = HandoffStatus.WAITING
    handoff.agent_id = None
    handoff.agent = None
    handoff.taken_at = None


def require_owner(handoff: Handoff, agent: Agent) -> None:
    """Only the agent who took the conversation may write to it."""
    if handoff.status is not HandoffStatus.ACTIVE:
        raise ApiError(409, "not_active",
                       f"This handoff is '{handoff.status.value}': take it over first.",
                       current_status=handoff.status.value)
    if handoff.agent_id != agent.id:
        raise ApiError(403, "not_your_conversation",
                       "Another agent has taken this conversation over.")


def close(handoff: Handoff, *, reason: str, now: datetime) -> None:
    handoff.status = HandoffStatus.CLOSED
    handoff.closed_at = now
    handoff.close_reason = reason


TIMED_OUT = "timed_out"  # nobody took it within HANDOFF_WAIT_MINUTES
TIMED_OUT_INTENT = "handoff_timed_out"


def time_out_waiting(session: Session, rasa: RasaApi, *, wait: timedelta, now: datetime
                     ) -> list[Handoff]:
    """Close every handoff that has waited longer than `wait`, and give the bot back to each
    visitor it paused: resume it and have it say how to reach the team.

    The handoffs are claimed (closed and committed) before Rasa is called, and rows another
    backend is closing are skipped (`SKIP LOCKED` on PostgreSQL), so each visitor hears it
    once. A visitor whose bot was not paused was told at the time that nobody was online."""
    stale = list(session.scalars(
        select(Handoff).where(Handoff.status == HandoffStatus.WAITING,
                              Handoff.created_at < now - wait)
        .with_for_update(skip_locked=True)))
    for handoff in stale:
        close(handoff, reason=TIMED_OUT, now=now)
    session.commit()
    for handoff in stale:
        try:
            if rasa.is_paused(handoff.conversation_id):
                rasa.resume(handoff.conversation_id)
                rasa.trigger_intent(handoff.conversation_id, TIMED_OUT_INTENT)
        except RasaUnavailable as exc:
            log.warning("could not give handoff %s back to the bot: %s", handoff.id, exc)
    return stale


def _fields(handoff: Handoff, agents_online: int) -> dict[str, Any]:
    return {"id": handoff.id, "channel": handoff.channel, "reason": handoff.reason,
            "summary": handoff.summary, "status": handoff.status,
            "agent_name": handoff.agent.name if handoff.agent else None,
            "created_at": handoff.created_at, "taken_at": handoff.taken_at,
            "closed_at": handoff.closed_at, "close_reason": handoff.close_reason,
            "agents_online": agents_online}


def out(handoff: Handoff, agents_online: int) -> HandoffOut:
    return HandoffOut(conversation_id=handoff.conversation_id,
                      **_fields(handoff, agents_online))


def handle(conversation_id: str) -> str:
    """A short, stable name for a conversation that does not reveal its id: eight base32
    characters of its BLAKE2b digest, e.g. `C-7F3K-Q2MD`."""
    digest = hashlib.blake2b(conversation_id.encode(), digest_size=5).digest()
    text = base64.b32encode(digest).decode()
    return f"C-{text[:4]}-{text[4:8]}"


def console_out(handoff: Handoff, agents_online: int) -> ConsoleHandoffOut:
    return ConsoleHandoffOut(handle=handle(handoff.conversation_id),
                             **_fields(handoff, agents_online))


_SYSTEM = {"pause": "The bot was paused.", "resume": "The bot was resumed.",
           "session_started": "A new session started."}


def transcript(events: list[dict[str, Any]]) -> list[TranscriptLine]:
    """What the visitor and the bot or agent said, with pause and resume marks."""
    lines: list[TranscriptLine] = []
    for event in events:
        kind = event.get("event")
        stamp = event.get("timestamp")
        if kind == "user":
            lines.append(TranscriptLine(kind="user", text=str(event.get("text") or ""),
                                        timestamp=stamp))
        elif kind == "bot":
            agent = (event.get("metadata") or {}).get("agent")
            buttons = [str(b.get("title", "")) for b in
                       ((event.get("data") or {}).get("buttons") or []) if isinstance(b, dict)]
            text = str(event.get("text") or "")
            if not text and not buttons:
                continue
            lines.append(TranscriptLine(kind="agent" if agent else "bot", text=text,
                                        timestamp=stamp, agent=agent, buttons=buttons))
        elif kind in _SYSTEM:
            lines.append(TranscriptLine(kind="system", text=_SYSTEM[str(kind)], timestamp=stamp))
    return lines
