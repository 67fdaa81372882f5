"""One-time email codes, shared by request verification, status lookups and preferences.

A code is 6 digits from `secrets`, expires after `code_ttl_minutes`, allows
`code_max_attempts` tries, and is stored only as HMAC-SHA256(server secret, id + code).
Codes are never logged.

A status lookup whose reference and email do not match gets a verification too, so that its
answer looks the same, but that verification has no code (`UNSENT`): no code can confirm it,
and it behaves like a code that is always wrong. Three limits bound guessing (see
`Settings`): codes emailed to one address per hour (unsent ones do not count, so someone
else's lookups cannot use up the owner's codes), and, over the failure window, the wrong
codes plus status lookups of one conversation and the wrong codes typed for one address's
emailed codes. Unsent verifications are held to the same limits as real ones, so a 429
reveals nothing about a lookup either. On PostgreSQL each address and conversation is locked
(a transaction-level advisory lock) while its limits are checked and its code is written, so
concurrent calls cannot pass a limit together; SQLite runs one writer at a time already.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, select, text, update
from sqlalchemy.orm import Session

from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import Verification, VerificationPurpose
from privacy_backend.core.settings import Settings
from privacy_backend.services import links

# The `code_hash` of a verification whose code was never emailed: no HMAC (64 hex digits)
# equals it, so nothing can confirm it.
UNSENT = "unsent"
# First key of the advisory locks taken here (`pg_advisory_xact_lock(int, int)`), so they
# cannot collide with locks taken for other purposes.
_LOCK_SPACE = 0x636F6465


class VerificationFailure(Exception):
    """`reason` is one of invalid_code, code_expired, too_many_attempts, too_many_failures,
    code_superseded, already_verified."""

    def __init__(self, reason: str, attempts_left: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts_left = attempts_left


def generate_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def hash_code(secret: bytes, verification_id: str, code: str) -> str:
    return hmac.new(secret, f"{verification_id}:{code}".encode(), hashlib.sha256).hexdigest()


def issue(
    session: Session,
    *,
    settings: Settings,
    secret: bytes,
    now: datetime,
    purpose: VerificationPurpose,
    email: str,
    conversation_id: str | None = None,
    request_id: int | None = None,
) -> tuple[Verification, str]:
    """Create a verification and return it with the plain code (to be emailed, then dropped).

    Earlier open codes for the same request (a status lookup: the same address and
    conversation) and purpose are superseded: only the newest works. Beyond a limit (see the
    module's docstring), an ApiError 429 `too_many_codes` and nothing is written.
    """
    _admit(session, settings=settings, now=now, email=email, conversation_id=conversation_id)
    code = generate_code()
    vid = uuid.uuid4().hex
    verification = _add(session, settings=settings, now=now, vid=vid, purpose=purpose,
                        email=email, conversation_id=conversation_id, request_id=request_id,
                        code_hash=hash_code(secret, vid, code))
    return verification, code


def issue_unsent(
    session: Session,
    *,
    settings: Settings,
    now: datetime,
    purpose: VerificationPurpose,
    email: str,
    conversation_id: str | None = None,
) -> Verification:
    """A verification like `issue`'s, with the same limits and supersession, but without a
    code: it is never emailed and nothing confirms it (for a status lookup that matched no
    request, so that its answer does not reveal that)."""
    _admit(session, settings=settings, now=now, email=email, conversation_id=conversation_id)
    return _add(session, settings=settings, now=now, vid=uuid.uuid4().hex, purpose=purpose,
                email=email, conversation_id=conversation_id, request_id=None,
                code_hash=UNSENT)


def _add(session: Session, *, settings: Settings, now: datetime, vid: str,
         purpose: VerificationPurpose, email: str, conversation_id: str | None,
         request_id: int | None, code_hash: str) -> Verification:
    open_codes = (Verification.purpose == purpose, Verification.verified_at.is_(None),
                  Verification.superseded_at.is_(None))
    if purpose is VerificationPurpose.STATUS_LOOKUP:
        # By address and conversation, not by request: a lookup that matched and one that did
        # not supersede alike.
        session.execute(update(Verification).where(
            *open_codes, Verification.email == email,
            Verification.conversation_id.is_(None) if conversation_id is None
            else Verification.conversation_id == conversation_id,
        ).values(superseded_at=now))
    elif request_id is not None:
        session.execute(update(Verification).where(
            *open_codes, Verification.request_id == request_id).values(superseded_at=now))
    verification = Verification(
        id=vid,
        purpose=purpose,
        email=email,
        conversation_id=conversation_id,
        request_id=request_id,
        code_hash=code_hash,
        attempts=0,
        max_attempts=settings.code_max_attempts,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.code_ttl_minutes),
    )
    session.add(verification)
    session.flush()
    return verification


def _lock(session: Session, email: str, conversation_id: str | None) -> None:
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


def _guessing_limited(session: Session, *, settings: Settings, now: datetime, email: str,
                      conversation_id: str | None) -> bool:
    if address_failures(session, settings=settings, now=now, email=email) >= (
            settings.code_address_failure_limit):
        return True
    return conversation_id is not None and conversation_failures(
        session, settings=settings, now=now, conversation_id=conversation_id,
    ) >= settings.code_conversation_limit


def _admit(session: Session, *, settings: Settings, now: datetime, email: str,
           conversation_id: str | None) -> None:
    """Raise ApiError 429 `too_many_codes` if no code may be issued for `email` in this
    conversation now; otherwise return holding the locks (see `_lock`)."""
    _lock(session, email, conversation_id)
    if _guessing_limited(session, settings=settings, now=now, email=email,
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


def latest_for_request(session: Session, request_id: int) -> Verification | None:
    return session.scalar(
        select(Verification)
        .where(Verification.request_id == request_id,
               Verification.purpose == VerificationPurpose.REQUEST)
        .order_by(case((Verification.superseded_at.is_(None), 0), else_=1),
                  Verification.created_at.desc())
        .limit(1)
    )


def live_for_request(session: Session, request_id: int, now: datetime) -> Verification | None:
    """The request's code that can still be typed (emailed, newest, not used, not expired,
    attempts left), or None."""
    verification = latest_for_request(session, request_id)
    if (verification is None or verification.code_hash == UNSENT
            or verification.verified_at is not None or verification.superseded_at is not None
            or now >= verification.expires_at
            or verification.attempts >= verification.max_attempts):
        return None
    return verification


def check(
    session: Session, verification: Verification, code: str, *, settings: Settings,
    secret: bytes, now: datetime,
) -> None:
    """Consume one attempt and compare the code; raise `VerificationFailure` if it fails.

    Refused without consuming an attempt (`too_many_failures`) while the address or the
    conversation is over its guessing limit. The attempt counter is incremented with one
    conditional UPDATE and committed before the comparison, so concurrent guesses cannot
    exceed the limits. An unsent verification fails like a wrong code, always.
    """
    if verification.verified_at is not None:
        raise VerificationFailure("already_verified")
    if verification.superseded_at is not None:
        raise VerificationFailure("code_superseded")
    if now >= verification.expires_at:
        raise VerificationFailure("code_expired")
    _lock(session, verification.email, verification.conversation_id)
    if _guessing_limited(session, settings=settings, now=now, email=verification.email,
                         conversation_id=verification.conversation_id):
        raise VerificationFailure("too_many_failures")
    result = session.execute(
        update(Verification)
        .where(Verification.id == verification.id,
               Verification.attempts < Verification.max_attempts,
               Verification.verified_at.is_(None))
        .values(attempts=Verification.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(verification)
    if result.rowcount == 0:  # type: ignore[attr-defined]
        if verification.verified_at is not None:
            raise VerificationFailure("already_verified")
        raise VerificationFailure("too_many_attempts")
    expected = hash_code(secret, verification.id, code)
    if verification.code_hash == UNSENT or not hmac.compare_digest(expected,
                                                                    verification.code_hash):
        left = max(verification.max_attempts - verification.attempts, 0)
        raise VerificationFailure("invalid_code" if left else "too_many_attempts", left)
    verification.verified_at = now
    # The conversation that proved the address is that person's data from now on.
    links.record(session, conversation_id=verification.conversation_id,
                 email=verification.email, now=now)
    session.flush()


def proof(
    session: Session,
    verification_id: str | None,
    *,
    email: str,
    conversation_id: str | None,
    settings: Settings,
    now: datetime,
    purposes: frozenset[VerificationPurpose] | None = None,
) -> Verification:
    """The verification that proves the caller may act for `email`, or ApiError 403
    `verification_required`, naming what is missing: no id, an unknown id, a code not
    confirmed, another address, another conversation (when both are known), another purpose
    (`purposes`; None: any), or confirmed longer ago than `verified_for_minutes`."""

    def refuse(why: str) -> ApiError:
        return ApiError(403, "verification_required",
                        f"Proof that the address was verified is needed: {why}.")

    if not verification_id:
        raise refuse("send the `verification_id` of a code confirmed for this address")
    verification = session.get(Verification, verification_id[:32])
    if verification is None:
        raise refuse("no verification has that id")
    if verification.verified_at is None:
        raise refuse("that verification's code was never confirmed")
    if verification.email != email:
        raise refuse("that verification is for another address")
    if (conversation_id and verification.conversation_id
            and verification.conversation_id != conversation_id):
        raise refuse("that verification belongs to another conversation")
    if purposes is not None and verification.purpose not in purposes:
        raise refuse(f"a '{verification.purpose.value}' verification does not prove this")
    if now >= verification.verified_at + timedelta(minutes=settings.verified_for_minutes):
        raise refuse(f"that code was confirmed more than {settings.verified_for_minutes} "
                     "minutes ago")
    return verification
