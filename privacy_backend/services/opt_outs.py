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

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import delete, func, or_, select, true, update
from sqlalchemy.orm import Session

from privacy_assistant.api_models.opt_outs import OptOutCreate, OptOutOut
from privacy_assistant.contract import OptOutKind, OptOutSource
from privacy_backend.core import limits
from privacy_backend.core.models import PrivacyOptOut
from privacy_backend.services import deadlines, links
from privacy_backend.services.references import random_chars

BUSINESS_DAYS = 15  # CCPA regs §7026(f): comply no later than 15 business days from receipt
WINDOW = timedelta(hours=1)


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


def _lock(session: Session, conversation_id: str, email: str | None = None) -> None:
    """Hold the conversation's and the address's locks (PostgreSQL) until the transaction
    ends, so two identical calls at once record one opt-out, and a record and a link of the
    same conversation take turns (SQLite's writers take turns already)."""
    limits.advisory_lock(session, limits.PRIVACY_OPT_OUTS, f"conversation:{conversation_id}",
                         f"email:{email}" if email else None)


def _existing(session: Session, body: OptOutCreate) -> PrivacyOptOut | None:
    """What this conversation recorded before for the same kind and the same address (or,
    with none, for the browser: address-less then, possibly linked since)."""
    whose = (PrivacyOptOut.email == body.email if body.email else
             or_(PrivacyOptOut.email.is_(None), PrivacyOptOut.linked_at.is_not(None)))
    return session.scalars(select(PrivacyOptOut).where(
        PrivacyOptOut.conversation_id == body.conversation_id,
        PrivacyOptOut.kind == body.kind, whose).order_by(PrivacyOptOut.id).limit(1)).first()


def _check_limit(session: Session, body: OptOutCreate, *, limit: int, global_limit: int,
                 now: datetime) -> None:
    """429 `too_many_opt_outs` once the conversation recorded `limit` new opt-outs within the
    hour, `limit` of this kind were recorded for the address, or `global_limit` were recorded
    in all. The answer is the same for each, so it does not say which. Past the address's
    limit that address is already opted out by the hour's own records."""
    since = now - WINDOW
    scopes = [(PrivacyOptOut.conversation_id == body.conversation_id, limit)]
    if body.email:
        scopes.append(((PrivacyOptOut.email == body.email) & (PrivacyOptOut.kind == body.kind),
                       limit))
    scopes.append((true(), global_limit))  # every opt-out, system-wide
    for scope, most in scopes:
        count, oldest = session.execute(select(func.count(), func.min(PrivacyOptOut.received_at))
                                        .where(scope, PrivacyOptOut.received_at > since)).one()
        if count >= most:
            raise limits.too_many(
                "too_many_opt_outs", "Too many opt-outs were recorded just now; try again "
                "later.", limits.seconds_until_free(oldest, window=WINDOW, now=now))


def record(session: Session, body: OptOutCreate, *, limit: int, global_limit: int,
           now: datetime) -> Recorded:
    """The new opt-out (flushed; the caller commits), or what this conversation recorded
    before for the same kind and address; 429 beyond the hourly limits (`_check_limit`). One
    made without an address in a conversation that has already verified one (a GPC signal
    recorded late, "this chat only" after a code) is linked to it at once."""
    _lock(session, body.conversation_id, body.email)
    existing = _existing(session, body)
    if existing is not None:
        return Recorded(existing, created=False)
    _check_limit(session, body, limit=limit, global_limit=global_limit, now=now)
    opt_out = PrivacyOptOut(reference=new_reference(), kind=body.kind, source=body.source,
                            conversation_id=body.conversation_id, email=body.email,
                            received_at=now, due_date=due_date(now))
    session.add(opt_out)
    session.flush()
    if body.email is None:
        for link_ in links.of_conversation(session, body.conversation_id):
            link(session, conversation_id=body.conversation_id, email=link_.email, now=now)
        session.refresh(opt_out)
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
    _lock(session, conversation_id)
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
    """Erased conversations: an opt-out that holds for an address stays (the record of the
    choice) without the conversation's id, which names nothing any more; one that held for
    the browser's conversation alone goes with it, since it honours nothing now (so
    starting and deleting chats cannot fill the table). How many rows changed."""
    if not conversation_ids:
        return 0
    dropped = session.execute(delete(PrivacyOptOut).where(
        PrivacyOptOut.conversation_id.in_(conversation_ids), PrivacyOptOut.email.is_(None))
        .execution_options(synchronize_session=False))
    kept = session.execute(update(PrivacyOptOut).where(
        PrivacyOptOut.conversation_id.in_(conversation_ids)).values(conversation_id=None)
        .execution_options(synchronize_session=False))
    return int(dropped.rowcount or 0) + int(kept.rowcount or 0)  # type: ignore[attr-defined]


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
