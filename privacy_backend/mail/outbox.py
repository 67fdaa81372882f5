"""The outbox: mail is stored with the change that causes it and delivered after the commit.

A route adds its message to the outbox inside its own transaction (`Outbox.add`), commits,
and only then hands the message to the mailer (`Outbox.send`, from a small pool of threads),
so a slow or broken mail relay never holds a database transaction or lock. The route waits at
most MAIL_SEND_WAIT_SECONDS for that first attempt and answers "sent" or "queued"; what is not
handed over is retried by `privacy-backend serve` every MAIL_RETRY_SECONDS (doubling, up to
16x) until the row's `not_after` (a code's expiry), after which it is dropped unsent; so is a
code's email once that code is replaced by a newer one or confirmed.

Several processes may share one outbox (replicas, a restart that finds mail left behind): a
delivery first claims its row with a conditional UPDATE that sets a lease (`core.leases`), so
only one process sends it; a process that dies mid-send leaves a lease that runs out, and the
mail is retried. An attempt records a failure only while it still holds its lease, and a
success always.

A message may carry a one-time code, so the stored copy is sealed (`core.sealing`: Fernet
under a key derived from the code secret for the outbox only), and erased once the mail is
sent or dropped.

What a kind of mail means once handed over is its sender's business: `on_sent` maps a kind to
a function run in the transaction that marks the mail sent (a request's code email confirms
its receipt: `mail.code_mail.confirm_receipt`).
"""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from privacy_backend.core.clock import Clock
from privacy_backend.core.leases import LeasedWorker, claim, lease_free, write_if_held
from privacy_backend.core.models import MailStatus, OutboundMail, Verification
from privacy_backend.core.sealing import OUTBOX, InvalidToken, Sealer
from privacy_backend.core.settings import Settings
from privacy_backend.mail.mailer import Mailer, MailError

log = logging.getLogger(__name__)

MAX_BACKOFF_FACTOR = 16
DUE_BATCH = 100
# How long a notice (anything but a code's email) is worth sending: the outbox keeps trying
# for this long after it is queued.
NOTICE_WINDOW = timedelta(days=3)


# Run when a mail of one kind is handed over, in the transaction that marks it sent: the
# session, the verification the mail carries a code of (if any), and the time.
SentHook = Callable[[Session, str | None, datetime], None]


