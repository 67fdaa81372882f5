"""HTTP side of one-time codes, shared by the request and verification routes: queueing a
code's email in the outbox, and the error body for each way a code can fail."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from sqlalchemy.orm import Session

from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import MailStatus, OutboundMail, PrivacyRequest, Verification
from privacy_backend.core.settings import Settings
from privacy_backend.mail import messages as emails
from privacy_backend.mail.outbox import Outbox
from privacy_backend.schemas.requests import MailState
from privacy_backend.services import verification as codes

_FAILURES = {
    "invalid_code": (400, "The code is not correct."),
    "code_expired": (410, "The code has expired. Ask for a new code."),
    "code_superseded": (410, "A newer code was sent. Use the code from the latest email."),
    "too_many_attempts": (429, "Too many wrong codes. Ask for a new code."),
    "too_many_failures": (429, "Too many wrong codes or lookups recently. Try again later."),
    "already_verified": (409, "This code was already used."),
}


def failure_error(failure: codes.VerificationFailure, settings: Settings) -> ApiError:
    status_code, message = _FAILURES[failure.reason]
    if failure.reason == "invalid_code":
        message = f"{message} {failure.attempts_left} attempt(s) left."
    headers = None
    if failure.reason == "too_many_failures":
        headers = {"Retry-After": str(settings.code_failure_window_minutes * 60)}
    return ApiError(status_code, failure.reason, message, headers=headers,
                    attempts_left=failure.attempts_left)


def code_message(settings: Settings, verification: Verification, code: str,
                 request: PrivacyRequest | None = None) -> EmailMessage:
    return emails.verification_code(
        settings.mail_from, verification.email, code, settings.code_ttl_minutes,
        reference=request.reference if request else None,
        request_type=request.type.value if request else None,
    )


def queue_code(outbox: Outbox, session: Session, settings: Settings, *, now: datetime,
               verification: Verification, code: str, request: PrivacyRequest | None = None
               ) -> OutboundMail:
    """Put the code's email in the outbox, in the caller's transaction. It is worth sending
    only while the code can be typed, so it is dropped unsent once the code expires, is
    replaced or is confirmed."""
    return outbox.add(session, code_message(settings, verification, code, request),
                      kind="verification_code", now=now, not_after=verification.expires_at,
                      verification_id=verification.id)


def mail_state(status: MailStatus | None) -> MailState:
    """What the API says of a code's email: handed over, still being tried, given up (the
    code expired or was replaced first), or there is no such email."""
    if status is MailStatus.SENT:
        return "sent"
    if status is MailStatus.QUEUED:
        return "queued"
    return "failed" if status is MailStatus.DROPPED else "none"
