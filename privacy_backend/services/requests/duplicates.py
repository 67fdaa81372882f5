"""What happens when a request becomes verified (by its code, by a code confirmed earlier,
by staff, or by the consumer confirming an authorized agent): a second open request of the
same type for the same address becomes a `duplicate` pointing to the first, and starts no
clock of its own; any other is confirmed received.

The first request is the oldest one of that type for that address that is `verified` or
`in_progress` (a request still awaiting its code proves nothing yet; an answered one is no
longer open). Two requests of one address becoming verified at once take turns (an
advisory lock on PostgreSQL; SQLite's writers take turns already), so the second sees the
first. Staff may also mark a duplicate by hand (`mark`, the workbench's `mark_duplicate`),
only onto a first request of the same person (the same address: another's reference would
be mailed to them) that was verified and is not erased, and not itself a duplicate; the
requests that pointed to the one marked then point to its first, so none points to a
duplicate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_backend.core import limits
from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import PrivacyRequest, RequestStatus
from privacy_backend.core.settings import Settings
from privacy_backend.mail import messages as emails
from privacy_backend.mail.outbox import NOTICE_WINDOW, Outbox
from privacy_backend.services import agent_requests
from privacy_backend.services.requests.records import (
    OPEN_STATUSES,
    get_by_reference,
    record,
    transition,
)

S = RequestStatus
# The statuses of a first request: verified, so the address is proved, and not answered.
WORKED = (S.VERIFIED, S.IN_PROGRESS)


def first_of(session: Session, request: PrivacyRequest) -> PrivacyRequest | None:
    """The oldest other request of the same type for the same address that is verified or in
    progress (and not erased), if any."""
    return session.scalar(
        select(PrivacyRequest)
        .where(PrivacyRequest.type == request.type, PrivacyRequest.email == request.email,
               PrivacyRequest.status.in_(WORKED), PrivacyRequest.erased_at.is_(None),
               PrivacyRequest.id != request.id)
        .order_by(PrivacyRequest.created_at, PrivacyRequest.id)
        .limit(1))


def on_verified(session: Session, outbox: Outbox, settings: Settings, request: PrivacyRequest,
                now: datetime) -> list[int]:
    """Call right after `request` moved to `verified` (flushed, not committed); returns the
    outbox ids of the mail to send after the commit: the duplicate's notice, or the
    confirmation of receipt (and the agent's copy, for an agent's request)."""
    from privacy_backend.services import workbench

    limits.advisory_lock(session, limits.DUPLICATES,
                         f"{request.type.value}:{request.email}")
    first = first_of(session, request)
    if first is not None:
        return mark(session, outbox, settings, request, first, actor="system", now=now,
                    note=f"repeats {first.reference}, which is {first.status.value}")
    mail_ids = [workbench.receipt(session, outbox, settings, request, now)]
    copy = agent_requests.copy_to_agent(session, outbox, settings, request, "received", now,
                                        due_at=request.due_at)
    return mail_ids + ([copy] if copy is not None else [])


def resolve(session: Session, request: PrivacyRequest, reference: str | None
            ) -> PrivacyRequest:
    """The first request staff name for `request` (422 `bad_duplicate` unless it exists, is
    of the same type and for the same address, is not this request, was verified, is not
    erased and is not itself a duplicate). A first of another address is refused without
    naming anything of it."""
    if not (reference and reference.strip()):
        raise ApiError(422, "bad_duplicate", "Name the first request (`duplicate_of`, its "
                       "reference) that this one repeats.")
    first = get_by_reference(session, reference[:32])
    if first is None:
        raise ApiError(422, "bad_duplicate", "No request has the reference given as "
                       "`duplicate_of`.")
    if first.id == request.id:
        raise ApiError(422, "bad_duplicate", "A request cannot repeat itself.")
    if first.email != request.email or first.erased_at is not None:
        # Nothing about the other request: its reference may be another person's.
        raise ApiError(422, "bad_duplicate", "The request given as `duplicate_of` is not "
                       "the same person's (another address, or erased): a duplicate repeats "
                       "a request of the same address.")
    if first.verified_at is None:
        raise ApiError(422, "bad_duplicate", f"{first.reference} was never verified: a "
                       "duplicate repeats a request whose address was proved.")
    if first.type is not request.type:
        raise ApiError(422, "bad_duplicate", f"{first.reference} is a {first.type.value} "
                       f"request, this one a {request.type.value} request: a duplicate "
                       "repeats a request of the same type.")
    if first.status is S.DUPLICATE:
        raise ApiError(422, "bad_duplicate", f"{first.reference} is itself a duplicate (of "
                       f"{first.duplicate_of}): name that one.")
    return first


def mark(session: Session, outbox: Outbox, settings: Settings, request: PrivacyRequest,
         first: PrivacyRequest, *, actor: str, now: datetime, note: str | None = None
         ) -> list[int]:
    """Make `request` a duplicate of `first` (409 if the status graph refuses), recorded
    (`marked_duplicate`), and queue the person's notice naming the first request and when it
    is due; the outbox ids to send after the commit."""
    transition(session, request, S.DUPLICATE, actor=actor, now=now, note=note)
    request.duplicate_of_id = first.id
    request.first_request = first
    record(session, request, actor=actor, action="marked_duplicate", now=now,
           after={"duplicate_of": first.reference, "due_at": first.due_at.isoformat()})
    _repoint(session, request, first, actor=actor, now=now)
    session.flush()
    first_open = first.status in OPEN_STATUSES
    mail_ids = [outbox.add(session, emails.request_duplicate(
        settings.mail_from, request.email, request.reference, request.type.value,
        first.reference, due_at=first.due_at, first_open=first_open),
        kind="request_duplicate", now=now, not_after=now + NOTICE_WINDOW).id]
    copy = agent_requests.copy_to_agent(session, outbox, settings, request, "duplicate", now,
                                        duplicate_of=first.reference, due_at=first.due_at,
                                        first_open=first_open)
    return mail_ids + ([copy] if copy is not None else [])


def _repoint(session: Session, request: PrivacyRequest, first: PrivacyRequest, *, actor: str,
             now: datetime) -> None:
    """The duplicates of `request`, now a duplicate itself, point to its `first` instead
    (recorded on each, `duplicate_repointed`; their person was told of `request` and is now
    of `first`, the same person's)."""
    repeats = list(session.scalars(select(PrivacyRequest).where(
        PrivacyRequest.duplicate_of_id == request.id).order_by(PrivacyRequest.id)))
    for item in repeats:
        item.duplicate_of_id, item.first_request, item.updated_at = first.id, first, now
        record(session, item, actor=actor, action="duplicate_repointed", now=now,
               before={"duplicate_of": request.reference},
               after={"duplicate_of": first.reference})
