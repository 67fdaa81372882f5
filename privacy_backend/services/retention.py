"""The retention purge (`privacy-backend purge [--dry-run]`, and daily inside `serve`): what
is past its period goes, and the report says what went.

- conversations in which no address was verified, by their last message:
  `RETENTION_UNVERIFIED_CONVERSATION_DAYS` (30);
- conversations linked to a verified address, by their last message:
  `RETENTION_VERIFIED_CONVERSATION_DAYS` (730);
- mail files (`MAIL_BACKEND=file`), by when they were written: `RETENTION_MAIL_DAYS` (30);
- requests closed unverified, by their closing: `RETENTION_CLOSED_UNVERIFIED_DAYS` (90);
- export packages, once their link has expired: `EXPORT_LINK_TTL_DAYS` (7).

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

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from privacy_backend.core.models import (
    AuditEvent,
    Export,
    OutboundMail,
    PrivacyRequest,
    RequestStatus,
    Verification,
)
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.services import erasure, links

log = logging.getLogger(__name__)


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


def purge(session: Session, tracker_store: TrackerStore, settings: Settings, *,
          now: datetime, dry_run: bool = False) -> Report:
    """Delete what is past its period (commits), or only count it (`dry_run`)."""
    report = Report(dry_run=dry_run)
    linked = links.linked_ids(session)
    unverified_cutoff = now - timedelta(days=settings.retention_unverified_conversation_days)
    verified_cutoff = now - timedelta(days=settings.retention_verified_conversation_days)
    stale_unverified = [c.conversation_id for c in tracker_store.conversations(
        inactive_since=unverified_cutoff) if c.conversation_id not in linked]
    stale_verified = [c.conversation_id for c in tracker_store.conversations(
        inactive_since=verified_cutoff) if c.conversation_id in linked]
    mail_files = _mail_files(settings, now - timedelta(days=settings.retention_mail_days))
    closed_cutoff = now - timedelta(days=settings.retention_closed_unverified_days)
    closed = list(session.scalars(select(PrivacyRequest.id).where(
        PrivacyRequest.status == RequestStatus.CLOSED_UNVERIFIED,
        PrivacyRequest.updated_at < closed_cutoff)))
    expired_exports = list(session.scalars(select(Export.id).where(
        Export.expires_at <= now, Export.sealed.is_not(None))))
    report.counts = {
        "conversations never verified": len(stale_unverified),
        "verified conversations": len(stale_verified),
        "mail files": len(mail_files),
        "requests closed unverified": len(closed),
        "export packages": len(expired_exports),
    }
    if dry_run:
        return report

    erasure.erase_conversations(session, tracker_store, stale_unverified + stale_verified)
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
    session.commit()
    log.info("retention purge: %s", "; ".join(report.lines()))
    return report
