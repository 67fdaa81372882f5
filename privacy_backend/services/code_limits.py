"""The limits that bound guessing one-time codes, and the locks that make them hold.

Three limits (see `Settings`): codes emailed to one address per hour (unsent ones do not
count, so someone else's status lookups cannot use up the owner's codes), and, over the
failure window, the wrong codes plus status lookups of one conversation and the wrong codes
typed for one address's emailed codes. On PostgreSQL each address and conversation is locked
(a transaction-level advisory lock) while its limits are checked and its code is written, so
concurrent calls cannot pass a limit together; SQLite runs one writer at a time already.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, select, text
from sqlalchemy.orm import Session

from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import Verification, VerificationPurpose
from privacy_backend.core.settings import Settings

# The `code_hash` of a verification whose code was never emailed: no HMAC (64 hex digits)
# equals it, so nothing can confirm it.
UNSENT = "unsent"
# First key of the advisory locks taken here (`pg_advisory_xact_lock(int, int)`), so they
# cannot collide with locks taken for other purposes.
_LOCK_SPACE = 0x636F6465


def lock(session: Session, email: str, conversation_id: str | None) -> None:
    """Hold the address's and the conversation's advisory locks (PostgreSQL) until the
    transaction ends. Always in this order, so two callers cannot deadlock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in (f"email:{email}", f"conversation:{conversation_id}" if conversation_id else None):
        if key is not None:
            session.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
                            {"space": _LOCK_SPACE, "key": key})


def _failed_attempts() -> ColumnElement[int]:
    return Verification.attempts - case((Verification.verified_at.is_not(None), 1), else_=0)


def address_failures(session: Session, *, settings: Settings, now: datetime, email: str
                     ) -> int:
    """Wrong codes typed for the codes emailed to `email` in the failure window."""
    since = now - timedelta(minutes=settings.code_failure_window_minutes)
    return session.scalar(
        select(func.coalesce(func.sum(_failed_attempts()), 0))
        .where(Verification.email == email, Verification.code_hash != UNSENT,
               Verification.created_at > since)
    ) or 0


def conversation_failures(session: Session, *, settings: Settings, now: datetime,
                          conversation_id: str) -> int:
    """Wrong codes plus status lookups (matched or not) of one conversation in the window."""
    since = now - timedelta(minutes=settings.code_failure_window_minutes)
    lookup = case((Verification.purpose == VerificationPurpose.STATUS_LOOKUP, 1), else_=0)
    return session.scalar(
        select(func.coalesce(func.sum(_failed_attempts() + lookup), 0))
        .where(Verification.conversation_id == conversation_id,
               Verification.created_at > since)
    ) or 0


def guessing_limited(session: Session, *, settings: Settings, now: datetime, email: str,
                     conversation_id: str | None) -> bool:
    """Whether the address or the conversation is over its guessing limit now."""
    if address_failures(session, settings=settings, now=now, email=email) >= (
            settings.code_address_failure_limit):
        return True
    return conversation_id is not None and conversation_failures(
        session, settings=settings, now=now, conversation_id=conversation_id,
    ) >= settings.code_conversation_limit


def admit(session: Session, *, settings: Settings, now: datetime, email: str,
          conversation_id: str | None) -> None:
    """Raise ApiError 429 `too_many_codes` if no code may be issued for `email` in this
    conversation now; otherwise return holding the locks (see `lock`)."""
    lock(session, email, conversation_id)
    if guessing_limited(session, settings=settings, now=now, email=email,
                        conversation_id=conversation_id):
        retry_after = str(settings.code_failure_window_minutes * 60)
        raise ApiError(429, "too_many_codes", "Too many wrong codes or lookups recently. Try "
                       "again later.", headers={"Retry-After": retry_after})
    sent = session.scalar(
        select(func.count()).select_from(Verification)
        .where(Verification.email == email, Verification.code_hash != UNSENT,
               Verification.created_at > now - timedelta(hours=1))
    ) or 0
    if sent >= settings.code_hourly_limit:
        raise ApiError(429, "too_many_codes", "Too many codes were sent to this address in the "
                       "last hour. Try again later.", headers={"Retry-After": "3600"})
