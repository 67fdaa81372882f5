"""The console's handoff queue (`/console/api/handoffs`): the queue, one conversation with its
transcript (read through Rasa's HTTP API) and what it filed, and taking it over, replying,
handing it back to the bot or closing it. Each change commits before Rasa is called, and
the handoff's Slack message follows (in the background)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_backend.api.deps import NowDep, SessionDep, SettingsDep
from privacy_backend.console.auth import AgentSessionDep, CsrfSessionDep
from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import (
    Handoff,
    HandoffStatus,
    PreferenceChange,
    PrivacyRequest,
)
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.rasa import RasaApi, RasaUnavailable
from privacy_backend.integrations.slack import HandoffNotifier, NotifierDep
from privacy_backend.schemas.common import RowId
from privacy_backend.schemas.handoffs import (
    AgentMessageIn,
    ConsoleHandoffOut,
    ConversationOut,
    QueueItem,
    QueueOut,
)
from privacy_backend.schemas.preferences import PreferenceChangeOut
from privacy_backend.schemas.requests import RequestOut
from privacy_backend.services import agents
from privacy_backend.services import handoffs as handoff_service

log = logging.getLogger(__name__)
router = APIRouter(prefix="/handoffs")

RETURNED_INTENT = "handoff_returned"


def _online(session: Session, settings: Settings, now: datetime) -> int:
    return agents.agents_online(session, settings=settings, now=now)


def _bad_gateway(exc: RasaUnavailable) -> ApiError:
    log.warning("Rasa HTTP API call failed: %s", exc)
    return ApiError(502, "rasa_unavailable", f"The chat server could not be reached: {exc}")


@contextmanager
def _rasa_or_bad_gateway(settings: Settings) -> Iterator[RasaApi]:
    """Rasa's HTTP API for the calls of one block; a failed call answers 502
    `rasa_unavailable`, and the client is closed in every case."""
    rasa = RasaApi.from_settings(settings)
    try:
        yield rasa
    except RasaUnavailable as exc:
        raise _bad_gateway(exc) from None
    finally:
        rasa.close()


@router.get("", response_model=QueueOut)
def queue(record: AgentSessionDep, session: SessionDep, settings: SettingsDep, now: NowDep
          ) -> QueueOut:
    online = _online(session, settings, now)
    return QueueOut(agents_online=online, handoffs=[
        QueueItem(handoff=handoff_service.console_out(h, online),
                  mine=h.agent_id == record.agent_id,
                  age_seconds=max(0, int((now - h.created_at).total_seconds())))
        for h in handoff_service.queue(session, record.agent)])


@router.get("/{handoff_id}", response_model=ConversationOut)
def conversation(handoff_id: RowId, record: AgentSessionDep, session: SessionDep,
                 settings: SettingsDep, now: NowDep) -> ConversationOut:
    handoff = handoff_service.get(session, handoff_id)
    handoff_service.require_reader(handoff, record.agent)
    handoff_service.record_read(session, handoff, record.agent, now=now)
    session.commit()  # hold no database transaction (SQLite: a write lock) while Rasa works
    transcript, error = [], None
    rasa = RasaApi.from_settings(settings)
    try:
        transcript = handoff_service.transcript(rasa.events(handoff.conversation_id))
    except RasaUnavailable as exc:
        error = str(exc)
    finally:
        rasa.close()
    requests = session.scalars(select(PrivacyRequest).where(
        PrivacyRequest.conversation_id == handoff.conversation_id).order_by(PrivacyRequest.id))
    changes = session.scalars(select(PreferenceChange).where(
        PreferenceChange.conversation_id == handoff.conversation_id
    ).order_by(PreferenceChange.id))
    return ConversationOut(
        handoff=handoff_service.console_out(handoff, _online(session, settings, now)),
        mine=handoff.agent_id == record.agent_id, transcript=transcript,
        transcript_error=error,
        requests=[RequestOut.model_validate(r).model_dump(mode="json") for r in requests],
        preference_changes=[
            {**PreferenceChangeOut.model_validate(c).model_dump(mode="json"),
             "email": c.preference.email} for c in changes],
    )


@router.post("/{handoff_id}/take", response_model=ConsoleHandoffOut)
def take(handoff_id: RowId, record: CsrfSessionDep, session: SessionDep, settings: SettingsDep,
         now: NowDep, slack: NotifierDep) -> ConsoleHandoffOut:
    """Assign the conversation to this agent and pause the bot (if it is not already); the
    Slack message says who took it."""
    handoff = handoff_service.get(session, handoff_id, for_update=True)
    was_waiting = handoff.status is HandoffStatus.WAITING
    handoff_service.take(handoff, record.agent, now=now)
    session.commit()  # claim it first (two agents cannot both take it), then call Rasa
    rasa = RasaApi.from_settings(settings)
    try:
        rasa.pause(handoff.conversation_id)
    except RasaUnavailable as exc:
        if was_waiting:
            handoff_service.untake(handoff)
            session.commit()
        raise _bad_gateway(exc) from None
    finally:
        rasa.close()
        slack.notify(handoff.id)  # taken, or waiting again: nothing is posted if unchanged
    return handoff_service.console_out(handoff, _online(session, settings, now))


@router.post("/{handoff_id}/messages", response_model=ConsoleHandoffOut, status_code=201)
def send_message(handoff_id: RowId, body: AgentMessageIn, record: CsrfSessionDep,
                 session: SessionDep, settings: SettingsDep, now: NowDep) -> ConsoleHandoffOut:
    """Send the agent's message to the visitor's chat; it stays in the conversation."""
    handoff = handoff_service.get(session, handoff_id)
    handoff_service.require_owner(handoff, record.agent)
    session.commit()
    with _rasa_or_bad_gateway(settings) as rasa:
        rasa.say(handoff.conversation_id, body.text.strip(), agent=record.agent.name)
    return handoff_service.console_out(handoff, _online(session, settings, now))


def _resume_and_close(handoff: Handoff, session: Session, settings: Settings, now: datetime,
                      slack: HandoffNotifier, *, reason: str, intent: str | None = None
                      ) -> ConsoleHandoffOut:
    """Resume the bot (and trigger `intent` in the conversation, when given), then close the
    handoff, commit, and have its Slack message say so (in the background). The caller has
    committed first: the bot's answer may call the backend, so no lock is held meanwhile."""
    with _rasa_or_bad_gateway(settings) as rasa:
        rasa.resume(handoff.conversation_id)
        if intent is not None:
            rasa.trigger_intent(handoff.conversation_id, intent)
    handoff_service.close(handoff, reason=reason, now=now)
    session.commit()
    slack.notify(handoff.id)
    return handoff_service.console_out(handoff, _online(session, settings, now))


