"""What staff do to one request through the API (the staff token): an action of the
workbench (a status change, with a denial's reason, a partial completion or a duplicate's
first request; or the extension with its notice), with its email sent after the commit; and
the request's audit trail."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_backend.core.models import AuditEvent, DenialReason, PrivacyRequest
from privacy_backend.services import fulfilment, workbench
from privacy_backend.services.requests import records


def act(work: fulfilment.Work, reference: str, action: workbench.Action,
        note: str | None, *, denial_reason: DenialReason | None = None, partial: bool = False,
        duplicate_of: str | None = None) -> PrivacyRequest:
    """Do `action` on the request (404 if there is none; 409 when the status graph refuses,
    422 when a note it needs is missing or `duplicate_of` is no fit: nothing changes then),
    commit, and send the mail it queued, waiting at most MAIL_SEND_WAIT_SECONDS."""
    request = records.get_or_404(work.session, reference)
    done = workbench.act(work, request, action, note=note, denial_reason=denial_reason,
                         partial=partial, duplicate_of=duplicate_of)
    workbench.send(work.outbox, done.mail_ids, work.settings)
    return done.request


def audit_trail(session: Session, reference: str) -> list[AuditEvent]:
    """The request's audit rows, oldest first (404 if there is no such request)."""
    request = records.get_or_404(session, reference)
    return list(session.scalars(
        select(AuditEvent).where(AuditEvent.request_id == request.id).order_by(AuditEvent.id)
    ))
