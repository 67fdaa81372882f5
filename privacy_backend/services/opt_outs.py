"""Privacy opt-outs that need no proof of identity (CCPA regs §7025-7027): "do not sell or
share my personal information" and "limit the use of my sensitive personal information",
recorded at once, in the chat or by the socket.io channel when a browser sends Global
Privacy Control, and due within 15 business days of receipt (§7026(f)).

Whoever gives an address may opt it out, so nothing here reads what else is held about
the address: a call is matched only against what the same conversation recorded before
(the same kind, for the same address or, with none, for the browser), and the answer
describes that record alone. Another conversation that names the same address records an
opt-out of its own (a request of its own, with its own reference and clock).

An opt-out made without an address holds for the conversation; when a code confirms an
address in that conversation (`services.verification.check`), it is linked to the address
(`link`). A deletion request keeps each of the address's opt-outs without the address or
the conversation (`minimise`), and erasing a conversation forgets its id (`forget`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from privacy_assistant.api_models.opt_outs import OptOutCreate, OptOutOut
from privacy_assistant.contract import OptOutKind, OptOutSource
from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import PrivacyOptOut
from privacy_backend.services import deadlines
from privacy_backend.services.references import random_chars

BUSINESS_DAYS = 15  # CCPA regs §7026(f): comply no later than 15 business days from receipt
WINDOW = timedelta(hours=1)
# pg_advisory_xact_lock's first key: this module's locks, apart from anyone else's.
_LOCK_SPACE = 7026


@dataclass(frozen=True)
class Recorded:
    opt_out: PrivacyOptOut
    created: bool


def new_reference() -> str:
    return f"OO-{random_chars(8)}"


def due_date(received_at: datetime) -> date:
    """15 business days after the UTC day of receipt."""
    return deadlines.add_business_days(received_at.astimezone(timezone.utc).date(),
                                       BUSINESS_DAYS)


def _lock(session: Session, conversation_id: str, email: str | None) -> None:
    """Hold the conversation's and the address's locks (PostgreSQL) until the transaction
    ends, so two identical calls at once record one opt-out (SQLite's writers take turns)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in (f"conversation:{conversation_id}", f"email:{email}" if email else None):
        if key is not None:
            session.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
                            {"space": _LOCK_SPACE, "key": key})


def _existing(session: Session, body: OptOutCreate) -> PrivacyOptOut | None:
    """What this conversation recorded before for the same kind and the same address (or,
    with none, for the browser: address-less then, possibly linked since)."""
    whose = (PrivacyOptOut.email == body.email if body.email else
             or_(PrivacyOptOut.email.is_(None), PrivacyOptOut.linked_at.is_not(None)))
    return session.scalars(select(PrivacyOptOut).where(
        PrivacyOptOut.conversation_id == body.conversation_id,
        PrivacyOptOut.kind == body.kind, whose).order_by(PrivacyOptOut.id).limit(1)).first()


def _check_limit(session: Session, body: OptOutCreate, *, limit: int, now: datetime) -> None:
    """429 `too_many_opt_outs` once the conversation recorded `limit` new opt-outs within the
    hour, or `limit` of this kind were recorded for the address. The answer is the same for
    both, so it does not say which. Past the address's limit that address is already opted
    out by the hour's own records."""
    since = now - WINDOW
    scopes = [PrivacyOptOut.conversation_id == body.conversation_id]
    if body.email:
        scopes.append((PrivacyOptOut.email == body.email) & (PrivacyOptOut.kind == body.kind))
    for scope in scopes:
        recent = select(PrivacyOptOut.received_at).where(scope,
                                                         PrivacyOptOut.received_at > since)
        if (session.scalar(select(func.count()).select_from(recent.subquery())) or 0) < limit:
            continue
        first = session.scalar(select(func.min(PrivacyOptOut.received_at)).where(
            scope, PrivacyOptOut.received_at > since))
        left = (first + WINDOW - now).total_seconds() if first else WINDOW.total_seconds()
        raise ApiError(429, "too_many_opt_outs", "Too many opt-outs were recorded just now; "
                       "try again later.",
                       headers={"Retry-After": str(max(1, math.ceil(left)))})


