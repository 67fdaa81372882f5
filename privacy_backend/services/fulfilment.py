"""What completing a request does, by type, for the verified address behind it.

- **know, access, portability:** an export package of everything held about the address
  (`export_package`): its requests with their audit trails, its marketing choices and their
  history, the transcript of every conversation in which it was verified, and those
  conversations' handoffs. JSON under a versioned schema (`docs/export-schema.md`) and a
  readable page of the same, reached through a signed link that expires; the package is
  stored sealed (`core.sealing`) and only until then.
- **deletion:** the linked conversations are erased from Rasa's tracker store (with the
  REST channel's stored answers, and a mark no turn in flight writes past: `erasure`) and
  the backend (handoffs, summaries, console reads, links), with the address's verifications,
  mail files, marketing choices and history, and export packages. What the law asks to keep
  stays in minimal form: each request record and its audit (the address, name, region,
  details and conversation are removed, and every free-text note written on them before
  reads `[erased]`, except a denial's reason, which §7101 asks to keep; an appeal keeps its
  decision but not the person's own words or conversation; an agent's address goes), and a
  suppression entry (a keyed hash of the address) so that an opt-out outlives the deletion.
  The audit records what was erased and what was kept, and why.
- **correction:** staff say what was corrected (the note is required), and that is recorded
  and emailed.

Any type may be completed in part (`partial`): the note then says what was withheld and
why, and the email says so. An authorized agent's request copies the answer to the agent
(`agent_requests.copy_to_agent`), without the export link.

Completion is resumable. A deletion first records what it will erase (`erasure_started`,
committed), then erases the tracker store's events and the mail files (idempotent, outside
the backend's transaction), then everything in the backend and the status change in one
transaction. A crash anywhere leaves the request `in_progress`; completing again redoes
what is left, and what is already gone is not erased twice. The other types change the
backend only, in one transaction.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import (
    Appeal,
    AuditEvent,
    Export,
    ExportDownload,
    MarketingPreference,
    OutboundMail,
    PreferenceChange,
    PrivacyRequest,
    RequestStatus,
    RequestType,
    Suppression,
    Verification,
)
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.mail import messages as emails
from privacy_backend.mail.outbox import NOTICE_WINDOW, Outbox
from privacy_backend.services import (
    agent_requests,
    erasure,
    export_links,
    export_package,
    links,
    opt_outs,
)
from privacy_backend.services import preferences as prefs
from privacy_backend.services.export_package import (  # the export page opens packages here
    SCHEMA_VERSION,
    open_package,
    package,
)
from privacy_backend.services.requests import record, require_transition, transition

__all__ = ["Work", "complete", "open_package"]

log = logging.getLogger(__name__)

EXPORT_TYPES = frozenset({RequestType.KNOW, RequestType.ACCESS, RequestType.PORTABILITY})
# The address a request keeps once erased (`PrivacyRequest.email` cannot be empty).
ERASED = "erased"
# What a free-text note on an erased request reads instead (the audit shows there was one).
ERASED_NOTE = "[erased]"

KEPT = [
    {"what": "each request record and its audit trail, without the address, name, region, "
             "details, conversation or free-text notes",
     "why": "CCPA regulations §7101 require records of requests and how they were answered "
            "for 24 months"},
    {"what": "each opt-out of sale and sharing or of sensitive uses, without the address or "
             "conversation",
     "why": "records of requests (CCPA regulations §7101); without the address nothing of "
            "the person is left to sell or share"},
    {"what": "a suppression entry: a keyed hash of the address, not the address",
     "why": "so that the address stays opted out of marketing after its data is erased"},
    {"what": "the email telling the requester that the deletion is complete",
     "why": "the answer to the request; mail files are deleted after RETENTION_MAIL_DAYS"},
]


@dataclass
class Work:
    """What a fulfilment works with: the caller's session and where things live."""

    session: Session
    settings: Settings
    now: datetime
    outbox: Outbox
    tracker_store: TrackerStore
    actor: str


def _export(work: Work, request: PrivacyRequest) -> tuple[Export, str]:
    data = package(work.session, work.tracker_store, work.settings, request.email, work.now)
    sealed = export_package.seal(work.settings, data)
    expires = work.now + timedelta(days=work.settings.export_link_ttl_days)
    export = Export(id=uuid.uuid4().hex, request_id=request.id, schema_version=SCHEMA_VERSION,
                    sealed=sealed, created_at=work.now, expires_at=expires)
    work.session.add(export)
    work.session.flush()
    record(work.session, request, actor=work.actor, action="export_created", now=work.now,
               after={"export": export.id, "expires_at": expires.isoformat(),
                      "requests": len(data["requests"]),
                      "conversations": len(data["conversations"]),
                      "handoffs": len(data["handoffs"]),
                      "preference_changes": len(data["marketing"]["history"])})
    token = export_links.sign(work.settings.link_secret(), export.id, expires)
    return export, f"{work.settings.public_url}/exports/{token}"


