"""The outbox: mail is stored with the change that causes it and delivered after the commit.

A route adds its message to the outbox inside its own transaction (`Outbox.add`), commits,
and only then hands the message to the mailer (`Outbox.send`, from a small pool of threads),
so a slow or broken mail relay never holds a database transaction or lock. The route waits at
most MAIL_SEND_WAIT_SECONDS for that first attempt and answers "sent" or "queued"; what is not
handed over is retried by `privacy-backend serve` every MAIL_RETRY_SECONDS (doubling, up to
16x) until the row's `not_after` (a code's expiry), after which it is dropped unsent.

Several processes may share one outbox (replicas, a restart that finds mail left behind): a
delivery first claims its row with a conditional UPDATE that sets a lease, so only one process
sends it; a process that dies mid-send leaves a lease that runs out, and the mail is retried.

A message may carry a one-time code, so the stored copy is sealed with Fernet (AES-CBC with
HMAC-SHA256, from `cryptography`) under a key derived with HKDF from the code secret, and
erased once the mail is sent or dropped.
"""

from __future__ import annotations

import base64
import email
import email.policy
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timedelta
from email.message import EmailMessage

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from privacy_backend.core.clock import Clock
from privacy_backend.core.models import MailStatus, OutboundMail
from privacy_backend.core.settings import Settings
from privacy_backend.mail.mailer import Mailer, MailError

log = logging.getLogger(__name__)

MAX_BACKOFF_FACTOR = 16
DUE_BATCH = 100


def _fernet(secret: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"privacy-backend outbox v1").derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


class Outbox:
    def __init__(self, factory: sessionmaker[Session], mailer: Mailer, settings: Settings,
                 clock: Clock, secret: bytes, *, workers: int = 4) -> None:
        self._factory = factory
        self._mailer = mailer
        self._settings = settings
        self._clock = clock
        self._fernet = _fernet(secret)
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None  # started by the first send
        self._pool_lock = threading.Lock()
        self._pending: set[Future[MailStatus]] = set()
        # Longer than any one SMTP conversation can take (each step has its own time-out),
        # so a lease runs out only when its holder is gone.
        self._lease = timedelta(seconds=4 * settings.smtp_timeout + 30)

    # -- in the caller's transaction -----------------------------------------------------
    def add(self, session: Session, message: EmailMessage, *, kind: str, now: datetime,
            not_after: datetime, verification_id: str | None = None) -> OutboundMail:
        """Queue a message as part of the caller's transaction; send it after the commit."""
        row = OutboundMail(
            kind=kind, status=MailStatus.QUEUED, verification_id=verification_id,
            sealed=self._fernet.encrypt(message.as_bytes()).decode("ascii"),
            created_at=now, not_after=not_after, next_attempt_at=now, attempts=0,
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
        (the attempt goes on in the background, and failures are retried)."""
        future = self._submit(mail_id)
        try:
            return future.result(timeout=wait)
        except FutureTimeout:
            return MailStatus.QUEUED

    def send_later(self, mail_id: int) -> None:
        """Deliver in the background without waiting (as for a status lookup, whose answer
        must not depend on whether a mail was sent)."""
        self._submit(mail_id)

    def deliver(self, mail_id: int) -> MailStatus:
        """One delivery attempt, if this process wins the row's lease; the row's state after."""
        now = self._clock()
        with self._factory() as session:
            claimed = session.execute(
                update(OutboundMail)
                .where(OutboundMail.id == mail_id, OutboundMail.status == MailStatus.QUEUED,
                       or_(OutboundMail.lease_until.is_(None), OutboundMail.lease_until < now))
                .values(lease_until=now + self._lease, attempts=OutboundMail.attempts + 1)
            ).rowcount  # type: ignore[attr-defined]
            session.commit()
            row = session.get(OutboundMail, mail_id)
            if row is None:
                return MailStatus.DROPPED
            if not claimed:  # sent, dropped, or another process is on it
                status = row.status
                session.rollback()
                return status
            if now >= row.not_after:
                return self._finish(session, row, MailStatus.DROPPED, now, "expired unsent")
            try:
                message = self._unseal(row)
            except InvalidToken:
                return self._finish(session, row, MailStatus.DROPPED, now,
                                    "sealed under another key")
            session.rollback()  # no transaction stays open while the relay is talked to
            try:
                self._mailer.send(message)
            except MailError as exc:
                return self._retry_later(session, row, str(exc))
            except Exception as exc:  # an unexpected fault is retried, never lost
                log.exception("outbox mail %s: unexpected error", mail_id)
                return self._retry_later(session, row, type(exc).__name__)
            return self._finish(session, row, MailStatus.SENT, self._clock(), None)

    def deliver_due(self) -> int:
        """Attempt every queued mail that is due (or past its `not_after`, to drop it); the
        number attempted. `privacy-backend serve` calls this every MAIL_RETRY_SECONDS."""
        now = self._clock()
        with self._factory() as session:
            ids = list(session.scalars(
                select(OutboundMail.id)
                .where(OutboundMail.status == MailStatus.QUEUED,
                       or_(OutboundMail.next_attempt_at <= now, OutboundMail.not_after <= now),
                       or_(OutboundMail.lease_until.is_(None), OutboundMail.lease_until < now))
                .order_by(OutboundMail.next_attempt_at).limit(DUE_BATCH)))
            session.rollback()
        for mail_id in ids:
            self.deliver(mail_id)
        return len(ids)

    def drain(self, timeout: float = 30) -> None:
        """Wait for the attempts under way (tests read the mail folder after this)."""
        wait(list(self._pending), timeout=timeout)

    def close(self) -> None:
        """Wait for the attempts under way; what they do not hand over stays queued. A send
        after this starts a new pool (the app can be started again, as tests do)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    # -- helpers ---------------------------------------------------------------------------
    def _submit(self, mail_id: int) -> Future[MailStatus]:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._workers,
                                                thread_name_prefix="outbox")
            future = self._pool.submit(self.deliver, mail_id)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    def _unseal(self, row: OutboundMail) -> EmailMessage:
        data = self._fernet.decrypt((row.sealed or "").encode("ascii"))
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message

    def _finish(self, session: Session, row: OutboundMail, status: MailStatus, now: datetime,
                error: str | None) -> MailStatus:
        row.status, row.sealed, row.lease_until = status, None, None
        if status is MailStatus.SENT:
            row.sent_at = now
        else:
            row.last_error = error
            log.warning("outbox mail %s (%s) dropped: %s", row.id, row.kind, error)
        session.commit()
        return status

    def _retry_later(self, session: Session, row: OutboundMail, error: str) -> MailStatus:
        factor = min(2 ** max(row.attempts - 1, 0), MAX_BACKOFF_FACTOR)
        row.next_attempt_at = self._clock() + timedelta(
            seconds=self._settings.mail_retry_seconds * factor)
        row.lease_until, row.last_error = None, error[:200]
        session.commit()
        log.warning("outbox mail %s (%s) not sent, attempt %s: %s", row.id, row.kind,
                    row.attempts, error)
        return MailStatus.QUEUED
