"""HTTP side of one-time codes, shared by the request and verification routes: mailing a
code, and the error body for each way a code can fail."""

from __future__ import annotations

import logging

from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import PrivacyRequest
from privacy_backend.core.settings import Settings
from privacy_backend.mail import messages as emails
from privacy_backend.mail.mailer import Mailer, MailError
from privacy_backend.services import verification as codes

log = logging.getLogger(__name__)

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


def send_code(mailer: Mailer, settings: Settings, to: str, code: str,
              request: PrivacyRequest | None = None) -> None:
    """Email a code. Raises ApiError 503 if the mail cannot be handed over."""
    message = emails.verification_code(
        settings.mail_from, to, code, settings.code_ttl_minutes,
        reference=request.reference if request else None,
        request_type=request.type.value if request else None,
    )
    try:
        mailer.send(message)
    except MailError as exc:
        log.warning("verification mail not sent: %s", exc)
        raise ApiError(503, "mail_unavailable",
                       "The verification email could not be sent. Try again later.") from exc
