"""Appeals of denied requests (Virginia, Colorado, Connecticut, Texas, Oregon, Montana,
Nebraska and others; the business's own policy where a law gives none): filing one, staff's
written decision, the one extension some states allow, and the list staff work from.

- **Filing** (`file`): the person appeals in the chat (the assistant, with its proof of the
  request's address or of its agent's, exactly as it reads a request) or by replying to the
  denial (staff file it for them). Only a `rejected` request can be appealed, once: filing
  again returns the same appeal. It is due at the end of the UTC day `appeal_days` (the
  request's jurisdiction, `core.jurisdictions`) after its receipt.
  An authorized agent's request denied because the consumer said they did not authorise
  the agent (`agent_not_authorized`) is appealed by the consumer only: the assistant's
  proof must be of the consumer's address, not the agent's (403 `verification_required`).
- **Deciding** (`decide`): in writing, the reason required and emailed; the appeal is
  locked first, so two staff deciding at once cannot both succeed (the second gets 409
  `appeal_decided`). A grant reopens the request (`rejected` → `in_progress`, outside the
  status graph, recorded `reopened_on_appeal`; it is then due when the appeal was); a
  denial tells the person where to complain (the jurisdiction's `complaint_authority` and
  `complaint_url`).
- **What a grant cannot do**: make workable a request nobody proved, that is one never
  verified (`verified_at` unset) or an agent's request the consumer never permitted
  (`agent_permission` unset). The grant is refused (409 `not_reopenable`, nothing changes)
  rather than sending it back to `pending_verification`: its window to verify runs from
  receipt (UNVERIFIED_CLOSE_DAYS, and the consumer's link with it), so the hourly close
  would end it again unanswered, and only the proofs of the status graph (the code, the
  consumer's confirmation, signed permission) make a request workable. Staff deny the
  appeal instead, saying how to file again and prove the address or the permission.
- **One appeal per request**: a request denied again after its appeal was decided is not
  appealed twice; its denial says so and names where to complain (`workbench.deny`).
- **Extending** (`extend`): once, where the jurisdiction gives `appeal_extension_days`
  (Colorado), and only before the appeal is due; the person is told why.

Each step is recorded in the request's audit and emailed to the person (and copied to an
authorized agent); the caller sends the returned mail after the commit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from privacy_assistant.api_models.appeals import AppealCreate
from privacy_backend.core.errors import ApiError, not_found
from privacy_backend.core.jurisdictions import DeadlineRule
from privacy_backend.core.models import (
    Appeal,
    AppealStatus,
    AuditEvent,
    DenialReason,
    PrivacyRequest,
    RequestStatus,
)
from privacy_backend.core.settings import Settings
from privacy_backend.mail import messages as emails
from privacy_backend.mail.outbox import Outbox
from privacy_backend.services import agent_requests, deadlines, fulfilment
from privacy_backend.services.references import random_chars
from privacy_backend.services.requests import duplicates, filing, records
from privacy_backend.services.workbench import queued

Outcome = Literal["granted", "denied"]
# When no jurisdiction's row is found (a table replaced without it): the rule's default.
DEFAULT_APPEAL_DAYS: int = DeadlineRule.model_fields["appeal_days"].default
NOTICE_WINDOW = fulfilment.NOTICE_WINDOW


def new_reference() -> str:
    chars = random_chars(8)
    return f"AP-{chars[:4]}-{chars[4:]}"


def normalize_reference(value: str) -> str:
    """Accept `ap 7kq2 m9xd`, `AP7KQ2M9XD`, ... and return `AP-7KQ2-M9XD`."""
    compact = "".join(ch for ch in value.upper() if ch.isalnum()).removeprefix("AP")
    if len(compact) != 8:
        return value.strip().upper()
    return f"AP-{compact[:4]}-{compact[4:]}"


def get_or_404(session: Session, reference: str) -> Appeal:
    """The appeal with that reference (as a person types it), or 404 `not_found`."""
    appeal = session.scalar(select(Appeal).where(
        Appeal.reference == normalize_reference(reference[:32])))
    if appeal is None:
        raise not_found("appeal")
    return appeal


def search(session: Session, *, status: AppealStatus | None = None, limit: int = 50,
           offset: int = 0) -> tuple[int, list[Appeal]]:
    """The appeals (of `status`, if given), the soonest due first, one page; and how many
    match in all."""
    where = [Appeal.status == status] if status is not None else []
    total = session.scalar(select(func.count()).select_from(Appeal).where(*where)) or 0
    page = session.scalars(select(Appeal).where(*where).order_by(Appeal.due_at, Appeal.id)
                           .options(selectinload(Appeal.request))  # one query, not one a row
                           .limit(limit).offset(offset))
    return int(total), list(page)


def is_open(appeal: Appeal) -> bool:
    return appeal.status is AppealStatus.OPEN


def _extended(session: Session, appeal: Appeal) -> bool:
    return session.scalar(select(AuditEvent.id).where(
        AuditEvent.request_id == appeal.request_id,
        AuditEvent.action == "appeal_extended").limit(1)) is not None


def may_extend(appeal: Appeal, settings: Settings, now: datetime) -> bool:
    """Whether the appeal's time can still be extended: open, not yet extended, before it
    is due, where the jurisdiction allows an extension."""
    rule = settings.jurisdiction_rules.get(appeal.request.jurisdiction)
    session = Session.object_session(appeal)
    return (is_open(appeal) and rule is not None and rule.appeal_extension_days > 0
            and now <= appeal.due_at
            and not (session is not None and _extended(session, appeal)))


def file(session: Session, outbox: Outbox, settings: Settings, reference: str,
         body: AppealCreate, *, staff: bool, now: datetime
         ) -> tuple[Appeal, bool, list[int]]:
    """File the appeal of a denied request and commit: (the appeal, whether this call
    created it, the mail to send after the commit). Staff need no proof; the assistant
    proves the request's address or its agent's (403 `verification_required`, the same for
    a request that does not exist), the consumer's own for a denial of the agent
    (`agent_not_authorized`). 409 `not_appealable` unless the request is `rejected`."""
    if staff:
        request = records.get_or_404(session, reference)
    else:
        found = records.get_by_reference(session, reference[:32])
        proof = filing.prove_reader(session, found, body.verification_id,
                                    conversation_id=body.conversation_id, settings=settings,
                                    now=now)
        if found is None:  # no confirmed code is for no address: the proof refused already
            raise not_found("request")
        request = found
        if (request.denial_reason is DenialReason.AGENT_NOT_AUTHORIZED
                and proof.email != request.email):
            # The consumer refused the agent: the agent may not appeal that refusal.
            raise ApiError(403, "verification_required", "Proof that the address was "
                           "verified is needed: only the consumer may appeal their refusal "
                           "of the agent, with a code confirmed for their own address.")
    if request.status is not RequestStatus.REJECTED:
        raise ApiError(409, "not_appealable", f"Only a denied request can be appealed; "
                       f"{request.reference} is '{request.status.value}'.",
                       current_status=request.status.value)
    existing = session.scalar(select(Appeal).where(Appeal.request_id == request.id))
    if existing is not None:
        return existing, False, []
    rule = settings.jurisdiction_rules.get(request.jurisdiction)
    days = rule.appeal_days if rule else DEFAULT_APPEAL_DAYS
    appeal = Appeal(
        reference=new_reference(), request_id=request.id, status=AppealStatus.OPEN,
        reason=body.reason.strip(), channel=body.channel, conversation_id=body.conversation_id,
        received_at=now,
        due_at=deadlines.end_of_day(now.astimezone(timezone.utc).date() + timedelta(days=days)))
    session.add(appeal)
    try:
        session.flush()
    except IntegrityError:  # the same request's appeal, filed at the same moment
        session.rollback()
        return session.scalars(select(Appeal).where(Appeal.request_id == request.id)).one(), \
            False, []
    records.record(session, request, actor="staff" if staff else "requester",
                   action="appeal_filed", now=now,
                   after={"appeal": appeal.reference, "channel": appeal.channel.value,
                          "due_at": appeal.due_at.isoformat()})
    mail_ids: list[int] = []
    if request.erased_at is None:  # an erased request has no address left to write to
        mail_ids = queued(outbox.add(session, emails.appeal_received(
            settings.mail_from, request.email, appeal.reference, request.reference,
            appeal.due_at), kind="appeal_received", now=now, not_after=now + NOTICE_WINDOW).id,
            agent_requests.copy_to_agent(session, outbox, settings, request,
                                         "appeal_received", now, appeal=appeal.reference,
                                         due_at=appeal.due_at))
    session.commit()
    return appeal, True, mail_ids


def _open(work: fulfilment.Work, reference: str) -> Appeal:
    """The appeal, locked until the commit and read afresh (409 `appeal_decided` unless it
    is still open): of two staff deciding at once, the second waits and is refused."""
    appeal = get_or_404(work.session, reference)
    work.session.refresh(appeal, with_for_update=True)
    if not is_open(appeal):
        raise ApiError(409, "appeal_decided", f"Appeal {appeal.reference} was already "
                       f"decided ({appeal.status.value}).", current_status=appeal.status.value)
    return appeal


def _written(reason: str | None, what: str) -> str:
    if not (reason and reason.strip()):
        raise ApiError(422, "reason_required", f"{what} needs a written reason: it is kept and "
                       "emailed to the person.")
    return reason.strip()


def decide(work: fulfilment.Work, reference: str, outcome: Outcome, reason: str
           ) -> tuple[Appeal, list[int]]:
    """Decide the appeal in writing and commit (409 `appeal_decided` once decided; 422
    without a reason). A grant reopens the request, due when the appeal was (409
    `not_reopenable` for a request never verified or whose agent was never permitted)."""
    session, settings, now = work.session, work.settings, work.now
    appeal = _open(work, reference)
    reason = _written(reason, "A decision on an appeal")
    request = appeal.request
    granted = outcome == "granted"
    if granted:
        _reopen(work, request, appeal)
    appeal.status = AppealStatus.GRANTED if granted else AppealStatus.DENIED
    appeal.decided_at, appeal.decided_by, appeal.decision = now, work.actor, reason
    records.record(session, request, actor=work.actor, action="appeal_decided", now=now,
                   after={"appeal": appeal.reference, "outcome": outcome}, note=reason)
    mail_ids: list[int] = []
    if request.erased_at is None:
        rule = settings.jurisdiction_rules.get(request.jurisdiction)
        mail_ids = queued(work.outbox.add(session, emails.appeal_decided(
            settings.mail_from, request.email, appeal.reference, request.reference,
            granted=granted, reason=reason, due_at=request.due_at if granted else None,
            complaint_authority=rule.complaint_authority if rule else "",
            complaint_url=rule.complaint_url if rule else ""),
            kind="appeal_decided", now=now, not_after=now + NOTICE_WINDOW).id,
            agent_requests.copy_to_agent(session, work.outbox, settings, request,
                                         "appeal_decided", now, appeal=appeal.reference,
                                         outcome=outcome, reason=reason))
    session.commit()
    return appeal, mail_ids


def _reopen(work: fulfilment.Work, request: PrivacyRequest, appeal: Appeal) -> None:
    """A granted appeal puts the denied request back to work (not through the status graph,
    where a denial is final): in progress, due when the appeal was, no longer closed. Only a
    request someone proved: verified, and for an agent's request permitted by the consumer
    (409 `not_reopenable` otherwise; the module's docstring says why not back to
    `pending_verification`). Another open request of the same type for the same address,
    filed meanwhile, is named in the audit for staff to mark one a duplicate."""
    if request.erased_at is not None:
        raise ApiError(409, "request_erased", f"{request.reference} was erased with its "
                       "address by a deletion: there is nobody to answer. Deny the appeal "
                       "with the reason instead.")
    if request.status is not RequestStatus.REJECTED:
        raise ApiError(409, "illegal_transition", f"{request.reference} is "
                       f"'{request.status.value}', not denied.",
                       current_status=request.status.value)
    unproved = _unproved(request)
    if unproved:
        raise ApiError(409, "not_reopenable", f"{request.reference} {unproved}: a granted "
                       "appeal cannot make it workable. Deny the appeal with the reason, "
                       "saying how to file again and prove it.",
                       current_status=request.status.value)
    before = {"status": request.status.value, "due_at": request.due_at.isoformat(),
              "denial_reason": request.denial_reason.value if request.denial_reason else None}
    request.status = RequestStatus.IN_PROGRESS
    request.closed_at, request.denial_reason = None, None
    request.due_at, request.updated_at = appeal.due_at, work.now
    after = {"status": request.status.value, "due_at": request.due_at.isoformat(),
             "appeal": appeal.reference}
    note = None
    other = duplicates.first_of(work.session, request)
    if other is not None:  # filed while the appeal was pending: two clocks for one request
        after["open_also"] = other.reference
        note = (f"{other.reference} ({other.type.value}, the same address) is open too: if "
                "one repeats the other, mark it a duplicate.")
    records.record(work.session, request, actor=work.actor, action="reopened_on_appeal",
                   now=work.now, before=before, after=after, note=note)


def _unproved(request: PrivacyRequest) -> str | None:
    """Why nobody proved `request` (never verified; an agent's the consumer never
    permitted), or None."""
    if request.verified_at is None:
        return "was never verified"
    if request.agent_email is not None and request.agent_permission is None:
        return "is an agent's request the consumer never permitted"
    return None


def extend(work: fulfilment.Work, reference: str, reason: str) -> tuple[Appeal, list[int]]:
    """Extend the appeal's time once by the jurisdiction's `appeal_extension_days`, with the
    reason emailed, and commit (409 where none is allowed, once extended, or once due)."""
    session, settings, now = work.session, work.settings, work.now
    appeal = _open(work, reference)
    reason = _written(reason, "An extension")
    request = appeal.request
    rule = settings.jurisdiction_rules.get(request.jurisdiction)
    if rule is None or rule.appeal_extension_days == 0:
        raise ApiError(409, "extension_not_allowed", f"An appeal under {request.jurisdiction} "
                       "cannot be extended.")
    if _extended(session, appeal):
        raise ApiError(409, "extension_not_allowed", f"Appeal {appeal.reference} was extended "
                       "already: once only.")
    if now > appeal.due_at:
        raise ApiError(409, "extension_too_late", f"Appeal {appeal.reference} was due on "
                       f"{appeal.due_at.date().isoformat()}: an extension needs notice before.")
    before = appeal.due_at
    appeal.due_at = deadlines.end_of_day(before.astimezone(timezone.utc).date()
                                         + timedelta(days=rule.appeal_extension_days))
    records.record(session, request, actor=work.actor, action="appeal_extended", now=now,
                   before={"due_at": before.isoformat()},
                   after={"appeal": appeal.reference, "due_at": appeal.due_at.isoformat()},
                   note=reason)
    mail_ids: list[int] = []
    if request.erased_at is None:
        mail_ids = queued(work.outbox.add(session, emails.appeal_extended(
            settings.mail_from, request.email, appeal.reference, request.reference,
            appeal.due_at, reason), kind="appeal_extended", now=now,
            not_after=now + NOTICE_WINDOW).id,
            agent_requests.copy_to_agent(session, work.outbox, settings, request,
                                         "appeal_extended", now, appeal=appeal.reference,
                                         due_at=appeal.due_at, reason=reason))
    session.commit()
    return appeal, mail_ids
