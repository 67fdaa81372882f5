"""Privacy rights requests (`/api/v1/requests`)."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timezone
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Query, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_assistant.settings import normalise_email
from privacy_backend.api.codes import code_message, failure_error, mail_state, queue_code
from privacy_backend.api.deps import (
    NowDep,
    OutboxDep,
    SecretDep,
    SessionDep,
    SettingsDep,
    TrackerStoreDep,
)
from privacy_backend.core.errors import ApiError, not_found
from privacy_backend.core.models import (
    AuditEvent,
    PrivacyRequest,
    RequestStatus,
    RequestType,
    Verification,
    VerificationPurpose,
)
from privacy_backend.core.security import Caller, CallerDep, StaffDep
from privacy_backend.core.settings import Settings
from privacy_backend.mail.outbox import Outbox
from privacy_backend.schemas.requests import (
    AuditOut,
    CodeIn,
    CodeSent,
    ExtendIn,
    LookupIn,
    LookupOut,
    MailState,
    QueueView,
    RequestCreate,
    RequestCreated,
    RequestOut,
    RequestQueueItem,
    RequestQueueOut,
    RequestVerified,
    StatusUpdate,
)
from privacy_backend.services import deadlines, fulfilment, workbench
from privacy_backend.services import requests as svc
from privacy_backend.services import verification as codes

log = logging.getLogger(__name__)
router = APIRouter(prefix="/requests", tags=["requests"])

# The window of the queue's view `due` when none is given, in days.
DEFAULT_QUEUE_DAYS = 7

# What proves that a caller may read one request: a code confirmed for its address.
READ_PROOF = frozenset({VerificationPurpose.REQUEST, VerificationPurpose.STATUS_LOOKUP})

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=128,
           description="Retrying with the same key returns the same request (200)."),
]


def _issue_code(session: Session, request: PrivacyRequest, *, settings: Settings,
                secret: bytes, now: datetime, outbox: Outbox) -> tuple[Verification, int]:
    """Issue a code for the request, record it, and queue its email (sent after the commit);
    the verification and the outbox row's id."""
    verification, code = codes.issue(
        session, settings=settings, secret=secret, now=now, purpose=VerificationPurpose.REQUEST,
        email=request.email, conversation_id=request.conversation_id, request_id=request.id,
    )
    svc.record(session, request, actor="system", action="verification_code_sent", now=now,
               after={"verification_id": verification.id,
                      "expires_at": verification.expires_at.isoformat()})
    mail = queue_code(outbox, session, settings, now=now, verification=verification, code=code,
                      request=request)
    return verification, mail.id


def _send(outbox: Outbox, mail_id: int, settings: Settings) -> MailState:
    """After the commit: hand the code's email over, waiting at most MAIL_SEND_WAIT_SECONDS."""
    return mail_state(outbox.send(mail_id, wait=settings.mail_send_wait_seconds))


def _load(session: Session, reference: str, settings: Settings, now: datetime
          ) -> PrivacyRequest:
    request = svc.get_by_reference(session, reference[:32])
    if request is None:
        raise not_found("request")
    if svc.close_unverified(session, settings=settings, now=now, request=request):
        session.commit()
    return request


@router.post("", response_model=RequestCreated, status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "Replay of an earlier Idempotency-Key"}})
def create_request(body: RequestCreate, response: Response, session: SessionDep,
                   settings: SettingsDep, now: NowDep, outbox: OutboxDep, secret: SecretDep,
                   caller: CallerDep, idempotency_key: IdempotencyKey = None) -> RequestCreated:
    """File a request and queue its code's email in one transaction, then send the email.
    The request is kept whatever the mail relay does: `mail_status` says whether the email
    was handed over within MAIL_SEND_WAIT_SECONDS (`sent`) or is still being tried
    (`queued`). A replay sends no code; `code_expires_at` says whether the one issued before
    can still be typed, and `mail_status` where its email is.

    With `verification_id` (a code confirmed for this address, in this conversation, within
    VERIFIED_FOR_MINUTES) the request is filed verified and no code is sent; a replay that
    still awaits its code is verified the same way. An id that proves nothing: 403
    `verification_required`, nothing stored."""
    request, created = svc.create(session, body, settings=settings, now=now,
                                  idempotency_key=idempotency_key, actor=caller.actor)
    if body.verification_id is not None and request.status is RequestStatus.PENDING_VERIFICATION:
        return _verified_on_creation(session, request, body, created, response,
                                     settings=settings, now=now, caller=caller, outbox=outbox)
    if not created:
        response.status_code = status.HTTP_200_OK
        live = codes.live_for_request(session, request.id, now)
        mail = mail_state(Outbox.status_for(session, live.id)) if live else "none"
        return _created(request, code_sent=False, live=live, mail=mail)
    verification, mail_id = _issue_code(session, request, settings=settings, secret=secret,
                                        now=now, outbox=outbox)
    session.commit()
    response.headers["Location"] = f"/api/v1/requests/{request.reference}"
    log.info("privacy request %s created (%s, %s)", request.reference, request.type.value,
             request.jurisdiction)
    mail = _send(outbox, mail_id, settings)
    return _created(request, code_sent=mail == "sent", live=verification, mail=mail)


