"""The texts of the emails the service sends."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from privacy_backend.mail.mailer import build_message

_TYPE_LABELS = {
    "know": "request to know",
    "access": "access request",
    "portability": "data portability request",
    "deletion": "deletion request",
    "correction": "correction request",
}


def verification_code(
    sender: str, to: str, code: str, ttl_minutes: int, reference: str | None = None,
    request_type: str | None = None,
) -> EmailMessage:
    about = ""
    if reference:
        label = _TYPE_LABELS.get(request_type or "", "privacy request")
        about = f"We received your {label} (reference {reference}).\n\n"
    body = (
        f"Hello,\n\n{about}Your verification code is: {code}\n\n"
        f"It expires in {ttl_minutes} minutes. If you did not ask for this, ignore this email;"
        " nothing happens without the code.\n\n-- Privacy Team\n"
    )
    return build_message(sender, to, "Your verification code", body)


def extension_notice(
    sender: str, to: str, reference: str, due_at: datetime, reason: str
) -> EmailMessage:
    body = (
        f"Hello,\n\nWe need more time to complete your privacy request {reference}.\n"
        f"Reason: {reason}\n\nWe will answer by {due_at:%B %d, %Y}.\n\n-- Privacy Team\n"
    )
    return build_message(sender, to, f"Your privacy request {reference}: more time needed", body)
