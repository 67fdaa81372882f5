"""One-time email codes, shared by request verification, status lookups and preferences.

A code is 6 digits from `secrets` (9 while its address is over its guessing limit:
`code_limits.code_digits`), expires after `code_ttl_minutes`, allows
`code_max_attempts` tries, and is stored only as HMAC-SHA256(id + code) under a key derived
for codes alone from the code secret (`core/sealing.py`).
Codes are never logged.

A status lookup whose reference and email do not match gets a verification too, so that its
answer looks the same, but that verification has no code (`UNSENT`): no code can confirm it,
and it behaves like a code that is always wrong. The limits that bound sending and guessing
live in `code_limits`; unsent verifications are counted exactly like real ones, so a 429
reveals nothing about a lookup either.

Besides the codes themselves: starting and confirming a verification that no request owns
(`start`, `confirm`: status lookups' and marketing preferences' codes, emailed through the
outbox) and the error answer for each way a code can fail (`failure_error`).
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from privacy_assistant.code_mask import CODE_DIGITS
from privacy_backend.core.errors import ApiError, not_found
from privacy_backend.core.models import PrivacyRequest, Verification, VerificationPurpose
from privacy_backend.core.sealing import CODE_HASH, keyed_hash
from privacy_backend.core.settings import Settings
from privacy_backend.mail.code_mail import queue_code_mail, send_code_mail
from privacy_backend.mail.outbox import Outbox
from privacy_backend.schemas.requests import MailState
from privacy_backend.services import code_limits, links, opt_outs
from privacy_backend.services.code_limits import UNSENT


class VerificationFailure(Exception):
    """`reason` is one of invalid_code, code_expired, too_many_attempts, too_many_failures,
    code_superseded, already_verified."""

    def __init__(self, reason: str, attempts_left: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts_left = attempts_left


# The answer to each way a code can fail: HTTP status and message.
_FAILURES = {
    "invalid_code": (400, "The code is not correct."),
    "code_expired": (410, "The code has expired. Ask for a new code."),
    "code_superseded": (410, "A newer code was sent. Use the code from the latest email."),
    "too_many_attempts": (429, "Too many wrong codes. Ask for a new code."),
    "too_many_failures": (429, "Too many wrong codes or lookups recently. Try again later."),
    "already_verified": (409, "This code was already used."),
}


def failure_error(failure: VerificationFailure, settings: Settings) -> ApiError:
    """The error answer for `failure`: the attempts left, and when to try again."""
    http_status, message = _FAILURES[failure.reason]
    if failure.reason == "invalid_code":
        message = f"{message} {failure.attempts_left} attempt(s) left."
    headers = None
    if failure.reason == "too_many_failures":
        headers = {"Retry-After": str(settings.code_failure_window_minutes * 60)}
    return ApiError(http_status, failure.reason, message, headers=headers,
                    attempts_left=failure.attempts_left)


def generate_code(digits: int = CODE_DIGITS) -> str:
    return f"{secrets.randbelow(10 ** digits):0{digits}d}"


def hash_code(secret: bytes, verification_id: str, code: str) -> str:
    """The code's HMAC-SHA256 under the code secret's key for codes (`sealing.CODE_HASH`)."""
    return keyed_hash(secret, CODE_HASH, f"{verification_id}:{code}".encode())


def issue(session: Session, *, settings: Settings, secret: bytes, now: datetime,
          purpose: VerificationPurpose, email: str, conversation_id: str | None = None,
          request_id: int | None = None) -> tuple[Verification, str]:
    """Create a verification and return it with the plain code (to be emailed, then dropped).

    Earlier open codes for the same request (a status lookup: the same address and
    conversation) and purpose are superseded: only the newest works. Beyond a limit (see
    `code_limits`), an ApiError 429 `too_many_codes` and nothing is written.
    """
    code_limits.admit(session, settings=settings, now=now, email=email,
                      conversation_id=conversation_id, purpose=purpose)
    digits = code_limits.code_digits(session, settings=settings, now=now, email=email)
    code = generate_code(digits)
    vid = uuid.uuid4().hex
    verification = _add(session, settings=settings, now=now, vid=vid, purpose=purpose,
                        email=email, conversation_id=conversation_id, request_id=request_id,
                        code_hash=hash_code(secret, vid, code), code_digits=digits)
    return verification, code


def issue_unsent(session: Session, *, settings: Settings, now: datetime,
                 purpose: VerificationPurpose, email: str,
                 conversation_id: str | None = None) -> Verification:
    """A verification like `issue`'s, with the same limits and supersession, but without a
    code: it is never emailed and nothing confirms it (for a status lookup that matched no
    request, so that its answer does not reveal that)."""
    code_limits.admit(session, settings=settings, now=now, email=email,
                      conversation_id=conversation_id, purpose=purpose)
    return _add(session, settings=settings, now=now, vid=uuid.uuid4().hex, purpose=purpose,
                email=email, conversation_id=conversation_id, request_id=None,
                code_hash=UNSENT)


def _add(session: Session, *, settings: Settings, now: datetime, vid: str,
         purpose: VerificationPurpose, email: str, conversation_id: str | None,
         request_id: int | None, code_hash: str, code_digits: int = CODE_DIGITS
         ) -> Verification:
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
        code_digits=code_digits,
        attempts=0,
        max_attempts=settings.code_max_attempts,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.code_ttl_minutes),
    )
    session.add(verification)
    session.flush()
    return verification


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

    Refused without consuming an attempt while the conversation is over its guessing limit
    (`too_many_failures`), and, while the address is over its own, for a code already tried
    once (`too_many_attempts`: each code may then be tried once only, so the owner typing the
    latest code is never held back by a stranger's guesses). The attempt counter is
    incremented with one conditional UPDATE and committed before the comparison, so
    concurrent guesses cannot exceed the limits. An unsent verification fails like a wrong
    code, always.
    """
    if verification.verified_at is not None:
        raise VerificationFailure("already_verified")
    if verification.superseded_at is not None:
        raise VerificationFailure("code_superseded")
    if now >= verification.expires_at:
        raise VerificationFailure("code_expired")
    code_limits.lock(session, verification.email, verification.conversation_id)
    if code_limits.conversation_limited(session, settings=settings, now=now,
                                        conversation_id=verification.conversation_id):
        raise VerificationFailure("too_many_failures")
    failures = code_limits.address_failures(session, settings=settings, now=now,
                                            email=verification.email)
    once = failures >= settings.code_address_failure_limit
    allowed = [Verification.id == verification.id,
               Verification.attempts < Verification.max_attempts,
               Verification.verified_at.is_(None)]
    if once:
        allowed.append(Verification.attempts == 0)
    result = session.execute(
        update(Verification).where(*allowed).values(attempts=Verification.attempts + 1)
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
        if left and failures + 1 >= settings.code_address_failure_limit:
            # The address is over its guessing limit now: this code cannot be tried again.
            session.execute(update(Verification).where(Verification.id == verification.id)
                            .values(max_attempts=Verification.attempts)
                            .execution_options(synchronize_session=False))
            session.commit()
            left = 0
        raise VerificationFailure("invalid_code" if left else "too_many_attempts", left)
    verification.verified_at = now
    # The conversation that proved the address is that person's data from now on.
    links.record(session, conversation_id=verification.conversation_id,
                 email=verification.email, now=now)
    opt_outs.link(session, conversation_id=verification.conversation_id,
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
    confirmed, another address, another conversation (or none, when the code was confirmed
    in one), another purpose
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
    if verification.conversation_id and verification.conversation_id != conversation_id:
        # A code confirmed in a conversation proves the address to that conversation only, so
        # a call must name it (one that leaves it out proves nothing).
        raise refuse("that verification belongs to another conversation" if conversation_id
                     else "send the `conversation_id` the code was confirmed in")
    if purposes is not None and verification.purpose not in purposes:
        raise refuse(f"a '{verification.purpose.value}' verification does not prove this")
    if now >= verification.verified_at + timedelta(minutes=settings.verified_for_minutes):
        raise refuse(f"that code was confirmed more than {settings.verified_for_minutes} "
                     "minutes ago")
    return verification


def start(session: Session, outbox: Outbox, *, settings: Settings, secret: bytes,
          now: datetime, purpose: VerificationPurpose, email: str,
          conversation_id: str | None) -> tuple[Verification, MailState]:
    """Issue a code no request owns and queue its email in one transaction, then send the
    email, waiting at most MAIL_SEND_WAIT_SECONDS; the verification and where its email is."""
    verification, code = issue(session, settings=settings, secret=secret, now=now,
                               purpose=purpose, email=email, conversation_id=conversation_id)
    mail = queue_code_mail(outbox, session, settings, now=now, verification=verification,
                           code=code)
    session.commit()
    return verification, send_code_mail(outbox, mail.id, settings)


def get_or_404(session: Session, verification_id: str) -> Verification:
    """The verification with that id, or ApiError 404 `not_found`."""
    verification = session.get(Verification, verification_id[:32])
    if verification is None:
        raise not_found("verification")
    return verification


def confirm(session: Session, verification_id: str, code: str, *, settings: Settings,
            secret: bytes, now: datetime) -> tuple[Verification, str | None]:
    """Check the code of a verification that no request's verify call owns, and commit; the
    verification and the reference of the request it belongs to (a status lookup's), if any.
    A request's code: 409 `wrong_endpoint`; a failed code: its `failure_error`."""
    verification = get_or_404(session, verification_id)
    if verification.purpose is VerificationPurpose.REQUEST:
        raise ApiError(409, "wrong_endpoint",
                       "Request codes are confirmed with POST /api/v1/requests/{reference}/verify.")
    try:
        check(session, verification, code, settings=settings, secret=secret, now=now)
    except VerificationFailure as failure:
        raise failure_error(failure, settings) from None
    session.commit()
    linked = (session.get(PrivacyRequest, verification.request_id)
              if verification.request_id is not None else None)
    return verification, linked.reference if linked else None
