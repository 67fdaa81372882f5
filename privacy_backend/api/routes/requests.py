"""Privacy rights requests (`/api/v1/requests`). Each route parses the call, does it with one
function of `services.requests` (`filing` for the requester's side, `staff` for staff's,
`records` re-exported by the package) or of `services.workbench`, and shapes the answer."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Response, status
from pydantic import BeforeValidator, Field

from privacy_assistant.code_mask import CODE_DIGITS
from privacy_assistant.settings import normalise_email
from privacy_backend.api.deps import (
    NowDep,
    OutboxDep,
    SecretDep,
    SessionDep,
    SettingsDep,
    TrackerStoreDep,
)
from privacy_backend.core.errors import bad_query
from privacy_backend.core.models import AuditEvent, PrivacyRequest, RequestStatus, RequestType
from privacy_backend.core.security import CallerDep, StaffDep
from privacy_backend.schemas.common import StrictIn
from privacy_backend.schemas.requests import (
    AuditOut,
    CodeIn,
    CodeSent,
    ExtendIn,
    LookupIn,
    LookupOut,
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
from privacy_backend.services import requests as request_service
from privacy_backend.services.requests import filing, staff

router = APIRouter(prefix="/requests", tags=["requests"])

# The window of the queue's view `due` when none is given, in days.
DEFAULT_QUEUE_DAYS = 7

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=128,
           description="Retrying with the same key returns the same request (200)."),
]


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
    filed = filing.file_request(session, outbox, body, settings=settings, secret=secret,
                                now=now, idempotency_key=idempotency_key, actor=caller.actor)
    if filed.created:
        response.headers["Location"] = f"/api/v1/requests/{filed.request.reference}"
    else:
        response.status_code = status.HTTP_200_OK
    return RequestCreated(
        **RequestOut.model_validate(filed.request).model_dump(), code_sent=filed.code_sent,
        code_expires_at=filed.live.expires_at if filed.live else None,
        code_digits=filed.live.code_digits if filed.live else CODE_DIGITS,
        mail_status=filed.mail if filed.live else "none")


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _iso_only(value: object) -> object:
    """A date or date-time as ISO 8601 only: pydantic would read a bare number as a Unix
    time, which the schema does not offer and nobody filtering by a due date means."""
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        raise ValueError("expected an ISO 8601 date or date-time, such as 2026-12-31")
    return value


@router.get("", response_model=list[RequestOut])
def list_requests(
    session: SessionDep, now: NowDep, _: StaffDep,
    email: Annotated[str | None, Query(max_length=254)] = None,
    type: RequestType | None = None,
    status: RequestStatus | None = None,
    jurisdiction: Annotated[str | None, Query(max_length=16)] = None,
    due_before: Annotated[datetime | date | None, BeforeValidator(_iso_only)] = None,
    due_within_days: Annotated[int | None, Query(
        ge=0, le=366, description="Open requests due by the end of the UTC day that many "
                                  "days from now, overdue ones included")] = None,
    overdue: Annotated[bool, Query(description="Open requests past their due date")] = False,
    sort: workbench.Sort = "due_at",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[PrivacyRequest]:
    """Staff's listing, filtered like the console's Requests view (the same query)."""
    if due_before is not None:
        if not isinstance(due_before, datetime):
            due_before = datetime.combine(due_before, time.min)
        if due_before.tzinfo is None:
            due_before = due_before.replace(tzinfo=timezone.utc)
    return workbench.search(session, workbench.Filters(
        status=status, type=type, jurisdiction=jurisdiction, email=normalise_email(email)
        if email else None, due_before=due_before, due_within_days=due_within_days,
        overdue=overdue, sort=sort, limit=limit, offset=offset), now)[1]


@router.post("/lookup", response_model=LookupOut, status_code=status.HTTP_202_ACCEPTED)
def lookup(body: LookupIn, background: BackgroundTasks, session: SessionDep,
           settings: SettingsDep, now: NowDep, outbox: OutboxDep, secret: SecretDep
           ) -> LookupOut:
    """Start a status lookup. The answer has the same shape, status, limits and work before
    it whether or not the reference and email match (one verification row, one commit);
    only a match gets a code, whose email is queued and sent after the answer. A lookup that
    matches nothing gets a verification without a code, which nothing confirms."""
    started = filing.start_lookup(session, outbox, reference=body.reference, email=body.email,
                                  conversation_id=body.conversation_id, settings=settings,
                                  secret=secret, now=now)
    if started.send_after is not None:
        background.add_task(started.send_after)
    return LookupOut(verification_id=started.verification.id,
                     expires_at=started.verification.expires_at)


@router.get("/queue", response_model=RequestQueueOut)
def request_queue(
    session: SessionDep, now: NowDep, _: CallerDep,
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
        raise bad_query("reference", "view 'reference' needs a reference")
    if view != "reference" and reference is not None:
        raise bad_query("reference", f"a reference does not go with view '{view}'")
    if view != "due" and days is not None:
        raise bad_query("days", f"days goes with view 'due' only, not '{view}'")
    if reference is not None:  # view `reference`, as checked above
        total, found = 1, [request_service.get_or_404(session, reference)]
    else:
        total, found = request_service.queue(session, overdue_only=view == "overdue", now=now,
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
) -> RequestOut:
    """Staff read any request; the assistant only one whose address it proves (else 403
    `verification_required`, the same for a request that does not exist)."""
    return filing.read_request(session, reference, staff=caller.is_staff,
                               verification_id=verification_id,
                               conversation_id=conversation_id, settings=settings, now=now)


def staff_work(session: SessionDep, settings: SettingsDep, now: NowDep, outbox: OutboxDep,
               tracker_store: TrackerStoreDep, caller: StaffDep) -> fulfilment.Work:
    """What a staff action works with, recorded under the staff credential (403 for any
    other caller)."""
    return fulfilment.Work(session=session, settings=settings, now=now, outbox=outbox,
                           tracker_store=tracker_store, actor=caller.actor)


StaffWorkDep = Annotated[fulfilment.Work, Depends(staff_work)]


@router.patch("/{reference}", response_model=RequestOut)
def update_status(reference: str, body: StatusUpdate, work: StaffWorkDep) -> PrivacyRequest:
    """Move a request along its status graph, as the console's workbench does: `verified`
    (emails the confirmation of receipt, or, for a second open request of the same type and
    address, makes it a duplicate), `in_progress`, `completed` (fulfils it first: an
    export package for know, access and portability, the erasure for a deletion; a
    correction needs a `note` saying what was corrected; `partial` needs a `note` saying what
    was withheld and why), `rejected` (needs a `note`, the reason, which is emailed with how
    to appeal; `denial_reason` its kind, `other` by default) or `duplicate` (`duplicate_of`:
    the first request, of the same type, not itself a duplicate; 422 `bad_duplicate`
    otherwise; the person is told). An authorized agent's request is verified only by the
    consumer's confirmation or signed permission (`/agent-permission`; 409
    `agent_permission_required`). 409 when the graph does not allow it; nothing changes
    then."""
    return staff.act(work, reference, workbench.STATUS_ACTION[RequestStatus(body.status)],
                     note=body.note, denial_reason=body.denial_reason, partial=body.partial,
                     duplicate_of=body.duplicate_of)


@router.post("/{reference}/verify", response_model=RequestVerified)
def verify(reference: str, body: CodeIn, session: SessionDep, settings: SettingsDep,
           now: NowDep, secret: SecretDep, outbox: OutboxDep) -> RequestVerified:
    """Check the request's code. The answer names the verification it confirmed: the
    conversation's proof of the address for VERIFIED_FOR_MINUTES. The confirmation of
    receipt is emailed in the background."""
    request, confirmed = filing.verify_request(session, outbox, reference, body.code,
                                               settings=settings, secret=secret, now=now)
    return RequestVerified(**RequestOut.model_validate(request).model_dump(),
                           verification_id=confirmed.id)


@router.post("/{reference}/resend-code", response_model=CodeSent,
             status_code=status.HTTP_201_CREATED)
def resend_code(reference: str, session: SessionDep, settings: SettingsDep, now: NowDep,
                outbox: OutboxDep, secret: SecretDep) -> CodeSent:
    issued, mail = filing.resend_code(session, outbox, reference, settings=settings,
                                      secret=secret, now=now)
    return CodeSent.of(issued.id, issued.expires_at, mail, issued.code_digits)


@router.post("/{reference}/extend", response_model=RequestOut)
def extend(reference: str, body: ExtendIn, work: StaffWorkDep) -> PrivacyRequest:
    """Use the jurisdiction's extension (once) and notify the requester: the notice is queued
    with the extension, in one transaction, and sent after it, waiting at most
    MAIL_SEND_WAIT_SECONDS (what is not handed over by then is retried for three days)."""
    return staff.act(work, reference, "extend", note=body.reason)


class AgentPermissionIn(StrictIn):
    # Bounded only: a missing or blank note is the service's 422 `reason_required`, as in
    # the workbench.
    note: str | None = Field(default=None, max_length=1000, description="What was received "
                             "from whom, and where it is kept")


@router.post("/{reference}/agent-permission", response_model=RequestOut)
def agent_permission(reference: str, body: AgentPermissionIn, work: StaffWorkDep
                     ) -> PrivacyRequest:
    """Record that staff hold the consumer's signed permission for the authorized agent
    (CCPA regs §7063(a)(1)), as the workbench's `record_permission` does: the `note` (what was
    received from whom, where it is kept; 422 `reason_required` without one) is recorded and
    the request verified, its confirmation of receipt emailed. Only for an agent's request
    waiting for the consumer's confirmation (409 `not_awaiting_consumer`); staff only."""
    return staff.act(work, reference, "record_permission", note=body.note)


@router.get("/{reference}/audit", response_model=list[AuditOut])
def audit(reference: str, session: SessionDep, _: StaffDep) -> list[AuditEvent]:
    return staff.audit_trail(session, reference)
