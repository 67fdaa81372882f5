"""The request records: creation (idempotent), the status graph, extensions, audit rows,
closing what was never verified, the team's queue, finding a request by its reference."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from privacy_backend.core.errors import ApiError, not_found
from privacy_backend.core.models import (
    AuditEvent,
    DenialReason,
    PrivacyRequest,
    RequestStatus,
)
from privacy_backend.core.settings import Settings
from privacy_backend.schemas.requests import QUEUE_CAP, RequestCreate
from privacy_backend.services import deadlines
from privacy_backend.services.references import REFERENCE_ALPHABET as REFERENCE_ALPHABET
from privacy_backend.services.references import random_chars

log = logging.getLogger(__name__)
S = RequestStatus
# The status graph. A duplicate can be recognised at any open step; a denied request moves
# again only when its appeal is granted (`services.appeals`, not through this graph).
TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.PENDING_VERIFICATION: frozenset({S.VERIFIED, S.REJECTED, S.CLOSED_UNVERIFIED,
                                       S.DUPLICATE}),
    S.VERIFIED: frozenset({S.IN_PROGRESS, S.REJECTED, S.DUPLICATE}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.REJECTED, S.DUPLICATE}),
    S.COMPLETED: frozenset(),
    S.REJECTED: frozenset(),
    S.CLOSED_UNVERIFIED: frozenset(),
    S.DUPLICATE: frozenset(),
}
OPEN_STATUSES = frozenset({S.PENDING_VERIFICATION, S.VERIFIED, S.IN_PROGRESS})
# The statuses that answer a request: reaching one sets `closed_at`, the response's time.
FINAL_STATUSES = frozenset({S.COMPLETED, S.REJECTED, S.CLOSED_UNVERIFIED, S.DUPLICATE})


def new_reference() -> str:
    chars = random_chars(8)
    return f"PR-{chars[:4]}-{chars[4:]}"


def normalize_reference(value: str) -> str:
    """Accept `pr 7kq2 m9xd`, `PR7KQ2M9XD`, ... and return `PR-7KQ2-M9XD`."""
    compact = "".join(ch for ch in value.upper() if ch.isalnum())
    compact = compact.removeprefix("PR")
    if len(compact) != 8:
        return value.strip().upper()
    return f"PR-{compact[:4]}-{compact[4:]}"


def fingerprint(payload: RequestCreate) -> str:
    # The proof of verification is not part of what is filed: a retry may bring one or not.
    body = payload.model_dump(mode="json", exclude={"verification_id"})
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(
    session: Session,
    request: PrivacyRequest,
    *,
    actor: str,
    action: str,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> AuditEvent:
    event = AuditEvent(request_id=request.id, actor=actor, action=action, before=before,
                       after=after, note=note, created_at=now)
    session.add(event)
    return event


def _replay(existing: PrivacyRequest, fp: str) -> PrivacyRequest:
    if existing.idempotency_fingerprint != fp:
        raise ApiError(409, "idempotency_conflict",
                       "This Idempotency-Key was already used with a different request body.")
    return existing


def create(
    session: Session,
    data: RequestCreate,
    *,
    settings: Settings,
    now: datetime,
    idempotency_key: str | None,
    actor: str,
) -> tuple[PrivacyRequest, bool]:
    """Insert a request (flushed, not committed). Returns (request, created).

    With an idempotency key, a replay returns the stored request; two concurrent inserts with
    the same key collide on the unique constraint and the loser returns the winner's row.
    """
    fp = fingerprint(data)
    by_key = select(PrivacyRequest).where(PrivacyRequest.idempotency_key == idempotency_key)
    if idempotency_key is not None:
        existing = session.scalar(by_key)
        if existing is not None:
            return _replay(existing, fp), False
    jurisdiction = deadlines.jurisdiction_for(
        data.region, settings.default_jurisdiction, settings.jurisdiction_rules
    )
    rule = settings.jurisdiction_rules[jurisdiction]
    request = PrivacyRequest(
        reference=new_reference(),
        type=data.type,
        status=S.PENDING_VERIFICATION,
        # An agent's request is about the consumer: `email` is theirs, the agent's is kept
        # apart (its code goes there, `PrivacyRequest.verifier_email`).
        email=data.consumer_email if data.authorized_agent and data.consumer_email else data.email,
        agent_email=data.email if data.authorized_agent else None,
        name=data.name,
        region=data.region,
        jurisdiction=jurisdiction,
        authorized_agent=data.authorized_agent,
        details=data.details,
        channel=data.channel,
        conversation_id=data.conversation_id,
        created_at=now,
        updated_at=now,
        due_at=deadlines.initial_due(now, rule),
        extensions_used=0,
        idempotency_key=idempotency_key,
        idempotency_fingerprint=fp if idempotency_key is not None else None,
    )
    session.add(request)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        existing = session.scalar(by_key) if idempotency_key is not None else None
        if existing is None:
            raise
        log.info("concurrent create with the same Idempotency-Key: returning %s",
                 existing.reference)
        return _replay(existing, fp), False
    record(session, request, actor=actor, action="created", now=now,
           after={"status": request.status.value, "type": request.type.value,
                  "channel": request.channel.value, "due_at": request.due_at.isoformat(),
                  "jurisdiction": jurisdiction})
    return request, True


def require_transition(request: PrivacyRequest, to: RequestStatus) -> None:
    """409 `illegal_transition` unless the status graph allows `request` to move to `to`."""
    current = request.status
    if to not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none (final)"
        raise ApiError(409, "illegal_transition",
                       f"Cannot move a request from '{current.value}' to '{to.value}'. "
                       f"Allowed next statuses: {allowed}.",
                       current_status=current.value)


def transition(
    session: Session,
    request: PrivacyRequest,
    to: RequestStatus,
    *,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> None:
    current = request.status
    require_transition(request, to)
    request.status = to
    request.updated_at = now
    if to is S.VERIFIED:
        request.verified_at = now
    if to in FINAL_STATUSES:
        request.closed_at = now
    record(session, request, actor=actor, action="status_changed", now=now,
           before={"status": current.value}, after={"status": to.value}, note=note)
    session.flush()


def extend(
    session: Session,
    request: PrivacyRequest,
    *,
    settings: Settings,
    actor: str,
    reason: str,
    now: datetime,
) -> None:
    rule = settings.jurisdiction_rules.get(request.jurisdiction)
    if request.status not in OPEN_STATUSES:
        raise ApiError(409, "illegal_transition",
                       f"A '{request.status.value}' request can no longer be extended.")
    if rule is None or not deadlines.can_extend(rule, request.extensions_used):
        raise ApiError(409, "extension_not_allowed",
                       f"The deadline of this request ({request.jurisdiction}) cannot be "
                       "extended again.")
    if request.extensions_used == 0 and now > request.due_at:
        # The notice of an extension is due within the first period (CCPA regs §7021(b)).
        raise ApiError(409, "extension_too_late",
                       f"The first period of this request ended on "
                       f"{request.due_at.date().isoformat()}: an extension needs notice "
                       "within it.")
    before = request.due_at
    request.due_at = deadlines.extended_due(before, rule)
    request.extensions_used += 1
    request.extension_reason = reason
    request.updated_at = now
    record(session, request, actor=actor, action="extended", now=now, note=reason,
           before={"due_at": before.isoformat()}, after={"due_at": request.due_at.isoformat()})
    session.flush()


def close_unverified(session: Session, *, settings: Settings, now: datetime) -> int:
    """Close the requests still unverified after `unverified_close_days` (`serve` runs this
    at start-up and hourly, `privacy-backend close-unverified` from cron).

    Flushes but does not commit. Returns how many were closed.
    """
    cutoff = now - timedelta(days=settings.unverified_close_days)
    stale = list(session.scalars(
        select(PrivacyRequest)
        .where(PrivacyRequest.status == S.PENDING_VERIFICATION,
               PrivacyRequest.created_at <= cutoff)
        .with_for_update()
    ))
    for item in stale:
        item.denial_reason = DenialReason.IDENTITY_NOT_VERIFIED
        transition(session, item, S.CLOSED_UNVERIFIED, actor="system", now=now,
                   note=f"not verified within {settings.unverified_close_days} days")
    return len(stale)


def queue(session: Session, *, overdue_only: bool, now: datetime, days: int
          ) -> tuple[int, list[PrivacyRequest]]:
    """The open requests (pending verification, verified or in progress: whatever can still
    move in the status graph) that are overdue (`overdue_only`), or due by the end of the UTC
    day `days` days from now, overdue ones included; soonest due first, at most QUEUE_CAP.
    Returns (how many matched, the first QUEUE_CAP)."""
    cutoff = now if overdue_only else deadlines.end_of_day_after(now, days)
    where = (PrivacyRequest.status.in_(OPEN_STATUSES), PrivacyRequest.due_at < cutoff)
    total = session.scalar(select(func.count()).select_from(PrivacyRequest).where(*where)) or 0
    found = session.scalars(select(PrivacyRequest).where(*where)
                            .order_by(PrivacyRequest.due_at, PrivacyRequest.id)
                            .limit(QUEUE_CAP))
    return total, list(found)


def get_by_reference(session: Session, reference: str) -> PrivacyRequest | None:
    return session.scalar(
        select(PrivacyRequest).where(PrivacyRequest.reference == normalize_reference(reference))
    )


def get_or_404(session: Session, reference: str) -> PrivacyRequest:
    """The request with that reference (as a person types it), or ApiError 404 `not_found`.
    Only a reference's first 32 characters are looked at: no reference is longer."""
    request = get_by_reference(session, reference[:32])
    if request is None:
        raise not_found("request")
    return request