class Outbox(LeasedWorker):
    def __init__(self, factory: sessionmaker[Session], mailer: Mailer, settings: Settings,
                 clock: Clock, secret: bytes, *, workers: int = 4,
                 on_sent: Mapping[str, SentHook] | None = None) -> None:
        super().__init__(factory, clock, workers=workers, thread_name="outbox", log=log,
                         failure="outbox delivery failed")
        self._mailer = mailer
        self._settings = settings
        self._sealer = Sealer(secret, OUTBOX)
        self._on_sent = dict(on_sent or {})
        # Longer than any one SMTP conversation can take (each step has its own time-out),
        # so a lease runs out only when its holder is gone.
        self._lease = timedelta(seconds=4 * settings.smtp_timeout + 30)

    # -- in the caller's transaction -----------------------------------------------------
    def add(self, session: Session, message: EmailMessage, *, kind: str, now: datetime,
            not_after: datetime, verification_id: str | None = None) -> OutboundMail:
        """Queue a message as part of the caller's transaction; send it after the commit.
        The retry round leaves it alone for MAIL_SEND_WAIT_SECONDS, the route's own first
        attempt."""
        row = OutboundMail(
            kind=kind, status=MailStatus.QUEUED, verification_id=verification_id,
            sealed=self._sealer.seal(message.as_bytes()),
            created_at=now, not_after=not_after, attempts=0,
            next_attempt_at=now + timedelta(seconds=self._settings.mail_send_wait_seconds),
        )
        session.add(row)
        session.flush()
        return row

    @staticmethod
    def status_for(session: Session, verification_id: str) -> MailStatus | None:
        """The state of the newest mail carrying this verification's code."""
        return session.scalar(
            select(OutboundMail.status).where(OutboundMail.verification_id == verification_id)
            .order_by(OutboundMail.id.desc()).limit(1))

    # -- after the commit ------------------------------------------------------------------
    def send(self, mail_id: int, *, wait: float) -> MailStatus:
        """Deliver now, waiting at most `wait` seconds: QUEUED when not handed over by then
        (the attempt goes on in the background, and failures are retried). A fault of the
        attempt itself (the database gone for a moment) is QUEUED too: the row is committed,
        and the retry round sends it."""
        future = self._submit(self.deliver, mail_id)
        try:
            return future.result(timeout=wait)
        except FutureTimeout:
            return MailStatus.QUEUED
        except Exception:  # logged by _log_failure; the committed row stays queued
            return MailStatus.QUEUED

    def send_later(self, mail_id: int) -> None:
        """Deliver in the background without waiting."""
        self._submit(self.deliver, mail_id)

    def queue_and_send(self, message: EmailMessage, *, kind: str, now: datetime,
                       not_after: datetime, verification_id: str | None = None) -> None:
        """Queue in a transaction of its own and deliver in the background: for a status
        lookup, whose answer goes out first so that neither its content nor its timing says
        whether a code was issued."""
        with self._factory() as session:
            row = self.add(session, message, kind=kind, now=now, not_after=not_after,
                           verification_id=verification_id)
            session.commit()
            mail_id = row.id
        self._submit(self.deliver, mail_id)

    def deliver(self, mail_id: int) -> MailStatus:
        """One delivery attempt, if this process wins the row's lease; the row's state after.
        A failure is recorded only while this attempt still holds that lease, so a process
        whose lease ran out (a relay slower than the lease) never frees the row while another
        is sending it; a success is always recorded."""
        now = self._clock()
        lease = now + self._lease
        with self._factory() as session:
            claimed = claim(session, OutboundMail, mail_id, OutboundMail.lease_until, lease, now,
                            OutboundMail.status == MailStatus.QUEUED,
                            attempts=OutboundMail.attempts + 1)
            session.commit()
            row = session.get(OutboundMail, mail_id)
            if row is None:
                return MailStatus.DROPPED
            if not claimed:  # sent, dropped, or another process is on it
                status = row.status
                session.rollback()
                return status
            held = _Held(row.id, row.kind, row.attempts, lease, row.verification_id)
            stale = self._stale_reason(session, row, now)
            if stale is not None:
                return self._finish(session, held, MailStatus.DROPPED, now, stale)
            try:
                message = self._unseal(row)
            except InvalidToken:
                return self._finish(session, held, MailStatus.DROPPED, now,
                                    "sealed under another key")
            session.rollback()  # no transaction stays open while the relay is talked to
            try:
                self._mailer.send(message)
            except MailError as exc:
                return self._retry_later(session, held, str(exc))
            except Exception as exc:  # an unexpected fault is retried, never lost
                log.exception("outbox mail %s: unexpected error", mail_id)
                return self._retry_later(session, held, type(exc).__name__)
            return self._finish(session, held, MailStatus.SENT, self._clock(), None)

    def deliver_due(self) -> int:
        """Attempt every queued mail that is due (or past its `not_after`, to drop it); the
        number attempted. `privacy-backend serve` calls this every MAIL_RETRY_SECONDS; it
        stops early when the outbox is closing."""
        now = self._clock()
        due = (select(OutboundMail.id)
               .where(OutboundMail.status == MailStatus.QUEUED,
                      or_(OutboundMail.next_attempt_at <= now, OutboundMail.not_after <= now),
                      lease_free(OutboundMail.lease_until, now))
               .order_by(OutboundMail.next_attempt_at).limit(DUE_BATCH))
        return len(self.sweep(due, self.deliver))

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _stale_reason(session: Session, row: OutboundMail, now: datetime) -> str | None:
        """Why the mail is no longer worth sending, if it is not: past `not_after`, or its
        code replaced by a newer one or already confirmed."""
        if now >= row.not_after:
            return "expired unsent"
        if row.verification_id is None:
            return None
        code = session.get(Verification, row.verification_id)
        if code is not None and code.superseded_at is not None:
            return "code replaced by a newer one"
        if code is not None and code.verified_at is not None:
            return "code already confirmed"
        return None

    def _unseal(self, row: OutboundMail) -> EmailMessage:
        data = self._sealer.open((row.sealed or "").encode("ascii"))
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message

    def _finish(self, session: Session, held: _Held, status: MailStatus, now: datetime,
                error: str | None) -> MailStatus:
        values: dict[str, Any] = {"status": status, "sealed": None, "lease_until": None}
        if status is MailStatus.SENT:
            values["sent_at"] = now
            # The mail went out: that is recorded even if the lease ran out meanwhile.
            session.execute(update(OutboundMail).where(
                OutboundMail.id == held.id, OutboundMail.status == MailStatus.QUEUED,
            ).values(**values))
            hook = self._on_sent.get(held.kind)
            if hook is not None:
                hook(session, held.verification_id, now)
            session.commit()
            return status
        values["last_error"] = error
        log.warning("outbox mail %s (%s) dropped: %s", held.id, held.kind, error)
        return self._write(session, held, values, status)

    def _retry_later(self, session: Session, held: _Held, error: str) -> MailStatus:
        factor = min(2 ** max(held.attempts - 1, 0), MAX_BACKOFF_FACTOR)
        next_at = self._clock() + timedelta(seconds=self._settings.mail_retry_seconds * factor)
        log.warning("outbox mail %s (%s) not sent, attempt %s: %s", held.id, held.kind,
                    held.attempts, error)
        return self._write(session, held, {"next_attempt_at": next_at, "lease_until": None,
                                           "last_error": error[:200]}, MailStatus.QUEUED)

    @staticmethod
    def _write(session: Session, held: _Held, values: dict[str, Any],
               status: MailStatus) -> MailStatus:
        """Record a failed or dropped attempt, only while it still holds the lease: one whose
        lease ran out must not free the row while another process is sending it."""
        kept = write_if_held(session, OutboundMail, held.id, OutboundMail.lease_until,
                             held.lease, **values)
        session.commit()
        if not kept:
            log.warning("outbox mail %s: lease lost before the outcome was recorded", held.id)
            current = session.scalar(select(OutboundMail.status)
                                     .where(OutboundMail.id == held.id))
            session.rollback()
            return current or MailStatus.DROPPED
        return status


@dataclass(frozen=True)
class _Held:
    """The row an attempt claimed, the lease it claimed it with, and the code it carries."""

    id: int
    kind: str
    attempts: int
    lease: datetime
    verification_id: str | None = None

