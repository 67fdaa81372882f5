"""Generic email verification (`/api/v1/verifications`) for flows without a request:
status lookups and marketing preferences. Request verification reuses the same service."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from privacy_backend.api.codes import failure_error, mail_state, queue_code
from privacy_backend.api.deps import NowDep, OutboxDep, SecretDep, SessionDep, SettingsDep
from privacy_backend.core.errors import ApiError, not_found
from privacy_backend.core.models import PrivacyRequest, Verification, VerificationPurpose
from privacy_backend.schemas.requests import (
    CodeIn,
    CodeSent,
    VerificationConfirmed,
    VerificationOut,
    VerificationStart,
)
from privacy_backend.services import verification as codes

router = APIRouter(prefix="/verifications", tags=["verifications"])

@router.post("", response_model=CodeSent, status_code=status.HTTP_201_CREATED)
def start(body: VerificationStart, session: SessionDep, settings: SettingsDep, now: NowDep,
          outbox: OutboxDep, secret: SecretDep) -> CodeSent:
    """Issue a code and queue its email in one transaction, then send the email, waiting at
    most MAIL_SEND_WAIT_SECONDS: `mail_status` says whether it was handed over."""
    verification, code = codes.issue(
        session, settings=settings, secret=secret, now=now,
        purpose=VerificationPurpose(body.purpose), email=body.email,
        conversation_id=body.conversation_id,
    )
    mail = queue_code(outbox, session, settings, now=now, verification=verification, code=code)
    session.commit()
    sent = outbox.send(mail.id, wait=settings.mail_send_wait_seconds)
    return CodeSent.of(verification.id, verification.expires_at, mail_state(sent))


def _load(session: Session, verification_id: str) -> Verification:
    verification = session.get(Verification, verification_id[:32])
    if verification is None:
        raise not_found("verification")
    return verification


@router.get("/{verification_id}", response_model=VerificationOut)
def read(verification_id: str, session: SessionDep) -> VerificationOut:
    v = _load(session, verification_id)
    return VerificationOut(id=v.id, purpose=v.purpose, expires_at=v.expires_at,
                           verified=v.verified_at is not None, verified_at=v.verified_at,
                           attempts_left=max(v.max_attempts - v.attempts, 0))


@router.post("/{verification_id}/confirm", response_model=VerificationConfirmed)
def confirm(verification_id: str, body: CodeIn, session: SessionDep, settings: SettingsDep,
            now: NowDep, secret: SecretDep) -> VerificationConfirmed:
    v = _load(session, verification_id)
    if v.purpose is VerificationPurpose.REQUEST:
        raise ApiError(409, "wrong_endpoint",
                       "Request codes are confirmed with POST /api/v1/requests/{reference}/verify.")
    try:
        codes.check(session, v, body.code, settings=settings, secret=secret, now=now)
    except codes.VerificationFailure as failure:
        raise failure_error(failure, settings) from None
    session.commit()
    reference = None
    if v.request_id is not None:
        linked = session.get(PrivacyRequest, v.request_id)
        reference = linked.reference if linked else None
    assert v.verified_at is not None
    return VerificationConfirmed(id=v.id, purpose=v.purpose, email=v.email,
                                 conversation_id=v.conversation_id, verified_at=v.verified_at,
                                 request_reference=reference)
