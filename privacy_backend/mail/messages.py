"""The emails the service sends: each body is a plain-text Jinja2 template in
`mail/templates/`, rendered here with the subject that goes with it. Dates are written as
chat writes them (`privacy_assistant.dates.long_date`: "January 5, 2027")."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from privacy_assistant.code_mask import CODE_DIGITS
from privacy_assistant.dates import long_date
from privacy_backend.mail.mailer import build_message

_TYPE_LABELS = {
    "know": "request to know",
    "access": "access request",
    "portability": "data portability request",
    "deletion": "deletion request",
    "correction": "correction request",
}

# Plain text: nothing is escaped; a missing variable is an error, not an empty string.
# Block tags take their own line's newline with them (`trim_blocks`, `lstrip_blocks`), and
# each body keeps the newline it ends with.
_TEMPLATES = Environment(
    loader=PackageLoader("privacy_backend.mail", "templates"),
    autoescape=False,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_TEMPLATES.filters["long_date"] = long_date


def _label(request_type: str | None) -> str:
    return _TYPE_LABELS.get(request_type or "", "privacy request")


def render(template: str, **context: Any) -> str:
    """The body of `template` (a file name in `mail/templates/`) for `context`."""
    return _TEMPLATES.get_template(template).render(**context)


def verification_code(
    sender: str, to: str, code: str, ttl_minutes: int, reference: str | None = None,
    request_type: str | None = None,
) -> EmailMessage:
    # A long code (9 digits) is written in groups of three, which people read back more
    # easily; the chat takes it with or without the spaces.
    long_code = len(code) > CODE_DIGITS
    shown = " ".join(code[i:i + 3] for i in range(0, len(code), 3)) if long_code else code
    body = render("verification_code.txt", code=shown, ttl_minutes=ttl_minutes,
                  reference=reference, label=_label(request_type), long_code=long_code)
    return build_message(sender, to, "Your verification code", body)


def extension_notice(
    sender: str, to: str, reference: str, due_at: datetime, reason: str
) -> EmailMessage:
    body = render("extension_notice.txt", reference=reference, reason=reason, due_at=due_at)
    return build_message(sender, to, f"Your privacy request {reference}: more time needed", body)


def request_received(sender: str, to: str, reference: str, request_type: str,
                     due_at: datetime) -> EmailMessage:
    """The confirmation of receipt (CCPA regs §7021: within 10 business days): sent when the
    request is verified, which is when it can be worked."""
    body = render("request_received.txt", label=_label(request_type), reference=reference,
                  due_at=due_at)
    return build_message(sender, to, f"We received your privacy request {reference}", body)


def request_completed(sender: str, to: str, reference: str, request_type: str, *,
                      export_link: str | None = None, link_days: int | None = None,
                      summary: str | None = None) -> EmailMessage:
    """The answer: a link to the export package, or what was erased or corrected."""
    body = render("request_completed.txt", label=_label(request_type), reference=reference,
                  export_link=export_link, link_days=link_days, summary=summary)
    return build_message(sender, to, f"Your privacy request {reference} is complete", body)


def request_denied(sender: str, to: str, reference: str, request_type: str,
                   reason: str) -> EmailMessage:
    body = render("request_denied.txt", label=_label(request_type), reference=reference,
                  reason=reason)
    return build_message(sender, to, f"Your privacy request {reference}", body)
