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


def _label(request_type: str) -> str:
    return _TYPE_LABELS.get(request_type, "privacy request")


def request_received(sender: str, to: str, reference: str, request_type: str,
                     due_at: datetime) -> EmailMessage:
    """The confirmation of receipt (CCPA regs §7021: within 10 business days): sent when the
    request is verified, which is when it can be worked."""
    body = (
        f"Hello,\n\nWe have received your {_label(request_type)} and verified your email "
        f"address.\nReference: {reference}\n\nWe will respond by {due_at:%B %d, %Y}. If we "
        "need more time, we will tell you why before then.\n\n-- Privacy Team\n"
    )
    return build_message(sender, to, f"We received your privacy request {reference}", body)


def request_completed(sender: str, to: str, reference: str, request_type: str, *,
                      export_link: str | None = None, link_days: int | None = None,
                      summary: str | None = None) -> EmailMessage:
    """The answer: a link to the export package, or what was erased or corrected."""
    parts = [f"Hello,\n\nWe have completed your {_label(request_type)} {reference}.\n"]
    if export_link:
        parts.append(
            "\nA copy of the personal information we hold about you is ready: a readable page"
            " and the same data as JSON, a structured, machine-readable format. Open it here"
            f" within {link_days} days:\n\n{export_link}\n\nAnyone with this link can open the"
            " copy, so do not forward it.\n")
    if summary:
        parts.append(f"\n{summary}\n")
    parts.append("\n-- Privacy Team\n")
    return build_message(sender, to, f"Your privacy request {reference} is complete",
                         "".join(parts))


def request_denied(sender: str, to: str, reference: str, request_type: str,
                   reason: str) -> EmailMessage:
    body = (
        f"Hello,\n\nWe could not fulfil your {_label(request_type)} {reference}.\n"
        f"Reason: {reason}\n\nIf you believe this is wrong, reply to this email or contact "
        "us as described in our privacy statement.\n\n-- Privacy Team\n"
    )
    return build_message(sender, to, f"Your privacy request {reference}", body)