# -- deletion -------------------------------------------------------------------------------
def _mail_files(settings: Settings, address: str) -> list[Path]:
    """The `.eml` files in MAIL_DIR addressed to `address` (MAIL_BACKEND=file)."""
    found: list[Path] = []
    directory = settings.mail_path
    if not directory.is_dir():
        return found
    for path in sorted(directory.glob("*.eml")):
        try:
            with path.open("rb") as fh:
                message = email.message_from_binary_file(fh, policy=email.policy.default)
        except OSError:
            continue
        to = str(message.get("To") or "")
        if address in {a.lower() for _, a in email.utils.getaddresses([to])}:
            found.append(path)
    return found


def _started(session: Session, request: PrivacyRequest) -> AuditEvent | None:
    return session.scalar(select(AuditEvent).where(
        AuditEvent.request_id == request.id, AuditEvent.action == "erasure_started"))


def _blank_notes(session: Session, request_ids: list[int]) -> int:
    """Replace the free-text notes of these requests' audit trails (staff's reasons, what
    was corrected) with `ERASED_NOTE`; how many there were. A denial's reason stays: CCPA
    regulations §7101 ask the business to keep the basis for denying a request for 24
    months, beside the request's other records."""
    if not request_ids:
        return 0
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.request_id.in_(request_ids), AuditEvent.note.is_not(None),
        AuditEvent.note != ERASED_NOTE)).all()
    blanked = [event for event in events if not _denial(event)]
    for event in blanked:
        event.note = ERASED_NOTE
    return len(blanked)


def _denial(event: AuditEvent) -> bool:
    """Whether the event is a request's denial (its note is the basis for it)."""
    return (event.action == "status_changed"
            and (event.after or {}).get("status") == RequestStatus.REJECTED.value)


def _erase(work: Work, request: PrivacyRequest, note: str | None, *, partial: bool = False
           ) -> list[int]:
    session, address = work.session, request.email
    conversation_ids = [link.conversation_id for link in links.conversations_of(session, address)]
    started = _started(session, request)
    if started is None:
        # What this deletion covers, committed before anything is erased, so that a run
        # cut short and the run that finishes it report the same totals.
        started = record(session, request, actor=work.actor, action="erasure_started",
                             now=work.now, after={
                                 "conversations": len(conversation_ids),
                                 "tracker_events": work.tracker_store.count(conversation_ids),
                                 "mail_files": len(_mail_files(work.settings, address))})
        session.commit()
    planned = dict(started.after or {})
    # Outside the backend's transaction, and idempotent: the tracker store, the mail files.
    erasure.erase_events(work.tracker_store, conversation_ids, work.now)
    for path in _mail_files(work.settings, address):
        path.unlink(missing_ok=True)
    # Everything else, and the status change, in one transaction, holding the request's row
    # so that a second completion running at the same time waits and then finds it done.
    session.refresh(request, with_for_update=True)
    require_transition(request, RequestStatus.COMPLETED)
    request.partial = partial
    handoffs, _ = erasure.erase_rows(session, conversation_ids)
    verification_ids = list(session.scalars(select(Verification.id).where(
        Verification.email == address)))
    if verification_ids:
        session.execute(delete(OutboundMail).where(
            OutboundMail.verification_id.in_(verification_ids)))
        session.execute(delete(Verification).where(Verification.id.in_(verification_ids)))
    row = prefs.get_row(session, address, lock=True)
    preference_changes = 0
    if row is not None:
        removed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            delete(PreferenceChange).where(PreferenceChange.preference_id == row.id))
        preference_changes = removed.rowcount or 0
        session.execute(delete(MarketingPreference).where(MarketingPreference.id == row.id))
    # Opt-outs of sale and sharing and of sensitive uses are records of requests too (§7101):
    # kept without the address, and with it gone nothing is left to sell or share.
    opt_outs_kept = opt_outs.minimise(session, address, work.now)
    digest = prefs.suppression_hash(work.settings, address)
    if session.scalar(select(Suppression.id).where(Suppression.email_hash == digest)) is None:
        session.add(Suppression(email_hash=digest, created_at=work.now, reason="deletion"))
    own = list(session.scalars(select(PrivacyRequest).where(PrivacyRequest.email == address)))
    export_ids = list(session.scalars(select(Export.id).where(
        Export.request_id.in_([r.id for r in own])))) if own else []
    if export_ids:
        session.execute(delete(ExportDownload).where(ExportDownload.export_id.in_(export_ids)))
        session.execute(delete(Export).where(Export.id.in_(export_ids)))
    # The answer goes to the address before the records forget it (the outbox seals it).
    mail = work.outbox.add(session, emails.request_completed(
        work.settings.mail_from, address, request.reference, request.type.value,
        summary="We erased the conversations you had with our privacy assistant after "
                "verifying this address, your verification codes, your marketing choices "
                "and their history, and the emails we sent you about your requests. We keep "
                "a record of each request without your details, as the law requires, and a "
                "coded (hashed) form of your address so that we never send you marketing.",
        withheld=note.strip() if partial and note else None),
        kind="request_completed", now=work.now, not_after=work.now + NOTICE_WINDOW)
    copy = agent_requests.copy_to_agent(session, work.outbox, work.settings, request,
                                        "completed", work.now, partial=request.partial,
                                        export=False)
    for item in own:
        item.email, item.name, item.region, item.details = ERASED, None, None, None
        item.agent_email = None
        item.conversation_id, item.idempotency_key, item.idempotency_fingerprint = None, None, None
        item.extension_reason = ERASED_NOTE if item.extension_reason else None
        item.erased_at = work.now
    notes = _blank_notes(session, [item.id for item in own])
    appeals = _minimise_appeals(session, [item.id for item in own], work.now)
    transition(session, request, RequestStatus.COMPLETED, actor=work.actor, now=work.now,
                   note=note)
    record(session, request, actor=work.actor, action="erased", now=work.now, after={
        "erased": {**planned, "handoffs": handoffs, "verifications": len(verification_ids),
                   "preference_changes": int(preference_changes),
                   "marketing_preferences": int(row is not None),
                   "exports": len(export_ids), "requests_minimised": len(own),
                   "opt_outs_minimised": opt_outs_kept,
                   "appeals_minimised": appeals,
                   "notes": notes},
        "kept": KEPT})
    return [mail.id] + ([copy] if copy is not None else [])


