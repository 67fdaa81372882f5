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
    request_type: str | None = None, *, received_at: datetime | None = None,
    due_at: datetime | None = None, agent: bool = False,
) -> EmailMessage:
    """The one-time code. For a request's own code (`received_at` and `due_at` given) it is
    also the confirmation of receipt (CCPA regs §7021(a)): when the request was received
    and when it will be answered. `agent`: to an authorized agent, about the request they
    made for someone."""
    # A long code (9 digits) is written in groups of three, which people read back more
    # easily; the chat takes it with or without the spaces.
    long_code = len(code) > CODE_DIGITS
    shown = " ".join(code[i:i + 3] for i in range(0, len(code), 3)) if long_code else code
    body = render("verification_code.txt", code=shown, ttl_minutes=ttl_minutes,
                  reference=reference, label=_label(request_type), long_code=long_code,
                  received_at=received_at, due_at=due_at, agent=agent)
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
                      summary: str | None = None, withheld: str | None = None
                      ) -> EmailMessage:
    """The answer: a link to the export package, or what was erased or corrected; for a
    request completed in part, what was withheld and why (`withheld`)."""
    body = render("request_completed.txt", label=_label(request_type), reference=reference,
                  export_link=export_link, link_days=link_days, summary=summary,
                  withheld=withheld)
    return build_message(sender, to, f"Your privacy request {reference} is complete", body)


def request_denied(sender: str, to: str, reference: str, request_type: str,
                   reason: str, *, appeal_days: int | None = None, appealed: str | None = None,
                   complaint_authority: str = "", complaint_url: str = "") -> EmailMessage:
    """The denial with its reason, and how to appeal it (in the chat or by replying), decided
    in writing within the jurisdiction's `appeal_days`; or, when the request's one appeal
    (`appealed`, its reference) was decided already, that no further appeal is possible and
    where to complain (the jurisdiction's authority)."""
    body = render("request_denied.txt", label=_label(request_type), reference=reference,
                  reason=reason, appeal_days=appeal_days, appealed=appealed,
                  complaint_authority=complaint_authority
                  or "the Attorney General of your state", complaint_url=complaint_url)
    return build_message(sender, to, f"Your privacy request {reference}", body)


# -- duplicates and appeals -------------------------------------------------------------------
def request_duplicate(sender: str, to: str, reference: str, request_type: str,
                      first_reference: str, *, due_at: datetime, first_open: bool
                      ) -> EmailMessage:
    """A second request of the same type for the same address: it points to the first, and
    to when that one is answered (no receipt, no clock of its own)."""
    body = render("request_duplicate.txt", label=_label(request_type), reference=reference,
                  first_reference=first_reference, due_at=due_at, first_open=first_open)
    return build_message(sender, to, f"Your privacy request {reference} repeats "
                         f"{first_reference}", body)


def appeal_received(sender: str, to: str, reference: str, request_reference: str,
                    due_at: datetime) -> EmailMessage:
    body = render("appeal_received.txt", reference=reference,
                  request_reference=request_reference, due_at=due_at)
    return build_message(sender, to, f"We received your appeal {reference}", body)


def appeal_extended(sender: str, to: str, reference: str, request_reference: str,
                    due_at: datetime, reason: str) -> EmailMessage:
    body = render("appeal_extended.txt", reference=reference,
                  request_reference=request_reference, due_at=due_at, reason=reason)
    return build_message(sender, to, f"Your appeal {reference}: more time needed", body)


def appeal_decided(sender: str, to: str, reference: str, request_reference: str, *,
                   granted: bool, reason: str, due_at: datetime | None = None,
                   complaint_authority: str = "", complaint_url: str = "") -> EmailMessage:
    """The written decision: a grant reopens the request (answered by `due_at`); a denial
    says where to complain (the jurisdiction's authority)."""
    body = render("appeal_decided.txt", reference=reference,
                  request_reference=request_reference, granted=granted, reason=reason,
                  due_at=due_at, complaint_authority=complaint_authority or
                  "the Attorney General of your state", complaint_url=complaint_url)
    outcome = "granted" if granted else "denied"
    return build_message(sender, to, f"Your appeal {reference} is {outcome}", body)


# -- authorized agents (CCPA regs §7063) ------------------------------------------------------
# The agent's copies of what the consumer is told: the subject of each (`agent_copy`).
_AGENT_COPY_SUBJECTS = {
    "received": "received",
    "extended": "more time needed",
    "denied": "not fulfilled",
    "completed": "complete",
    "duplicate": "already open",
    "appeal_received": "appeal received",
    "appeal_decided": "appeal decided",
    "appeal_extended": "appeal extended",
    "agent_declined": "refused by the consumer",
    "closed": "closed",
}


def request_label(request_type: str | None) -> str:
    """How a request of this type is named to people ("access request")."""
    return _label(request_type)


def agent_confirmation_request(sender: str, to: str, reference: str, request_type: str, *,
                               agent_email: str, filed_at: datetime, link: str,
                               expires_at: datetime) -> EmailMessage:
    """To the consumer an agent's request is for: did you authorise this agent? A link to
    the page that takes the answer (`site.agent_requests`)."""
    body = render("agent_confirmation_request.txt", label=_label(request_type),
                  reference=reference, agent_email=agent_email, filed_at=filed_at, link=link,
                  expires_at=expires_at)
    return build_message(sender, to, f"Please confirm the privacy request {reference} made "
                                     "for you", body)


def agent_notice(sender: str, to: str, reference: str, request_type: str, *,
                 expires_at: datetime) -> EmailMessage:
    """To the agent, once their address is verified: we asked the consumer to confirm."""
    body = render("agent_notice.txt", label=_label(request_type), reference=reference,
                  expires_at=expires_at)
    return build_message(sender, to, f"Privacy request {reference}: we asked the consumer to "
                                     "confirm", body)


def agent_declined(sender: str, to: str, reference: str, request_type: str, *,
                   agent_email: str) -> EmailMessage:
    """To the consumer who said they did not authorise the agent: the request is closed."""
    body = render("agent_declined.txt", label=_label(request_type), reference=reference,
                  agent_email=agent_email)
    return build_message(sender, to, f"Your privacy request {reference} is closed", body)


def agent_copy(sender: str, to: str, reference: str, request_type: str, event: str, *,
               due_at: datetime | None = None, reason: str | None = None,
               duplicate_of: str | None = None, first_open: bool = True,
               appeal: str | None = None, outcome: str | None = None, partial: bool = False,
               export: bool = False) -> EmailMessage:
    """The agent's copy of an update the consumer was sent (`event`): what happened, never
    the consumer's data (no export link can be passed in)."""
    body = render("agent_copy.txt", label=_label(request_type), reference=reference,
                  event=event, due_at=due_at, reason=reason, duplicate_of=duplicate_of,
                  first_open=first_open, appeal=appeal, outcome=outcome, partial=partial,
                  export=export)
    what = _AGENT_COPY_SUBJECTS.get(event, "update")
    if event == "duplicate" and not first_open:
        what = "repeats an answered request"
    return build_message(sender, to, f"Privacy request {reference} you made: {what}", body)
