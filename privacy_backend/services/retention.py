"""The retention purge (`privacy-backend purge [--dry-run]`, and daily inside `serve`): what
is past its period goes, and the report says what went.

- conversations in which no address was verified, by their last message:
  `RETENTION_UNVERIFIED_CONVERSATION_DAYS` (30), or by their first however recent their
  last (a Slack chat, a resumed widget chat): `RETENTION_UNVERIFIED_CONVERSATION_MAX_DAYS`
  (90);
- conversations linked to a verified address, by their last message:
  `RETENTION_VERIFIED_CONVERSATION_DAYS` (730), or by their first:
  `RETENTION_VERIFIED_CONVERSATION_MAX_DAYS` (1095);
- mail files (`MAIL_BACKEND=file`), by when they were written: `RETENTION_MAIL_DAYS` (30);
- requests closed unverified, by their closing: `RETENTION_CLOSED_UNVERIFIED_DAYS` (90);
- export packages, once their link has expired: `EXPORT_LINK_TTL_DAYS` (7);
- links of an address to a conversation verified longer ago than
  `RETENTION_VERIFIED_CONVERSATION_MAX_DAYS`: their conversation is past its maximum age
  (it started before it was verified), so this catches only links whose events are gone;
- one-time codes (an address, a conversation id), by their expiry:
  `RETENTION_VERIFICATION_DAYS` (30), long after every limit that counts them; a request
  keeps when it was verified, and its audit the code's id;
- failed console logins (the email typed), once out of the lockout's window:
  `LOGIN_WINDOW_MINUTES` (15);
- the marks erased conversations leave in the tracker store, after
  `tombstones.MARK_DAYS` (1).

A verified conversation is kept as long as the records of the request it proves (CCPA
regulations §7101 keep those 24 months), unless a deletion request erases it sooner. A
conversation nobody verified cannot be tied to a person and is worth nothing after a month.
Conversations are erased with `services.erasure` (tracker store first, then the backend's
rows), so a purge cut short is finished by the next one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from privacy_assistant import tombstones
from privacy_backend.core.models import (
    AuditEvent,
    ConversationLink,
    Export,
    LoginAttempt,
    OutboundMail,
    PrivacyRequest,
    RequestStatus,
    Verification,
)
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.services import erasure, links

log = logging.getLogger(__name__)
# Rows deleted per statement, so that a long list never makes one huge statement.
BATCH = 500


@dataclass
class Report:
    """What the purge deleted (or, in a dry run, would delete), by kind."""

    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        verb = "would delete" if self.dry_run else "deleted"
        return [f"{verb} {count} {what}" for what, count in self.counts.items()]


def _mail_files(settings: Settings, cutoff: datetime) -> list[Path]:
    directory = settings.mail_path
    if not directory.is_dir():
        return []
    stamp = cutoff.timestamp()
    return [path for path in sorted(directory.glob("*.eml")) if path.stat().st_mtime < stamp]


def _stale_conversations(tracker_store: TrackerStore, settings: Settings, linked: set[str],
                         now: datetime) -> tuple[list[str], list[str]]:
    """(never verified, verified) conversations past their period: idle too long, or
    started too long ago."""
    def cutoff(days: int) -> datetime:
        return now - timedelta(days=days)

    unverified = [c.conversation_id for c in tracker_store.conversations(
        inactive_since=cutoff(settings.retention_unverified_conversation_days),
        started_before=cutoff(settings.retention_unverified_conversation_max_days))
        if c.conversation_id not in linked]
    verified = [c.conversation_id for c in tracker_store.conversations(
        inactive_since=cutoff(settings.retention_verified_conversation_days),
        started_before=cutoff(settings.retention_verified_conversation_max_days))
        if c.conversation_id in linked]
    return unverified, verified


def _delete_verifications(session: Session, ids: list[str]) -> None:
    """The verifications and the outbox rows of their code mails (sent or dropped long ago;
    their sealed copy is already gone)."""
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        session.execute(delete(OutboundMail).where(OutboundMail.verification_id.in_(chunk)))
        session.execute(delete(Verification).where(Verification.id.in_(chunk)))


def purge(session: Session, tracker_store: TrackerStore, settings: Settings, *,
          now: datetime, dry_run: bool = False) -> Report:
    """Delete what is past its period (commits), or only count it (`dry_run`)."""
    report = Report(dry_run=dry_run)
    stale_unverified, stale_verified = _stale_conversations(
        tracker_store, settings, links.linked_ids(session), now)
    mail_files = _mail_files(settings, now - timedelta(days=settings.retention_mail_days))
    closed_cutoff = now - timedelta(days=settings.retention_closed_unverified_days)
    closed = list(session.scalars(select(PrivacyRequest.id).where(
        PrivacyRequest.status == RequestStatus.CLOSED_UNVERIFIED,
        PrivacyRequest.updated_at < closed_cutoff)))
    expired_exports = list(session.scalars(select(Export.id).where(
        Export.expires_at <= now, Export.sealed.is_not(None))))
    old_codes = list(session.scalars(select(Verification.id).where(
        Verification.expires_at < now - timedelta(days=settings.retention_verification_days),
        or_(Verification.request_id.is_(None), Verification.request_id.not_in(closed)))))
    old_links = and_(ConversationLink.verified_at < now - timedelta(
        days=settings.retention_verified_conversation_max_days),
        ConversationLink.conversation_id.not_in(stale_verified))
    orphan_links = int(session.scalar(
        select(func.count()).select_from(ConversationLink).where(old_links)) or 0)
    old_logins = LoginAttempt.created_at < now - timedelta(minutes=settings.login_window_minutes)
    login_attempts = int(session.scalar(
        select(func.count()).select_from(LoginAttempt).where(old_logins)) or 0)
    report.counts = {
        "conversations never verified": len(stale_unverified),
        "verified conversations": len(stale_verified),
        "mail files": len(mail_files),
        "requests closed unverified": len(closed),
        "export packages": len(expired_exports),
        "verification codes": len(old_codes),
        "links to conversations past their maximum age": orphan_links,
        "failed console logins": login_attempts,
    }
    if dry_run:
        return report

    erasure.erase_conversations(session, tracker_store, stale_unverified + stale_verified, now)
    tracker_store.forget_marks(before=now - timedelta(days=tombstones.MARK_DAYS))
    for path in mail_files:
        path.unlink(missing_ok=True)
    if closed:
        verifications = select(Verification.id).where(Verification.request_id.in_(closed))
        session.execute(delete(OutboundMail).where(
            OutboundMail.verification_id.in_(verifications)))
        session.execute(delete(Verification).where(Verification.request_id.in_(closed)))
        session.execute(delete(AuditEvent).where(AuditEvent.request_id.in_(closed)))
        session.execute(delete(PrivacyRequest).where(PrivacyRequest.id.in_(closed)))
    if expired_exports:
        # The row and its downloads stay as the record of what was sent; the data goes.
        session.execute(update(Export).where(Export.id.in_(expired_exports))
                        .values(sealed=None))
    _delete_verifications(session, old_codes)
    session.execute(delete(ConversationLink).where(old_links))
    session.execute(delete(LoginAttempt).where(old_logins))
    session.commit()
    log.info("retention purge: %s", "; ".join(report.lines()))
    return report
