"""The limits that bound sending and guessing one-time codes, and the locks that make them hold.

They are built so that a stranger can neither guess much nor keep the owner of an address
from a code for long (the numbers are in the README's security section):

- **Codes per address** (`admit`): two budgets of `code_hourly_limit` codes per hour each,
  one for the codes emailed for requests and preferences (only mails that were or are being
  sent count: a code whose email was dropped unsent does not), one for status lookups, where a
  lookup that matched nothing counts exactly like one that matched, so that no answer says
  whether a reference belongs to an address. A full budget does not refuse for the rest of
  the hour: once `code_address_wait_minutes` have passed since its latest code, one more may
  be issued. So the owner waits at most that long after a stranger's latest code.
- **All codes** (`admit`): at most `code_global_hourly_limit` verifications per hour in the
  whole system (unsent ones included, again so that a match and a miss count alike).
- **Guesses per conversation**: wrong codes plus status lookups of one conversation over the
  failure window; beyond `code_conversation_limit`, that conversation gets no code and no
  check (its own doing; other conversations are not held back).
- **Guesses per address** (`first_attempt_only`): beyond `code_address_failure_limit` wrong
  codes for the address's codes (unsent lookups included) in the last
  `code_address_failure_window_hours`, each code may be tried once only, and every new code
  has 9 digits instead of 6 (`code_digits`). The owner, typing the code from the latest
  email, is never held back; a stranger gets one guess per code they have emailed to the
  address (which the budgets above bound) at a code a thousand times harder to guess. So a
  stranger who keeps at it all day gets the limit's guesses at 6-digit codes a day, and
  about one 9-digit guess per code mailed after that (the README's security section has the
  odds).

On PostgreSQL each address and conversation is locked (a transaction-level advisory lock)
while its limits are checked and its code is written or its attempt counted, so concurrent
calls cannot pass a limit together; SQLite runs one writer at a time already. The system-wide
count takes no lock: concurrent calls may pass it by at most their number.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from privacy_assistant.code_mask import CODE_DIGITS, LONG_CODE_DIGITS
from privacy_backend.core import limits
from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import (
    MailStatus,
    OutboundMail,
    Verification,
    VerificationPurpose,
)
from privacy_backend.core.settings import Settings

# The `code_hash` of a verification whose code was never emailed: no HMAC (64 hex digits)
# equals it, so nothing can confirm it.
UNSENT = "unsent"
_HOUR = timedelta(hours=1)


def lock(session: Session, email: str, conversation_id: str | None) -> None:
    """Hold the address's and the conversation's advisory locks (PostgreSQL) until the
    transaction ends. Always in this order, so two callers cannot deadlock."""
    limits.advisory_lock(session, limits.CODES, f"email:{email}",
                         f"conversation:{conversation_id}" if conversation_id else None)


def _failed_attempts() -> ColumnElement[int]:
    return Verification.attempts - case((Verification.verified_at.is_not(None), 1), else_=0)


def address_failures(session: Session, *, settings: Settings, now: datetime, email: str
                     ) -> int:
    """Wrong codes typed for the address's codes issued in its failure window, a lookup's
    that matched nothing included (it fails like any wrong code)."""
    since = now - timedelta(hours=settings.code_address_failure_window_hours)
    return session.scalar(
        select(func.coalesce(func.sum(_failed_attempts()), 0))
        .where(Verification.email == email, Verification.created_at > since)
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


def conversation_limited(session: Session, *, settings: Settings, now: datetime,
                         conversation_id: str | None) -> bool:
    """Whether the conversation is over its guessing limit now."""
    return conversation_id is not None and conversation_failures(
        session, settings=settings, now=now, conversation_id=conversation_id,
    ) >= settings.code_conversation_limit


def first_attempt_only(session: Session, *, settings: Settings, now: datetime,
                       email: str) -> bool:
    """Whether the address is over its guessing limit, so that each of its codes may be
    tried once only."""
    return address_failures(session, settings=settings, now=now, email=email) >= (
        settings.code_address_failure_limit)


def code_digits(session: Session, *, settings: Settings, now: datetime, email: str) -> int:
    """How many digits a new code for the address has: 9 while it is over its guessing
    limit, else 6."""
    over = first_attempt_only(session, settings=settings, now=now, email=email)
    return LONG_CODE_DIGITS if over else CODE_DIGITS


def _address_budget_wait(session: Session, *, settings: Settings, now: datetime, email: str,
                         lookup: bool) -> float:
    """Seconds until the address's budget (lookups', or emailed codes') admits a code; 0 if
    it does now."""
    in_budget = [Verification.email == email, Verification.created_at > now - _HOUR]
    if lookup:
        # Matched or not alike: the row is counted, never its code or its mail.
        in_budget.append(Verification.purpose == VerificationPurpose.STATUS_LOOKUP)
    else:
        dropped = (select(OutboundMail.id)
                   .where(OutboundMail.verification_id == Verification.id,
                          OutboundMail.status == MailStatus.DROPPED).exists())
        in_budget += [Verification.purpose != VerificationPurpose.STATUS_LOOKUP,
                      Verification.code_hash != UNSENT, ~dropped]
    count, latest = session.execute(
        select(func.count(), func.max(Verification.created_at)).where(*in_budget)).one()
    if count < settings.code_hourly_limit or latest is None:
        return 0
    opens = latest + timedelta(minutes=settings.code_address_wait_minutes)
    return max((opens - now).total_seconds(), 0)


def _global_wait(session: Session, *, settings: Settings, now: datetime) -> float:
    """Seconds until the system-wide hourly budget admits a code; 0 if it does now."""
    count, oldest = session.execute(
        select(func.count(), func.min(Verification.created_at))
        .where(Verification.created_at > now - _HOUR)).one()
    if count < settings.code_global_hourly_limit or oldest is None:
        return 0
    return max((oldest + _HOUR - now).total_seconds(), 1)


def admit(session: Session, *, settings: Settings, now: datetime, email: str,
          conversation_id: str | None, purpose: VerificationPurpose) -> None:
    """Raise ApiError 429 `too_many_codes` (with Retry-After) if no code may be issued for
    `email` in this conversation now; otherwise return holding the locks (see `lock`).
    The same answer whether or not a status lookup matched: its purpose decides, never its
    code."""
    lock(session, email, conversation_id)
    if conversation_limited(session, settings=settings, now=now,
                            conversation_id=conversation_id):
        raise ApiError(429, "too_many_codes", "Too many wrong codes or lookups recently. Try "
                       "again later.", headers=limits.retry_after(
                           settings.code_failure_window_minutes * 60))
    wait = _address_budget_wait(session, settings=settings, now=now, email=email,
                                lookup=purpose is VerificationPurpose.STATUS_LOOKUP)
    if wait:
        raise ApiError(429, "too_many_codes", "Too many codes were sent to this address in the "
                       "last hour. Try again later.", headers=limits.retry_after(wait))
    wait = _global_wait(session, settings=settings, now=now)
    if wait:
        raise ApiError(429, "too_many_codes", "Too many codes are being sent right now. Try "
                       "again later.", headers=limits.retry_after(wait))
