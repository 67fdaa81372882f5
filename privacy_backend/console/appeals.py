"""Appeals in the console's workbench (`/console/api/appeals`, privacy admins only): the
list (oldest due first, by status), one appeal, and the written decision (a grant reopens
the request; a denial tells the person how to complain to their Attorney General) and the
extension, through `services.appeals`. Each action is recorded under the privacy admin
(`agent:<email>`) and its email sent after the commit."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from privacy_assistant.contract import AppealStatus
from privacy_backend.api.deps import (
    NowDep,
    OutboxDep,
    SessionDep,
    SettingsDep,
    TrackerStoreDep,
)
from privacy_backend.console.auth import PrivacyAdminCsrfDep, PrivacyAdminDep
from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import Appeal
from privacy_backend.core.settings import Settings
from privacy_backend.schemas.workbench import (
    MAX_PER_PAGE,
    AppealDecisionIn,
    AppealExtendIn,
    ConsoleAppeal,
    ConsoleAppealPage,
    Reference,
)
from privacy_backend.services import appeals, fulfilment, workbench

router = APIRouter(prefix="/appeals")
log = logging.getLogger(__name__)


def appeal_out(appeal: Appeal, settings: Settings, now: datetime) -> ConsoleAppeal:
    """The appeal as the console shows it; `extendable` while `appeals.may_extend`."""
    return ConsoleAppeal(
        reference=appeal.reference, request_reference=appeal.request_reference,
        request_type=appeal.request.type, jurisdiction=appeal.request.jurisdiction,
        status=appeal.status, reason=appeal.reason, channel=appeal.channel,
        received_at=appeal.received_at, due_at=appeal.due_at, decided_at=appeal.decided_at,
        decided_by=appeal.decided_by, decision=appeal.decision,
        erased=appeal.erased_at is not None,
        extendable=appeals.may_extend(appeal, settings, now))


@router.get("", response_model=ConsoleAppealPage)
def list_appeals(_: PrivacyAdminDep, session: SessionDep, settings: SettingsDep, now: NowDep,
                 status: AppealStatus | None = None,
                 page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
                 per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 25,
                 ) -> ConsoleAppealPage:
    """The appeals (of one status, if given), oldest due first, one page of them."""
    total, found = appeals.search(session, status=status, limit=per_page,
                                  offset=(page - 1) * per_page)
    return ConsoleAppealPage(total=total, page=page, per_page=per_page, as_of=now,
                             items=[appeal_out(a, settings, now) for a in found])


@router.get("/{reference}", response_model=ConsoleAppeal)
def appeal_page(reference: Reference, _: PrivacyAdminDep, session: SessionDep,
                settings: SettingsDep, now: NowDep) -> ConsoleAppeal:
    return appeal_out(appeals.get_or_404(session, reference), settings, now)


@router.post("/{reference}/decision", response_model=ConsoleAppeal)
def decide(reference: Reference, body: AppealDecisionIn, record: PrivacyAdminCsrfDep,
           session: SessionDep, settings: SettingsDep, now: NowDep, outbox: OutboxDep,
           tracker_store: TrackerStoreDep) -> ConsoleAppeal:
    """Decide the appeal in writing (`outcome` granted or denied, `reason` required): 409
    `appeal_decided` once decided, `not_reopenable` for a grant of a request never verified
    or whose agent the consumer never permitted; nothing changes then."""
    work = fulfilment.Work(session=session, settings=settings, now=now, outbox=outbox,
                           tracker_store=tracker_store, actor=f"agent:{record.agent.email}")
    try:
        appeal, mail_ids = appeals.decide(work, reference, body.outcome, body.reason)
    except ApiError:
        session.rollback()
        raise
    workbench.send(outbox, mail_ids, settings)
    log.info("agent %s: appeal %s %s", record.agent_id, appeal.reference, body.outcome)
    session.expire_all()
    return appeal_out(appeals.get_or_404(session, appeal.reference), settings, now)


@router.post("/{reference}/extend", response_model=ConsoleAppeal)
def extend(reference: Reference, body: AppealExtendIn, record: PrivacyAdminCsrfDep,
           session: SessionDep, settings: SettingsDep, now: NowDep, outbox: OutboxDep,
           tracker_store: TrackerStoreDep) -> ConsoleAppeal:
    """Extend the appeal's time once, with the reason emailed to the person (409 where the
    jurisdiction allows none, once extended, or past its due date)."""
    work = fulfilment.Work(session=session, settings=settings, now=now, outbox=outbox,
                           tracker_store=tracker_store, actor=f"agent:{record.agent.email}")
    try:
        appeal, mail_ids = appeals.extend(work, reference, body.reason)
    except ApiError:
        session.rollback()
        raise
    workbench.send(outbox, mail_ids, settings)
    log.info("agent %s: appeal %s extended", record.agent_id, appeal.reference)
    session.expire_all()
    return appeal_out(appeals.get_or_404(session, appeal.reference), settings, now)