def _verified_on_creation(session: Session, request: PrivacyRequest, body: RequestCreate,
                          created: bool, response: Response, *, settings: Settings,
                          now: datetime, caller: Caller, outbox: Outbox) -> RequestCreated:
    try:
        proof = codes.proof(session, body.verification_id, email=request.email,
                            conversation_id=body.conversation_id, settings=settings, now=now)
        svc.transition(session, request, RequestStatus.VERIFIED, actor=caller.actor, now=now,
                       note=f"email verified by a one-time code confirmed earlier "
                            f"(verification {proof.id})")
    except ApiError:
        session.rollback()
        raise
    receipt = workbench.receipt(session, outbox, settings, request, now)
    session.commit()
    outbox.send_later(receipt)
    if created:
        response.headers["Location"] = f"/api/v1/requests/{request.reference}"
        log.info("privacy request %s created verified (%s, %s)", request.reference,
                 request.type.value, request.jurisdiction)
    else:
        response.status_code = status.HTTP_200_OK
    return _created(request, code_sent=False, live=None, mail="none")


def _created(request: PrivacyRequest, *, code_sent: bool, live: Verification | None,
             mail: MailState) -> RequestCreated:
    return RequestCreated(**RequestOut.model_validate(request).model_dump(), code_sent=code_sent,
                          code_expires_at=live.expires_at if live else None,
                          mail_status=mail if live else "none")


