"""Human handoffs (`/api/v1/handoffs`): the assistant queues a conversation; staff read them
(agents see theirs in the console)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import select

from privacy_backend.api.deps import NowDep, SessionDep, SettingsDep
from privacy_backend.core.models import Handoff, HandoffStatus
from privacy_backend.core.security import StaffDep
from privacy_backend.integrations.slack import NotifierDep
from privacy_backend.schemas.common import RowId
from privacy_backend.schemas.handoffs import HandoffCreate, HandoffOut
from privacy_backend.services import agents
from privacy_backend.services import handoffs as handoff_service

router = APIRouter(prefix="/handoffs", tags=["handoffs"])


@router.post("", response_model=HandoffOut, status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "The conversation's handoff that is still open"}})
def create_handoff(body: HandoffCreate, response: Response, session: SessionDep,
                   settings: SettingsDep, now: NowDep, slack: NotifierDep) -> HandoffOut:
    """Queue a conversation for a support agent. `agents_online` says whether anyone is
    there to take it (0: tell the visitor nobody is available right now). When Slack is on,
    the handoff is posted to the privacy team's channel after the commit, in the background:
    Slack never delays or fails this answer. Floods are refused: 429 `too_many_handoffs`
    past HANDOFFS_PER_CONVERSATION_PER_HOUR new handoffs of one conversation, 503
    `handoff_queue_full` while HANDOFF_MAX_OPEN handoffs are open."""
    handoff, created = handoff_service.create(
        session, body, now=now, max_open=settings.handoff_max_open,
        per_conversation_per_hour=settings.handoffs_per_conversation_per_hour)
    session.commit()
    slack.notify(handoff.id)
    if created:
        response.headers["Location"] = f"/api/v1/handoffs/{handoff.id}"
    else:
        response.status_code = status.HTTP_200_OK
    return handoff_service.out(handoff, agents.agents_online(session, settings=settings, now=now))


@router.get("", response_model=list[HandoffOut])
def list_handoffs(
    session: SessionDep, settings: SettingsDep, now: NowDep, _: StaffDep,
    conversation_id: Annotated[str | None, Query(max_length=128)] = None,
    status: HandoffStatus | None = None,
    open: Annotated[bool, Query(description="Only waiting and active ones")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[HandoffOut]:
    query = select(Handoff).order_by(Handoff.id.desc())
    if conversation_id:
        query = query.where(Handoff.conversation_id == conversation_id)
    if status:
        query = query.where(Handoff.status == status)
    if open:
        query = query.where(Handoff.status.in_(handoff_service.OPEN))
    online = agents.agents_online(session, settings=settings, now=now)
    return [handoff_service.out(h, online) for h in session.scalars(query.limit(limit))]


@router.get("/{handoff_id}", response_model=HandoffOut)
def get_handoff(handoff_id: RowId, session: SessionDep, settings: SettingsDep, now: NowDep,
                _: StaffDep) -> HandoffOut:
    return handoff_service.out(handoff_service.get(session, handoff_id),
                   agents.agents_online(session, settings=settings, now=now))
