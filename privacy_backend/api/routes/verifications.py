"""Generic email verification (`/api/v1/verifications`) for flows without a request:
status lookups and marketing preferences. Request verification reuses the same service
(`services.verification`)."""

from __future__ import annotations

from fastapi import APIRouter, status

from privacy_backend.api.deps import NowDep, OutboxDep, SecretDep, SessionDep, SettingsDep
from privacy_backend.core.models import VerificationPurpose
from privacy_backend.schemas.requests import (
    CodeIn,
    CodeSent,
    VerificationConfirmed,
    VerificationOut,
    VerificationStart,
)
from privacy_backend.services import verification as verification_service

router = APIRouter(prefix="/verifications", tags=["verifications"])


@router.post("", response_model=CodeSent, status_code=status.HTTP_201_CREATED)
def start(body: VerificationStart, session: SessionDep, settings: SettingsDep, now: NowDep,
          outbox: OutboxDep, secret: SecretDep) -> CodeSent:
    """Issue a code and queue its email in one transaction, then send the email, waiting at
    most MAIL_SEND_WAIT_SECONDS: `mail_status` says whether it was handed over."""
    issued, mail = verification_service.start(
        session, outbox, settings=settings, secret=secret, now=now,
        purpose=VerificationPurpose(body.purpose), email=body.email,
        conversation_id=body.conversation_id,
    )
    return CodeSent.of(issued.id, issued.expires_at, mail, issued.code_digits)


@router.get("/{verification_id}", response_model=VerificationOut)
def read(verification_id: str, session: SessionDep) -> VerificationOut:
    v = verification_service.get_or_404(session, verification_id)
    return VerificationOut(id=v.id, purpose=v.purpose, expires_at=v.expires_at,
                           verified=v.verified_at is not None, verified_at=v.verified_at,
                           attempts_left=max(v.max_attempts - v.attempts, 0))


@router.post("/{verification_id}/confirm", response_model=VerificationConfirmed)
def confirm(verification_id: str, body: CodeIn, session: SessionDep, settings: SettingsDep,
            now: NowDep, secret: SecretDep) -> VerificationConfirmed:
    v, reference = verification_service.confirm(session, verification_id, body.code,
                                                settings=settings, secret=secret, now=now)
    assert v.verified_at is not None
    return VerificationConfirmed(id=v.id, purpose=v.purpose, email=v.email,
                                 conversation_id=v.conversation_id, verified_at=v.verified_at,
                                 request_reference=reference)