@router.post("/{handoff_id}/handback", response_model=ConsoleHandoffOut)
def hand_back(handoff_id: RowId, record: CsrfSessionDep, session: SessionDep,
              settings: SettingsDep, now: NowDep, slack: NotifierDep) -> ConsoleHandoffOut:
    """Resume the bot and tell the visitor it is back; the handoff is closed."""
    handoff = handoff_service.get(session, handoff_id)
    handoff_service.require_owner(handoff, record.agent)
    session.commit()
    return _resume_and_close(handoff, session, settings, now, slack, reason="handed_back",
                             intent=RETURNED_INTENT)


@router.post("/{handoff_id}/close", response_model=ConsoleHandoffOut)
def close(handoff_id: RowId, record: CsrfSessionDep, session: SessionDep,
          settings: SettingsDep, now: NowDep, slack: NotifierDep) -> ConsoleHandoffOut:
    """Close without the bot's "I'm back" message (the bot is resumed quietly). Any agent
    may close a waiting handoff; only its agent an active one."""
    handoff = handoff_service.get(session, handoff_id)
    if handoff.status is HandoffStatus.CLOSED:
        raise ApiError(409, "not_open", "This handoff is already closed.",
                       current_status="closed")
    if handoff.status is HandoffStatus.ACTIVE:
        handoff_service.require_owner(handoff, record.agent)
    session.commit()
    # Resume in every case: the bot pauses itself as soon as it queues a web handoff, so a
    # waiting one closed without being taken would otherwise leave the visitor unanswered.
    return _resume_and_close(handoff, session, settings, now, slack, reason="closed")