@router.get("", response_model=list[RequestOut])
def list_requests(
    session: SessionDep, settings: SettingsDep, now: NowDep, _: StaffDep,
    email: Annotated[str | None, Query(max_length=254)] = None,
    type: RequestType | None = None,
    status: RequestStatus | None = None,
    jurisdiction: Annotated[str | None, Query(max_length=16)] = None,
    due_before: datetime | date | None = None,
    due_within_days: Annotated[int | None, Query(
        ge=0, le=366, description="Open requests due by the end of the UTC day that many "
                                  "days from now, overdue ones included")] = None,
    overdue: Annotated[bool, Query(description="Open requests past their due date")] = False,
    sort: workbench.Sort = "due_at",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[PrivacyRequest]:
    """Staff's listing, filtered like the console's Requests view (the same query)."""
    if svc.close_unverified(session, settings=settings, now=now):
        session.commit()
    if due_before is not None:
        if not isinstance(due_before, datetime):
            due_before = datetime.combine(due_before, time.min)
        if due_before.tzinfo is None:
            due_before = due_before.replace(tzinfo=timezone.utc)
    found = workbench.search(session, workbench.Filters(
        status=status, type=type, jurisdiction=jurisdiction, email=normalise_email(email)
        if email else None, due_before=due_before, due_within_days=due_within_days,
        overdue=overdue, sort=sort, limit=limit, offset=offset), now)[1]
    return found


@router.post("/lookup", response_model=LookupOut, status_code=status.HTTP_202_ACCEPTED)
def lookup(body: LookupIn, background: BackgroundTasks, session: SessionDep,
           settings: SettingsDep, now: NowDep, outbox: OutboxDep, secret: SecretDep
           ) -> LookupOut:
    """Start a status lookup. The answer has the same shape, status, limits and work before
    it whether or not the reference and email match (one verification row, one commit);
    only a match gets a code, whose email is queued and sent after the answer. A lookup that
    matches nothing gets a verification without a code, which nothing confirms."""
    request = svc.get_by_reference(session, body.reference)
    purpose = VerificationPurpose.STATUS_LOOKUP
    if request is None or request.email != body.email:
        verification = codes.issue_unsent(session, settings=settings, now=now, purpose=purpose,
                                          email=body.email, conversation_id=body.conversation_id)
        session.commit()
        return LookupOut(verification_id=verification.id, expires_at=verification.expires_at)
    verification, code = codes.issue(
        session, settings=settings, secret=secret, now=now, purpose=purpose, email=body.email,
        conversation_id=body.conversation_id, request_id=request.id,
    )
    session.commit()
    background.add_task(outbox.queue_and_send, code_message(settings, verification, code, request),
                        kind="verification_code", now=now, not_after=verification.expires_at,
                        verification_id=verification.id)
    return LookupOut(verification_id=verification.id, expires_at=verification.expires_at)


def _bad_query(field: str, message: str) -> ApiError:
    """A 422 shaped like the ones FastAPI's own validation gives."""
    return ApiError(422, "validation_failed", f"Invalid query.{field}: {message}",
                    details=[{"field": f"query.{field}", "message": message,
                              "type": "value_error"}])


@router.get("/queue", response_model=RequestQueueOut)
def request_queue(
    session: SessionDep, settings: SettingsDep, now: NowDep, _: CallerDep,
    view: Annotated[QueueView | None, Query(
        description="`due` (the default), `overdue`, or `reference` (the default when a "
                    "reference is given)")] = None,
    days: Annotated[int | None, Query(
        ge=1, le=90, description="View `due` only: the window in days (default 7)")] = None,
    reference: Annotated[str | None, Query(
        min_length=1, max_length=32, description="View `reference` only: e.g. PR-7KQ2-M9XD "
                                                 "(as the lookup takes it)")] = None,
) -> RequestQueueOut:
    """The privacy team's queue, for the assistant (the Slack bot answers the team's
    "due this week", "overdue", "status PR-…" with it) and for staff. Each request shows
    only its reference, type, status, jurisdiction, due date and days left: never who made
    it, their address, details, conversation or audit trail.

    - `due`: open requests (pending verification, verified or in progress) due by the end of
      the UTC day `days` days from now (default 7), **overdue ones included** (negative
      `days_left`, listed first): the whole worklist to answer within the window.
    - `overdue`: open requests whose due date has passed.
    - `reference`: that one request, whatever its status; 404 `not_found` if unknown.

    Soonest due first, at most 50 (`total` counts them all). Dates are reckoned in UTC from
    the backend's clock (`as_of`). Any other input, or a parameter that does not belong to
    the view, is a 422."""
    if view is None:
        view = "reference" if reference is not None else "due"
    if view == "reference" and reference is None:
        raise _bad_query("reference", "view 'reference' needs a reference")
    if view != "reference" and reference is not None:
        raise _bad_query("reference", f"a reference does not go with view '{view}'")
    if view != "due" and days is not None:
        raise _bad_query("days", f"days goes with view 'due' only, not '{view}'")
    if reference is not None:  # view `reference`, as checked above
        found = [_load(session, reference, settings, now)]
        total = 1
    else:
        if svc.close_unverified(session, settings=settings, now=now):
            session.commit()
        total, found = svc.queue(session, overdue_only=view == "overdue", now=now,
                                 days=days or DEFAULT_QUEUE_DAYS)
    return RequestQueueOut(
        view=view, as_of=now, days=(days or DEFAULT_QUEUE_DAYS) if view == "due" else None,
        total=total, items=[RequestQueueItem(
            reference=r.reference, request_type=r.type, status=r.status,
            jurisdiction=r.jurisdiction, due_at=r.due_at,
            days_left=deadlines.days_left(r.due_at, now)) for r in found])


@router.get("/{reference}", response_model=RequestOut)
def get_request(
    reference: str, session: SessionDep, settings: SettingsDep, now: NowDep, caller: CallerDep,
    verification_id: Annotated[str | None, Query(
        max_length=64, description="The assistant's proof: a request or status-lookup code "
                                   "confirmed for this request's address within "
                                   "VERIFIED_FOR_MINUTES. Staff need none.")] = None,
    conversation_id: Annotated[str | None, Query(max_length=128)] = None,
) -> PrivacyRequest:
    """Staff read any request; the assistant only one whose address it proves (else 403
    `verification_required`, the same for a request that does not exist)."""
    if caller.is_staff:
        return _load(session, reference, settings, now)
    request = svc.get_by_reference(session, reference[:32])
    # Without a request, the proof is checked against no address: the 403 looks the same.
    codes.proof(session, verification_id, email=request.email if request else "",
                conversation_id=conversation_id, settings=settings, now=now,
                purposes=READ_PROOF)
    return _load(session, reference, settings, now)


@router.patch("/{reference}", response_model=RequestOut)
def update_status(reference: str, body: StatusUpdate, session: SessionDep,
                  settings: SettingsDep, now: NowDep, outbox: OutboxDep,
                  tracker_store: TrackerStoreDep, caller: StaffDep) -> PrivacyRequest:
    """Move a request along its status graph, as the console's workbench does: `verified`
    (emails the confirmation of receipt), `in_progress`, `completed` (fulfils it first: an
    export package for know, access and portability, the erasure for a deletion; a
    correction needs a `note` saying what was corrected) or `rejected` (needs a `note`, the
    reason, which is emailed). 409 when the graph does not allow it; nothing changes then."""
    request = _load(session, reference, settings, now)
    work = fulfilment.Work(session=session, settings=settings, now=now, outbox=outbox,
                           tracker_store=tracker_store, actor=caller.actor)
    done = workbench.act(work, request, workbench.STATUS_ACTION[RequestStatus(body.status)],
                         note=body.note)
    workbench.send(outbox, done, settings)
    return done.request


def _require_awaiting_verification(request: PrivacyRequest) -> None:
    """A code can be checked or sent again only while the request waits for one (else 409)."""
    if request.status is not RequestStatus.PENDING_VERIFICATION:
        raise ApiError(409, "illegal_transition",
                       f"This request is '{request.status.value}', not awaiting verification.",
                       current_status=request.status.value)


@router.post("/{reference}/verify", response_model=RequestVerified)
def verify(reference: str, body: CodeIn, session: SessionDep, settings: SettingsDep,
           now: NowDep, secret: SecretDep, outbox: OutboxDep) -> RequestVerified:
    """Check the request's code. The answer names the verification it confirmed: the
    conversation's proof of the address for VERIFIED_FOR_MINUTES. The confirmation of
    receipt is emailed in the background."""
    request = _load(session, reference, settings, now)
    _require_awaiting_verification(request)
    verification = codes.latest_for_request(session, request.id)
    if verification is None:
        raise ApiError(410, "code_expired", "No code is active. Ask for a new code.")
    try:
        codes.check(session, verification, body.code, settings=settings, secret=secret,
                    now=now)
    except codes.VerificationFailure as failure:
        raise failure_error(failure, settings) from None
    svc.transition(session, request, RequestStatus.VERIFIED, actor="requester", now=now,
                   note="email verified with a one-time code")
    receipt = workbench.receipt(session, outbox, settings, request, now)
    session.commit()
    outbox.send_later(receipt)
    return RequestVerified(**RequestOut.model_validate(request).model_dump(),
                           verification_id=verification.id)


@router.post("/{reference}/resend-code", response_model=CodeSent,
             status_code=status.HTTP_201_CREATED)
def resend_code(reference: str, session: SessionDep, settings: SettingsDep, now: NowDep,
                outbox: OutboxDep, secret: SecretDep) -> CodeSent:
    request = _load(session, reference, settings, now)
    _require_awaiting_verification(request)
    verification, mail_id = _issue_code(session, request, settings=settings, secret=secret,
                                        now=now, outbox=outbox)
    session.commit()
    return CodeSent.of(verification.id, verification.expires_at, _send(outbox, mail_id, settings))


@router.post("/{reference}/extend", response_model=RequestOut)
def extend(reference: str, body: ExtendIn, session: SessionDep, settings: SettingsDep,
           now: NowDep, outbox: OutboxDep, tracker_store: TrackerStoreDep,
           caller: StaffDep) -> PrivacyRequest:
    """Use the jurisdiction's extension (once) and notify the requester: the notice is queued
    with the extension, in one transaction, and sent after it, waiting at most
    MAIL_SEND_WAIT_SECONDS (what is not handed over by then is retried for three days)."""
    request = _load(session, reference, settings, now)
    work = fulfilment.Work(session=session, settings=settings, now=now, outbox=outbox,
                           tracker_store=tracker_store, actor=caller.actor)
    done = workbench.act(work, request, "extend", note=body.reason)
    workbench.send(outbox, done, settings)
    return done.request


@router.get("/{reference}/audit", response_model=list[AuditOut])
def audit(reference: str, session: SessionDep, settings: SettingsDep, now: NowDep,
          _: StaffDep) -> list[AuditEvent]:
    request = _load(session, reference, settings, now)
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.request_id == request.id).order_by(AuditEvent.id)
    ))
