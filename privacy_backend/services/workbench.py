"""The operations staff work a request with, shared by the API (`PATCH
/api/v1/requests/{reference}`, `POST …/extend`, staff token) and the console's workbench
(privacy admins): verify, start, extend with notice (within the first period only),
complete in whole or in part (which fulfils it, see `services.fulfilment`), deny with a
reason and its kind (`DenialReason`, counted by the yearly metrics), mark a duplicate of an
earlier request, and record an authorized agent's signed permission. Each is recorded in
the audit under the authenticated caller, and each that the requester must hear about
queues its email in the same transaction; the caller sends it after the commit (`send`).

Also the request page's contents: the requester (and their agent), the audit trail, the
linked conversations, the exports and their downloads, the receipt's confirmation, the
duplicate's first request, the appeal, and the actions allowed now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from privacy_backend.core.errors import ApiError
from privacy_backend.core.jurisdictions import DeadlineRule
from privacy_backend.core.models import (
    AuditEvent,
    DenialReason,
    Export,
    ExportDownload,
    Handoff,
    PrivacyRequest,
    RequestStatus,
)
from privacy_backend.core.settings import Settings
from privacy_backend.mail import messages as emails
from privacy_backend.mail.outbox import Outbox
from privacy_backend.services import agent_requests, deadlines, fulfilment, links
from privacy_backend.services import requests as request_service
from privacy_backend.services.handoffs import handle
from privacy_backend.services.requests import duplicates

Action = Literal["verify", "start", "extend", "complete", "deny", "mark_duplicate",
                 "record_permission"]
S = RequestStatus
ACTION_STATUS: dict[str, RequestStatus] = {
    "verify": S.VERIFIED, "start": S.IN_PROGRESS, "complete": S.COMPLETED, "deny": S.REJECTED,
    "mark_duplicate": S.DUPLICATE,
}
STATUS_ACTION: dict[RequestStatus, Action] = {
    S.VERIFIED: "verify", S.IN_PROGRESS: "start", S.COMPLETED: "complete", S.REJECTED: "deny",
    S.DUPLICATE: "mark_duplicate",
}
NOTICE_WINDOW = fulfilment.NOTICE_WINDOW
# When no jurisdiction's row is found (a table replaced without it): the rule's default.
RECEIPT_BUSINESS_DAYS: int = DeadlineRule.model_fields["receipt_business_days"].default


@dataclass(frozen=True)
class Done:
    """The request after the action, and the mail to send once committed."""

    request: PrivacyRequest
    mail_ids: list[int]


def allowed_actions(request: PrivacyRequest, settings: Settings, now: datetime | None = None
                    ) -> list[Action]:
    """The actions the status graph (and the jurisdiction's extension rule, and an agent's
    permission) allows now."""
    actions = [STATUS_ACTION[to] for to in sorted(request_service.TRANSITIONS[request.status],
                                                  key=lambda s: list(S).index(s))
               if to in STATUS_ACTION]
    if needs_permission(request):
        actions.remove("verify")
    if request.awaiting_consumer:
        actions.append("record_permission")
    if may_extend(request, settings, now):
        actions.append("extend")
    return actions


def needs_permission(request: PrivacyRequest) -> bool:
    """An authorized agent's request is verified by the consumer's confirmation or staff's
    record of signed permission (CCPA regs §7063), never by a bare `verify`."""
    return (request.authorized_agent and request.agent_permission is None
            and request.status is S.PENDING_VERIFICATION)


# A request awaiting its code is not extended: the notice would go to an address nobody has
# proved is the requester's.
EXTENDABLE = frozenset({S.VERIFIED, S.IN_PROGRESS})


def may_extend(request: PrivacyRequest, settings: Settings, now: datetime | None = None
               ) -> bool:
    """Whether the extension can be used (at `now`, if given: the first one only within the
    first period)."""
    rule = settings.jurisdiction_rules.get(request.jurisdiction)
    late = (now is not None and request.extensions_used == 0 and now > request.due_at)
    return (request.status in EXTENDABLE and rule is not None and not late
            and deadlines.can_extend(rule, request.extensions_used))


def receipt(session: Session, outbox: Outbox, settings: Settings, request: PrivacyRequest,
            now: datetime) -> int:
    """Queue the confirmation of receipt (sent when a request is verified; its code's email
    confirmed the receipt already when it was filed) and note when receipt was first
    confirmed."""
    if request.receipt_confirmed_at is None:
        request.receipt_confirmed_at = now
    return outbox.add(session, emails.request_received(
        settings.mail_from, request.email, request.reference, request.type.value,
        request.due_at), kind="request_received", now=now, not_after=now + NOTICE_WINDOW).id


def _reason(note: str | None, what: str) -> str:
    if not (note and note.strip()):
        raise ApiError(422, "reason_required", f"{what} needs a reason: it is recorded and "
                       "emailed to the requester.")
    return note.strip()


def act(work: fulfilment.Work, request: PrivacyRequest, action: Action, *,
        note: str | None = None, denial_reason: DenialReason | None = None,
        partial: bool = False, duplicate_of: str | None = None) -> Done:
    """Do `action` and commit (409 if the status graph does not allow it, 422 without a
    reason where one is needed or with a bad `duplicate_of`; nothing changes then).

    `deny` records `denial_reason` (`other` when none is given); `complete` with `partial`
    needs a note saying what was withheld and why; `mark_duplicate` needs `duplicate_of`,
    the reference of the first request; `record_permission` needs a note (the signed
    permission staff hold)."""
    session, settings, now = work.session, work.settings, work.now
    if action == "complete":
        return Done(request, fulfilment.complete(work, request, note, partial=partial))
    if action == "record_permission":  # 409 unless it awaits the consumer, 422 without note
        return Done(request, agent_requests.record_permission(work, request, note))
    if action == "mark_duplicate":
        request_service.require_transition(request, S.DUPLICATE)
        first = duplicates.resolve(session, request, duplicate_of)
        marked = duplicates.mark(session, work.outbox, settings, request, first,
                                 actor=work.actor, now=now, note=note)
        session.commit()
        return Done(request, marked)
    if action == "extend":
        reason = _reason(note, "An extension")
        if request.status is S.PENDING_VERIFICATION:
            raise ApiError(409, "illegal_transition", "A request awaiting verification is not "
                           "extended: verify it first.", current_status=request.status.value)
        request_service.extend(session, request, settings=settings, actor=work.actor,
                               reason=reason, now=now)
        mail = work.outbox.add(session, emails.extension_notice(
            settings.mail_from, request.email, request.reference, request.due_at, reason),
            kind="extension_notice", now=now, not_after=now + NOTICE_WINDOW)
        copy = agent_requests.copy_to_agent(session, work.outbox, settings, request,
                                            "extended", now, due_at=request.due_at,
                                            reason=reason)
        session.commit()
        return Done(request, queued(mail.id, copy))
    to = ACTION_STATUS[action]
    request_service.require_transition(request, to)
    if action == "verify" and needs_permission(request):
        raise ApiError(409, "agent_permission_required", "An authorized agent's request is "
                       "worked once the consumer confirms the agent or staff record signed "
                       "permission (`record_permission`).", current_status=request.status.value)
    mail_ids: list[int] = []
    if action == "deny":
        note = reason = _reason(note, "Denying a request")
        mail_ids = deny(work, request, reason, denial_reason or DenialReason.OTHER)
    request_service.transition(session, request, to, actor=work.actor, now=now, note=note)
    if action == "verify":
        mail_ids.extend(duplicates.on_verified(session, work.outbox, settings, request, now))
    session.commit()
    return Done(request, mail_ids)


def deny(work: fulfilment.Work, request: PrivacyRequest, reason: str,
         denial_reason: DenialReason) -> list[int]:
    """Record why `request` is denied and queue the denial's email, which says how to appeal
    and within how long the appeal is decided (the caller moves it to `rejected`); or, for a
    request whose one appeal was decided already (a grant reopened it), that it cannot be
    appealed again and where to complain instead."""
    session, settings, now = work.session, work.settings, work.now
    request.denial_reason = denial_reason
    rule = settings.jurisdiction_rules.get(request.jurisdiction)
    appeal = request.appeal
    mail = work.outbox.add(session, emails.request_denied(
        settings.mail_from, request.email, request.reference, request.type.value, reason,
        appeal_days=rule.appeal_days if rule else None,
        appealed=appeal.reference if appeal is not None else None,
        complaint_authority=rule.complaint_authority if rule else "",
        complaint_url=rule.complaint_url if rule else ""),
        kind="request_denied", now=now, not_after=now + NOTICE_WINDOW)
    copy = agent_requests.copy_to_agent(session, work.outbox, settings, request, "denied", now,
                                        reason=reason, denial_reason=denial_reason.value)
    return queued(mail.id, copy)


def queued(*mail_ids: int | None) -> list[int]:
    """The outbox ids of the mail queued, leaving out a copy that was not (None)."""
    return [mail_id for mail_id in mail_ids if mail_id is not None]


def send(outbox: Outbox, mail_ids: list[int], settings: Settings) -> None:
    """After the commit: hand the mail over, waiting at most MAIL_SEND_WAIT_SECONDS each (what
    is not handed over by then is retried by the outbox)."""
    for mail_id in mail_ids:
        outbox.send(mail_id, wait=settings.mail_send_wait_seconds)


def detail(session: Session, request: PrivacyRequest, settings: Settings, now: datetime
           ) -> dict[str, Any]:
    """The request page: requester, audit, linked conversations, exports, allowed actions."""
    linked = [] if request.erased_at else links.conversations_of(session, request.email)
    ids = [link.conversation_id for link in linked]
    handoff_counts: dict[str, int] = {
        conversation: int(count) for conversation, count in session.execute(
            select(Handoff.conversation_id, func.count()).where(
                Handoff.conversation_id.in_(ids)).group_by(Handoff.conversation_id))
    } if ids else {}
    exports = list(session.scalars(select(Export).where(Export.request_id == request.id)
                                   .order_by(Export.created_at)))
    downloads = {e.id: list(session.scalars(select(ExportDownload).where(
        ExportDownload.export_id == e.id).order_by(ExportDownload.id))) for e in exports}
    return {
        "request": request,
        "days_left": deadlines.days_left(request.due_at, now),
        # Read afresh: the session may hold the list as it was before the action.
        "audit": list(session.scalars(select(AuditEvent).where(
            AuditEvent.request_id == request.id).order_by(AuditEvent.id))),
        "conversations": [{"handle": handle(link.conversation_id),
                           "verified_at": link.verified_at,
                           "handoffs": int(handoff_counts.get(link.conversation_id, 0))}
                          for link in linked],
        "exports": [{"id": e.id, "created_at": e.created_at, "expires_at": e.expires_at,
                     "available": e.sealed is not None and e.expires_at > now,
                     "downloads": [{"at": d.downloaded_at, "format": d.format}
                                   for d in downloads[e.id]]} for e in exports],
        "actions": allowed_actions(request, settings, now),
        "agent_email": request.agent_email,
        "agent_permission": request.agent_permission,
        "awaiting_consumer": request.awaiting_consumer,
        "duplicate_of": request.duplicate_of,
        "receipt_confirmed_at": request.receipt_confirmed_at,
        "receipt_due": receipt_due(request, settings),
        "denial_reason": request.denial_reason,
        "partial": request.partial,
        "appeal": _appeal(request, settings, now),
    }


def receipt_due(request: PrivacyRequest, settings: Settings) -> date | None:
    """While receipt is not yet confirmed, the day its confirmation is due (the
    jurisdiction's business days after receipt); None once it is."""
    if request.receipt_confirmed_at is not None:
        return None
    rule = settings.jurisdiction_rules.get(request.jurisdiction)
    days = rule.receipt_business_days if rule else RECEIPT_BUSINESS_DAYS
    return deadlines.add_business_days(request.created_at.astimezone(timezone.utc).date(), days)


def _appeal(request: PrivacyRequest, settings: Settings, now: datetime
            ) -> dict[str, Any] | None:
    """The request's appeal as its page shows it, with what can be done to it now."""
    from privacy_backend.services import appeals

    appeal = request.appeal
    if appeal is None:
        return None
    return {"reference": appeal.reference, "status": appeal.status, "reason": appeal.reason,
            "channel": appeal.channel, "received_at": appeal.received_at,
            "due_at": appeal.due_at, "days_left": deadlines.days_left(appeal.due_at, now),
            "decided_at": appeal.decided_at, "decided_by": appeal.decided_by,
            "decision": appeal.decision, "erased_at": appeal.erased_at,
            "may_decide": appeals.is_open(appeal),
            "may_extend": appeals.may_extend(appeal, settings, now)}


SORTS = {
    "due_at": (PrivacyRequest.due_at, PrivacyRequest.id),
    "-due_at": (PrivacyRequest.due_at.desc(), PrivacyRequest.id.desc()),
    "created_at": (PrivacyRequest.created_at, PrivacyRequest.id),
    "-created_at": (PrivacyRequest.created_at.desc(), PrivacyRequest.id.desc()),
    "reference": (PrivacyRequest.reference,),
    "status": (PrivacyRequest.status, PrivacyRequest.due_at, PrivacyRequest.id),
    "type": (PrivacyRequest.type, PrivacyRequest.due_at, PrivacyRequest.id),
}
Sort = Literal["due_at", "-due_at", "created_at", "-created_at", "reference", "status", "type"]


@dataclass(frozen=True)
class Filters:
    status: RequestStatus | None = None
    type: str | None = None
    jurisdiction: str | None = None
    due_within_days: int | None = None  # open requests due by the end of that UTC day
    overdue: bool = False  # open requests past their due date
    email: str | None = None
    due_before: datetime | None = None  # any status
    sort: Sort = "due_at"
    limit: int = 50
    offset: int = 0


def search(session: Session, filters: Filters, now: datetime) -> tuple[int, list[PrivacyRequest]]:
    """The requests that match, sorted, one page of them; and how many match in all."""
    where: list[Any] = []
    if filters.status is not None:
        where.append(PrivacyRequest.status == filters.status)
    if filters.type is not None:
        where.append(PrivacyRequest.type == filters.type)
    if filters.jurisdiction is not None:
        where.append(PrivacyRequest.jurisdiction == filters.jurisdiction)
    if filters.email is not None:
        where.append(PrivacyRequest.email == filters.email)
    if filters.due_before is not None:
        where.append(PrivacyRequest.due_at < filters.due_before)
    if filters.overdue or filters.due_within_days is not None:
        where.append(PrivacyRequest.status.in_(request_service.OPEN_STATUSES))
    if filters.overdue:
        where.append(PrivacyRequest.due_at < now)
    if filters.due_within_days is not None:
        where.append(PrivacyRequest.due_at
                     < deadlines.end_of_day_after(now, filters.due_within_days))
    total = session.scalar(select(func.count()).select_from(PrivacyRequest).where(*where)) or 0
    page = session.scalars(select(PrivacyRequest).where(*where)
                           .order_by(*SORTS[filters.sort])
                           # The list shows each one's first request and appeal: one query.
                           .options(selectinload(PrivacyRequest.first_request),
                                    selectinload(PrivacyRequest.appeal))
                           .limit(filters.limit).offset(filters.offset))
    return int(total), list(page)
