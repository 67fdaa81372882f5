"""One-time email codes, shared by request verification, status lookups and preferences.

A code is 6 digits from `secrets`, expires after `code_ttl_minutes`, allows
`code_max_attempts` tries, and is stored only as HMAC-SHA256(server secret, id + code).
Codes are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import Verification, VerificationPurpose
from privacy_backend.core.settings import Settings


class VerificationFailure(Exception):
    """`reason` is one of invalid_code, code_expired, too_many_attempts, code_superseded,
    already_verified."""

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

    Earlier open codes for the same request and purpose are superseded: only the newest works.
    At most `code_hourly_limit` codes go to one address per hour (counted whether or not a
    lookup matched, so the limit reveals nothing); beyond that, a 429.
    """
    recent = session.scalar(
        select(func.count()).select_from(Verification)
        .where(Verification.email == email, Verification.created_at > now - timedelta(hours=1))
    ) or 0
    if recent >= settings.code_hourly_limit:
        raise ApiError(429, "too_many_codes", "Too many codes were sent to this address in the "
                       "last hour. Try again later.", headers={"Retry-After": "3600"})
    if request_id is not None:
        session.execute(
            update(Verification)
            .where(Verification.request_id == request_id, Verification.purpose == purpose,
                   Verification.verified_at.is_(None), Verification.superseded_at.is_(None))
            .values(superseded_at=now)
        )
    code = generate_code()
    vid = uuid.uuid4().hex
    verification = Verification(
        id=vid,
        purpose=purpose,
        email=email,
        conversation_id=conversation_id,
        request_id=request_id,
        code_hash=hash_code(secret, vid, code),
        attempts=0,
        max_attempts=settings.code_max_attempts,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.code_ttl_minutes),
    )
    session.add(verification)
    session.flush()
    return verification, code


def latest_for_request(session: Session, request_id: int) -> Verification | None:
    return session.scalar(
        select(Verification)
        .where(Verification.request_id == request_id,
               Verification.purpose == VerificationPurpose.REQUEST)
        .order_by(case((Verification.superseded_at.is_(None), 0), else_=1),
                  Verification.created_at.desc())
        .limit(1)
    )


def check(
    session: Session, verification: Verification, code: str, *, secret: bytes, now: datetime
) -> None:
    """Consume one attempt and compare the code; raise `VerificationFailure` if it fails.

    The attempt counter is incremented with one conditional UPDATE and committed before the
    comparison, so concurrent guesses cannot exceed the limit.
    """
    if verification.verified_at is not None:
        raise VerificationFailure("already_verified")
    if verification.superseded_at is not None:
        raise VerificationFailure("code_superseded")
    if now >= verification.expires_at:
        raise VerificationFailure("code_expired")
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
    if not hmac.compare_digest(expected, verification.code_hash):
        left = max(verification.max_attempts - verification.attempts, 0)
        raise VerificationFailure("invalid_code" if left else "too_many_attempts", left)
    verification.verified_at = now
    session.flush()
