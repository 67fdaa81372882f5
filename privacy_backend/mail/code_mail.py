"""The one-time code's email: its message, queueing it in the outbox in the caller's
transaction, and what the API says of where it is (`mail_status`).

A request's own code (purpose `request`) is also its confirmation of receipt (CCPA regs
§7021(a), within 10 business days): the email says when the request was received and when
it will be answered, and the request notes when that email was first handed over
(`receipt_confirmed_at`, set by `confirm_receipt`, which the outbox runs when it marks the
email sent: one dropped unsent, its code expired during a relay outage, confirms nothing)."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from privacy_backend.core.models import (
    MailStatus,
    OutboundMail,
    PrivacyRequest,
    Verification,
    VerificationPurpose,
)
from privacy_backend.core.settings import Settings
from privacy_backend.mail import messages
from privacy_backend.mail.outbox import Outbox
from privacy_backend.schemas.requests import MailState

# The outbox's `kind` of a code's email.
KIND = "verification_code"


def code_message(settings: Settings, verification: Verification, code: str,
                 request: PrivacyRequest | None = None) -> EmailMessage:
    """The email carrying `code`; it names the request it verifies, if any, and for the
    request's own code confirms its receipt."""
    receipt = confirms_receipt(verification, request)
    return messages.verification_code(
        settings.mail_from, verification.email, code, settings.code_ttl_minutes,
        reference=request.reference if request else None,
        request_type=request.type.value if request else None,
        received_at=request.created_at if request and receipt else None,
        due_at=request.due_at if request and receipt else None,
        agent=request is not None and verification.email == request.agent_email,
    )


def confirms_receipt(verification: Verification, request: PrivacyRequest | None) -> bool:
    """Whether the code's email confirms the request's receipt: a request's own code does (a
    status lookup's code does not: the lookup proves nothing yet)."""
    return request is not None and verification.purpose is VerificationPurpose.REQUEST


def queue_code_mail(outbox: Outbox, session: Session, settings: Settings, *, now: datetime,
                    verification: Verification, code: str,
                    request: PrivacyRequest | None = None) -> OutboundMail:
    """Put the code's email in the outbox, in the caller's transaction. It is worth sending
    only while the code can be typed, so it is dropped unsent once the code expires, is
    replaced or is confirmed. A request's own code confirms its receipt: the outbox notes
    it on the request once the email is handed over."""
    return outbox.add(session, code_message(settings, verification, code, request),
                      kind=KIND, now=now, not_after=verification.expires_at,
                      verification_id=verification.id)


def queue_code_mail_later(outbox: Outbox, settings: Settings, *, now: datetime,
                          verification: Verification, code: str,
                          request: PrivacyRequest | None = None) -> None:
    """Write the code's email and queue it in a transaction of its own, then send it: the
    work a status lookup leaves until after its answer, so that neither the answer nor the
    time it takes says whether a code was issued (even the message is written only here)."""
    outbox.queue_and_send(code_message(settings, verification, code, request), kind=KIND,
                          now=now, not_after=verification.expires_at,
                          verification_id=verification.id)


def send_code_mail(outbox: Outbox, mail_id: int, settings: Settings) -> MailState:
    """After the commit: hand the code's email over, waiting at most
    MAIL_SEND_WAIT_SECONDS; where it is then."""
    return mail_state(outbox.send(mail_id, wait=settings.mail_send_wait_seconds))


def mail_state(status: MailStatus | None) -> MailState:
    """What the API says of a code's email: handed over, still being tried, given up (the
    code expired or was replaced first), or there is no such email."""
    if status is MailStatus.SENT:
        return "sent"
    if status is MailStatus.QUEUED:
        return "queued"
    return "failed" if status is MailStatus.DROPPED else "none"


def confirm_receipt(session: Session, verification_id: str | None, sent_at: datetime) -> None:
    """A code's email was handed over: if it was a request's own code, it confirmed the
    request's receipt (CCPA regs §7021(a)), noted the first time only. The outbox runs this
    for mail of `KIND` (`Outbox(on_sent=...)`)."""
    if verification_id is None:
        return
    request_id = (select(Verification.request_id)
                  .where(Verification.id == verification_id,
                         Verification.purpose == VerificationPurpose.REQUEST)
                  .scalar_subquery())
    session.execute(update(PrivacyRequest).where(
        PrivacyRequest.id == request_id, PrivacyRequest.receipt_confirmed_at.is_(None),
    ).values(receipt_confirmed_at=sent_at))