def record(session: Session, body: OptOutCreate, *, limit: int, now: datetime) -> Recorded:
    """The new opt-out (flushed; the caller commits), or what this conversation recorded
    before for the same kind and address; 429 beyond the hourly limits (`_check_limit`)."""
    _lock(session, body.conversation_id, body.email)
    existing = _existing(session, body)
    if existing is not None:
        return Recorded(existing, created=False)
    _check_limit(session, body, limit=limit, now=now)
    opt_out = PrivacyOptOut(reference=new_reference(), kind=body.kind, source=body.source,
                            conversation_id=body.conversation_id, email=body.email,
                            received_at=now, due_date=due_date(now))
    session.add(opt_out)
    session.flush()
    return Recorded(opt_out, created=True)


def out(recorded: Recorded) -> OptOutOut:
    """The answer: this record alone, nothing else held about the address."""
    o = recorded.opt_out
    return OptOutOut(reference=o.reference, kind=o.kind, source=o.source,
                     received_at=o.received_at, due_date=o.due_date,
                     linked_to_email=o.email is not None,
                     already_recorded=not recorded.created)


def link(session: Session, *, conversation_id: str | None, email: str, now: datetime) -> int:
    """A code confirmed `email` in the conversation: its address-less opt-outs now hold for
    that address too. The first address takes the rows; a further address verified in the
    same conversation gets a copy of each (same reference date and clock, a reference of its
    own), since the browser's choice covers every profile known to be its. How many rows
    were linked or copied."""
    if not conversation_id:
        return 0
    born_browser = select(PrivacyOptOut).where(
        PrivacyOptOut.conversation_id == conversation_id,
        or_(PrivacyOptOut.email.is_(None), PrivacyOptOut.linked_at.is_not(None)),
        PrivacyOptOut.erased_at.is_(None)).order_by(PrivacyOptOut.id)
    rows = list(session.scalars(born_browser))
    covered = {row.kind for row in rows if row.email == email}
    changed = 0
    for row in rows:
        if row.kind in covered:
            continue
        covered.add(row.kind)
        if row.email is None:
            row.email, row.linked_at = email, now
        else:
            session.add(PrivacyOptOut(
                reference=new_reference(), kind=row.kind, source=row.source,
                conversation_id=conversation_id, email=email, received_at=row.received_at,
                due_date=row.due_date, linked_at=now))
        changed += 1
    if changed:
        session.flush()
    return changed


def of_address(session: Session, email: str) -> list[PrivacyOptOut]:
    """The address's opt-outs, oldest first (its export)."""
    return list(session.scalars(select(PrivacyOptOut).where(PrivacyOptOut.email == email)
                                .order_by(PrivacyOptOut.received_at, PrivacyOptOut.id)))


def minimise(session: Session, email: str, now: datetime) -> int:
    """A deletion request of `email`: each of its opt-outs is kept as the record of a request
    (reference, kind, source, received, due; CCPA regs §7101 keep records of requests 24
    months) without the address or the conversation. How many."""
    result = session.execute(update(PrivacyOptOut).where(PrivacyOptOut.email == email).values(
        email=None, conversation_id=None, erased_at=now).execution_options(
        synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def forget(session: Session, conversation_ids: list[str]) -> int:
    """Erased conversations: their opt-outs stay (the record of the choice), without the
    conversation's id, which names nothing any more."""
    if not conversation_ids:
        return 0
    result = session.execute(update(PrivacyOptOut).where(
        PrivacyOptOut.conversation_id.in_(conversation_ids)).values(conversation_id=None)
        .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def listing(session: Session, *, kind: OptOutKind | None = None,
            source: OptOutSource | None = None, limit: int = 100) -> list[PrivacyOptOut]:
    """The newest opt-outs first, for staff."""
    query = select(PrivacyOptOut).order_by(PrivacyOptOut.received_at.desc(),
                                           PrivacyOptOut.id.desc())
    if kind is not None:
        query = query.where(PrivacyOptOut.kind == kind)
    if source is not None:
        query = query.where(PrivacyOptOut.source == source)
    return list(session.scalars(query.limit(limit)))
