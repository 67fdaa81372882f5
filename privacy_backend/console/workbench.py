"""The fulfilment workbench of the console (`/console/api/requests`, privacy admins only):
the requests list with its filters, one request's page (with the authorized agent and their
permission, the duplicate's first request, the receipt, the appeal), and the actions that
work it (verify, start, extend with notice, complete in whole or in part, deny with a
reason, mark as a duplicate, record an agent's signed permission)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from privacy_backend.api.deps import (
    NowDep,
    OutboxDep,
    SessionDep,
    SettingsDep,
    TrackerStoreDep,
)
from privacy_backend.console.appeals import appeal_out
from privacy_backend.console.auth import PrivacyAdminCsrfDep, PrivacyAdminDep
from privacy_backend.core.errors import ApiError, bad_query
from privacy_backend.core.models import PrivacyRequest, RequestStatus, RequestType
from privacy_backend.core.settings import Settings
from privacy_backend.schemas.workbench import (
    MAX_PER_PAGE,
    ActionIn,
    AuditEntryOut,
    DownloadOut,
    ExportOut,
    LinkedConversationOut,
    Reference,
    RequesterOut,
    WorkbenchDetail,
    WorkbenchItem,
    WorkbenchPage,
)
from privacy_backend.services import deadlines, fulfilment, workbench
from privacy_backend.services import requests as request_service

router = APIRouter(prefix="/requests")
log = logging.getLogger(__name__)


def _detail(session: Session, request: PrivacyRequest, settings: Settings, now: datetime
            ) -> WorkbenchDetail:
    """The request page (`workbench.detail`) as the console's browser receives it."""
    data = workbench.detail(session, request, settings, now)
    r: PrivacyRequest = data["request"]
    appeal = r.appeal
    return WorkbenchDetail(
        reference=r.reference, type=r.type, status=r.status, jurisdiction=r.jurisdiction,
        requester=RequesterOut(email=r.email, name=r.name, region=r.region,
                               authorized_agent=r.authorized_agent, channel=r.channel),
        details=r.details, created_at=r.created_at, updated_at=r.updated_at,
        verified_at=r.verified_at, due_at=r.due_at, days_left=data["days_left"],
        extensions_used=r.extensions_used, extension_reason=r.extension_reason,
        erased_at=r.erased_at,
        audit=[AuditEntryOut(at=e.created_at, actor=e.actor, action=e.action, before=e.before,
                             after=e.after, note=e.note) for e in data["audit"]],
        conversations=[LinkedConversationOut(**c) for c in data["conversations"]],
        exports=[ExportOut(id=e["id"], created_at=e["created_at"], expires_at=e["expires_at"],
                           available=e["available"],
                           downloads=[DownloadOut(**d) for d in e["downloads"]])
                 for e in data["exports"]],
        actions=data["actions"],
        agent_email=r.agent_email, agent_permission=r.agent_permission,
        awaiting_consumer=r.awaiting_consumer, duplicate_of=r.duplicate_of,
        receipt_confirmed_at=r.receipt_confirmed_at,
        receipt_due=data["receipt_due"],
        denial_reason=r.denial_reason, partial=r.partial,
        appeal=appeal_out(appeal, settings, now) if appeal is not None else None,
    )


@router.get("", response_model=WorkbenchPage)
def list_requests(
    _: PrivacyAdminDep, session: SessionDep, settings: SettingsDep, now: NowDep,
    status: RequestStatus | None = None,
    type: RequestType | None = None,
    jurisdiction: Annotated[str | None, Query(max_length=16)] = None,
    due_within_days: Annotated[int | None, Query(
        ge=0, le=366, description="Open requests due by the end of the UTC day this many "
                                  "days from now, overdue ones included")] = None,
    overdue: Annotated[bool, Query(description="Open requests past their due date")] = False,
    sort: Annotated[workbench.Sort, Query(
        description="A column, `-` first for the reverse order")] = "due_at",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 25,
) -> WorkbenchPage:
    """The requests that match every filter given, one page of them, sorted."""
    if jurisdiction is not None and jurisdiction not in settings.jurisdiction_rules:
        raise bad_query("jurisdiction", "one of "
                         + ", ".join(sorted(settings.jurisdiction_rules)))
    total, found = workbench.search(session, workbench.Filters(
        status=status, type=type.value if type else None, jurisdiction=jurisdiction,
        due_within_days=due_within_days, overdue=overdue, sort=sort, limit=per_page,
        offset=(page - 1) * per_page), now)
    return WorkbenchPage(
        total=total, page=page, per_page=per_page, as_of=now,
        jurisdictions=sorted(settings.jurisdiction_rules),
        items=[WorkbenchItem(reference=r.reference, type=r.type, status=r.status,
                             jurisdiction=r.jurisdiction, created_at=r.created_at,
                             due_at=r.due_at, days_left=deadlines.days_left(r.due_at, now),
                             erased=r.erased_at is not None,
                             agent=r.authorized_agent or r.agent_email is not None,
                             awaiting_consumer=r.awaiting_consumer,
                             duplicate_of=r.duplicate_of,
                             appeal=r.appeal.status if r.appeal is not None else None)
               for r in found])


@router.get("/{reference}", response_model=WorkbenchDetail)
def request_page(reference: Reference, _: PrivacyAdminDep, session: SessionDep,
                 settings: SettingsDep, now: NowDep) -> WorkbenchDetail:
    """One request: the requester, what they wrote, the audit trail, the linked
    conversations (by handle), the exports and their downloads, the actions allowed now."""
    return _detail(session, request_service.get_or_404(session, reference), settings, now)


@router.post("/{reference}/actions", response_model=WorkbenchDetail)
def request_action(reference: Reference, body: ActionIn, record: PrivacyAdminCsrfDep,
                   session: SessionDep, settings: SettingsDep, now: NowDep, outbox: OutboxDep,
                   tracker_store: TrackerStoreDep) -> WorkbenchDetail:
    """Do one action, recorded under the privacy admin (`agent:<email>`), and email the
    requester (and the agent) where the action says so (after the commit). `complete`
    fulfils the request first (`services.fulfilment`). 409 when the status graph refuses the
    action, 422 when a note it needs is missing or the duplicate's first request does not
    fit; nothing changes then."""
    request = request_service.get_or_404(session, reference)
    work = fulfilment.Work(session=session, settings=settings, now=now, outbox=outbox,
                           tracker_store=tracker_store, actor=f"agent:{record.agent.email}")
    try:
        done = workbench.act(work, request, body.action, note=body.note,
                             denial_reason=body.denial_reason, partial=body.partial,
                             duplicate_of=body.duplicate_of)
    except ApiError:
        session.rollback()
        raise
    workbench.send(outbox, done.mail_ids, settings)
    log.info("agent %s: %s on request %s", record.agent_id, body.action, request.reference)
    # Sessions keep what they loaded across commits (expire_on_commit=False), and a
    # completion reads the request's audit trail for the export before it adds its own
    # rows: reload, so the page shows the trail as committed.
    session.expire_all()
    return _detail(session, done.request, settings, now)