def _minimise_appeals(session: Session, request_ids: list[int], now: datetime) -> int:
    """The appeals of these requests keep their decision (a record of how the request was
    answered, §7101) and lose the person's own words and conversation; how many."""
    if not request_ids:
        return 0
    found = list(session.scalars(select(Appeal).where(Appeal.request_id.in_(request_ids),
                                                      Appeal.erased_at.is_(None))))
    for appeal in found:
        appeal.reason = ERASED_NOTE if appeal.reason else None
        appeal.conversation_id = None
        appeal.erased_at = now
    return len(found)


# -- completion -----------------------------------------------------------------------------
def complete(work: Work, request: PrivacyRequest, note: str | None, *,
             partial: bool = False) -> list[int]:
    """Fulfil the request (in part, with `partial`: the note says what was withheld and
    why) and mark it completed; commits. Returns the outbox ids of the mail to send (after
    the commit)."""
    require_transition(request, RequestStatus.COMPLETED)
    if request.type is RequestType.CORRECTION and not (note and note.strip()):
        raise ApiError(422, "note_required", "Say what was corrected: the note is recorded "
                       "and emailed to the requester.")
    if partial and not (note and note.strip()):
        raise ApiError(422, "note_required", "Say what was withheld and why: a request "
                       "completed in part says so to the requester.")
    if request.type is RequestType.DELETION:
        mail_ids = _erase(work, request, note, partial=partial)
        work.session.commit()
        log.info("deletion request %s completed", request.reference)
        return mail_ids
    work.session.refresh(request, with_for_update=True)
    require_transition(request, RequestStatus.COMPLETED)
    link: str | None = None
    if request.type in EXPORT_TYPES:
        _, link = _export(work, request)
    request.partial = partial
    summary = f"What we corrected: {note.strip()}" if (
        request.type is RequestType.CORRECTION and note and not partial) else None
    mail = work.outbox.add(work.session, emails.request_completed(
        work.settings.mail_from, request.email, request.reference, request.type.value,
        export_link=link, link_days=work.settings.export_link_ttl_days if link else None,
        summary=summary, withheld=note.strip() if partial and note else None),
        kind="request_completed", now=work.now, not_after=work.now + NOTICE_WINDOW)
    copy = agent_requests.copy_to_agent(work.session, work.outbox, work.settings, request,
                                        "completed", work.now, partial=partial,
                                        export=link is not None)
    transition(work.session, request, RequestStatus.COMPLETED, actor=work.actor,
                   now=work.now, note=note)
    work.session.commit()
    log.info("%s request %s completed", request.type.value, request.reference)
    return [mail.id] + ([copy] if copy is not None else [])
