"""The outbox: mail leaves after the commit, so a slow or broken relay stalls nothing and loses
nothing; the stored copy hides the code; one process sends each mail once; a restart sends what
was left behind; and a code's email that can no longer help is dropped, not sent late."""

from __future__ import annotations

import email
import re
import socket
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from privacy_backend.core.models import OutboundMail
from privacy_backend.core.settings import Settings
from privacy_backend.mail.mailer import FileMailer, MailError
from privacy_backend.main import create_app
from tests.conftest import free_port

from .smtp_server import LoopbackSMTP
from .support import TOKEN, FakeClock, TestClient

HEADERS = {"Authorization": f"Bearer {TOKEN}"}
BODY = {"type": "access", "email": "ada@example.com", "region": "Colorado"}


def _mail_rows(db: Engine) -> list[dict[str, Any]]:
    """The outbox's code mails as stored, read past the service (typed by the model's
    columns); a verified request's confirmation of receipt is left out."""
    with Session(db) as session:
        rows = session.scalars(select(OutboundMail).where(
            OutboundMail.kind == "verification_code").order_by(OutboundMail.id))
        return [{c.name: getattr(row, c.name) for c in OutboundMail.__table__.columns}
                | {"status": row.status.value} for row in rows]


def _code_in(data: bytes) -> str:
    message = email.message_from_bytes(data)
    match = re.search(r"code is: (\d{6})", str(message.get_payload()))
    assert match, data
    return match.group(1)


class CountingMailer(FileMailer):
    """Writes `.eml` files, or refuses while `down`; counts every attempt."""

    def __init__(self, directory: Path, *, down: bool = False, delay: float = 0) -> None:
        super().__init__(directory)
        self.down, self.delay, self.attempts = down, delay, 0
        self._lock = threading.Lock()

    def send(self, message: EmailMessage) -> None:
        with self._lock:
            self.attempts += 1
        time.sleep(self.delay)
        if self.down:
            raise MailError("relay down")
        super().send(message)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, var_dir=tmp_path / "var", privacy_api_token=TOKEN)


class LiveBackend:
    """The app under uvicorn on a loopback port (real HTTP, its own threads)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings, engine=engine)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, ws="none",
                                log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveBackend:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "backend not up"
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def sqlite_db(db: Engine) -> Engine:
    """The stall this guards against is SQLite's: every transaction there takes the write
    lock, so a transaction held open across an SMTP conversation blocks every other one."""
    if db.dialect.name != "sqlite":
        pytest.skip("the embedded default's write lock is what a held transaction blocks")
    return db


def test_a_slow_relay_stalls_neither_the_api_nor_the_health_check(
        sqlite_db: Engine, tmp_path: Path) -> None:
    """While the relay holds the first code's email, the health check and another visitor's
    request are answered, and the first request answers "queued" after MAIL_SEND_WAIT_SECONDS;
    once the relay takes the email, the outbox marks it sent. Sending inside the write
    transaction (the fault this replaces) fails this test: the health check waits."""
    with LoopbackSMTP(hold=True) as smtp:
        settings = Settings(_env_file=None, var_dir=tmp_path / "var", privacy_api_token=TOKEN,
                            mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=smtp.port,
                            smtp_starttls=False, mail_send_wait_seconds=0.5)
        with LiveBackend(settings, sqlite_db) as backend, httpx.Client(
                base_url=backend.url, headers=HEADERS, timeout=5) as client:
            answers: list[httpx.Response] = []
            first = threading.Thread(target=lambda: answers.append(
                client.post("/api/v1/requests", json=BODY)))
            first.start()
            assert smtp.receiving.wait(timeout=10), "the relay never saw the email"
            health = client.get("/health", timeout=3)
            assert health.status_code == 200 and health.json()["database"] == "ok"
            other = client.post("/api/v1/requests", timeout=3,
                                json={**BODY, "email": "grace@example.com"})
            assert other.status_code == 201, other.text
            first.join(timeout=10)
            [created] = answers
            assert created.status_code == 201, created.text
            assert created.json()["mail_status"] == "queued"
            assert created.json()["code_sent"] is False
            assert smtp.messages == []  # all of this happened while the relay held the mail
            smtp.release()
            backend.app.state.outbox.drain()
            assert {r["status"] for r in _mail_rows(sqlite_db)} == {"sent"}
            assert sorted(m.recipients[0] for m in smtp.messages) == [
                "ada@example.com", "grace@example.com"]


def test_a_relay_that_is_down_loses_no_request_and_the_code_arrives_when_it_is_back(
        db: Engine, tmp_path: Path, clock: FakeClock) -> None:
    """Connection refused: the request is filed and its email queued; when the relay is back,
    the next round sends it, and the code in it verifies the request."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connection refused
    settings = Settings(_env_file=None, var_dir=tmp_path / "var", privacy_api_token=TOKEN,
                        mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=port,
                        smtp_starttls=False, smtp_timeout=2)
    app = create_app(settings, engine=db, clock=clock)
    with TestClient(app) as client:
        created = client.post("/api/v1/requests", headers=HEADERS, json=BODY)
        assert created.status_code == 201 and created.json()["mail_status"] == "queued"
        [row] = _mail_rows(db)
        assert row["status"] == "queued" and "failed" in str(row["last_error"])
        with LoopbackSMTP(port) as smtp:
            assert app.state.outbox.deliver_due() == 0  # not due before MAIL_RETRY_SECONDS
            clock.advance(seconds=settings.mail_retry_seconds)
            assert app.state.outbox.deliver_due() == 1
            [received] = smtp.messages
        ref = created.json()["reference"]
        verified = client.post(f"/api/v1/requests/{ref}/verify", headers=HEADERS,
                               json={"code": _code_in(received.data)})
        assert verified.status_code == 200 and verified.json()["status"] == "verified"
    [row] = _mail_rows(db)
    assert row["status"] == "sent" and row["attempts"] == 2


def test_the_stored_mail_hides_the_code_and_is_erased_once_sent(
        db: Engine, settings: Settings, clock: FakeClock) -> None:
    mailer = CountingMailer(settings.mail_path, down=True)
    app = create_app(settings, engine=db, clock=clock, mailer=mailer)
    with TestClient(app) as client:
        created = client.post("/api/v1/requests", headers=HEADERS, json=BODY)
        assert created.json()["mail_status"] == "queued"
        [row] = _mail_rows(db)
        sealed = str(row["sealed"])
        assert "ada@example.com" not in sealed and "code is" not in sealed
        mailer.down = False
        clock.advance(seconds=settings.mail_retry_seconds)
        app.state.outbox.deliver_due()
    [path] = settings.mail_path.glob("*.eml")
    code = _code_in(path.read_bytes())
    # The code travelled sealed: the stored copy opens to it under the outbox's key only.
    assert f"code is: {code}".encode() in app.state.outbox._sealer.open(sealed.encode())
    [row] = _mail_rows(db)
    assert row["status"] == "sent" and row["sealed"] is None


def test_retries_back_off_and_a_code_mail_is_dropped_once_the_code_expires(
        db: Engine, settings: Settings, clock: FakeClock) -> None:
    mailer = CountingMailer(settings.mail_path, down=True)
    app = create_app(settings, engine=db, clock=clock, mailer=mailer)
    retry = settings.mail_retry_seconds
    keyed = {**HEADERS, "Idempotency-Key": "k-expiry"}
    with TestClient(app) as client:
        client.post("/api/v1/requests", headers=keyed, json=BODY)
        outbox = app.state.outbox
        waits = []
        for _ in range(3):
            [row] = _mail_rows(db)
            waits.append((row["next_attempt_at"] - row["created_at"]).total_seconds())
            clock.now = row["next_attempt_at"]
            assert outbox.deliver_due() == 1
        [row] = _mail_rows(db)
        waits.append((row["next_attempt_at"] - row["created_at"]).total_seconds())
        gaps = [b - a for a, b in zip(waits, waits[1:], strict=False)]
        assert gaps == [2 * retry, 4 * retry, 8 * retry]
        attempts = mailer.attempts
        clock.advance(minutes=settings.code_ttl_minutes)  # the code can no longer be typed
        assert outbox.deliver_due() == 1
        assert mailer.attempts == attempts  # dropped, not sent late
        replay = client.post("/api/v1/requests", headers=keyed, json=BODY)
    [row] = _mail_rows(db)
    assert row["status"] == "dropped" and row["sealed"] is None
    assert row["last_error"] == "expired unsent"
    assert list(settings.mail_path.glob("*.eml")) == []
    assert replay.json()["mail_status"] == "none"  # no code left whose email could come


def test_two_processes_send_one_queued_mail_once(
        db: Engine, settings: Settings, clock: FakeClock) -> None:
    """Two replicas' outboxes race for one queued mail: the lease lets only one send it."""
    down = CountingMailer(settings.mail_path, down=True)
    first = create_app(settings, engine=db, clock=clock, mailer=down)
    with TestClient(first) as client:
        client.post("/api/v1/requests", headers=HEADERS, json=BODY)
    clock.advance(seconds=settings.mail_retry_seconds)
    slow = CountingMailer(settings.mail_path, delay=0.5)
    replicas = [create_app(settings, engine=db, clock=clock, mailer=slow) for _ in range(2)]
    [row] = _mail_rows(db)
    threads = [threading.Thread(target=app.state.outbox.deliver, args=(row["id"],))
               for app in replicas for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert slow.attempts == 1 and len(list(settings.mail_path.glob("*.eml"))) == 1
    for app in replicas:
        app.state.outbox.close()


def test_serve_sends_what_a_stopped_process_left_queued(
        db: Engine, settings: Settings, clock: FakeClock) -> None:
    """A process queues a mail the relay refuses and stops; the next one started with the
    background work (as `privacy-backend serve` is) sends it on its own."""
    down = CountingMailer(settings.mail_path, down=True)
    with TestClient(create_app(settings, engine=db, clock=clock, mailer=down)) as client:
        assert client.post("/api/v1/requests", headers=HEADERS,
                           json=BODY).json()["mail_status"] == "queued"
    clock.advance(seconds=settings.mail_retry_seconds)
    fast = settings.model_copy(update={"mail_retry_seconds": 0.1})
    restarted = create_app(fast, engine=db, clock=clock, background=True)
    with TestClient(restarted):
        deadline = time.monotonic() + 10
        while _mail_rows(db)[0]["status"] != "sent":
            assert time.monotonic() < deadline, "the queued mail was never sent"
            time.sleep(0.1)
    assert len(list(settings.mail_path.glob("*.eml"))) == 1


def test_a_replaced_codes_queued_email_is_dropped_not_sent(
        db: Engine, settings: Settings, clock: FakeClock) -> None:
    """The relay is down while the visitor asks for a new code: when it is back, only the
    newest code's email goes out (the replaced code could no longer be typed)."""
    mailer = CountingMailer(settings.mail_path, down=True)
    app = create_app(settings, engine=db, clock=clock, mailer=mailer)
    with TestClient(app) as client:
        ref = client.post("/api/v1/requests", headers=HEADERS, json=BODY).json()["reference"]
        resent = client.post(f"/api/v1/requests/{ref}/resend-code", headers=HEADERS)
        assert resent.json()["mail_status"] == "queued"
        mailer.down = False
        clock.advance(seconds=settings.mail_retry_seconds)
        assert app.state.outbox.deliver_due() == 2
        [path] = settings.mail_path.glob("*.eml")
        verified = client.post(f"/api/v1/requests/{ref}/verify", headers=HEADERS,
                               json={"code": _code_in(path.read_bytes())})
        assert verified.status_code == 200, verified.text
    first, second = _mail_rows(db)
    assert (first["status"], first["last_error"]) == ("dropped", "code replaced by a newer one")
    assert second["status"] == "sent"


def test_a_fault_of_the_delivery_itself_answers_queued_not_500(
        db: Engine, settings: Settings, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The code is committed before its email is attempted: an attempt that fails in an
    unexpected way (here the database) leaves it queued for the retry round, and the caller
    hears "queued" rather than a 500 that would invite a second code."""
    app = create_app(settings, engine=db, clock=clock)

    def broken(mail_id: int) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(app.state.outbox, "deliver", broken)
    with TestClient(app) as client:
        started = client.post("/api/v1/verifications", headers=HEADERS,
                              json={"email": "ada@example.com", "purpose": "preferences"})
    assert started.status_code == 201, started.text
    assert started.json()["mail_status"] == "queued"
    [row] = _mail_rows(db)
    assert row["status"] == "queued" and row["sealed"]


def test_an_attempt_that_lost_its_lease_does_not_free_the_row_another_is_sending(
        db: Engine, settings: Settings, clock: FakeClock) -> None:
    """A relay slower than the lease: another process takes the mail over. When the first
    attempt then fails, it leaves the second one's lease in place (no third process may
    start sending), and the second one's success is recorded."""
    down = CountingMailer(settings.mail_path, down=True)
    with TestClient(create_app(settings, engine=db, clock=clock, mailer=down)) as client:
        client.post("/api/v1/requests", headers=HEADERS, json=BODY)
    clock.advance(seconds=settings.mail_retry_seconds)
    [row] = _mail_rows(db)
    failing = CountingMailer(settings.mail_path, delay=0.5, down=True)
    sending = CountingMailer(settings.mail_path, delay=2.5)
    first = create_app(settings, engine=db, clock=clock, mailer=failing)
    second = create_app(settings, engine=db, clock=clock, mailer=sending)
    one = threading.Thread(target=first.state.outbox.deliver, args=(row["id"],))
    one.start()
    deadline = time.monotonic() + 5
    while failing.attempts == 0:  # the first attempt holds the lease, talking to the relay
        assert time.monotonic() < deadline
        time.sleep(0.01)
    clock.advance(seconds=4 * settings.smtp_timeout + 31)  # its lease runs out
    two = threading.Thread(target=second.state.outbox.deliver, args=(row["id"],))
    two.start()
    one.join(timeout=10)  # the first attempt has failed by now; the second is still sending
    [during] = _mail_rows(db)
    assert during["status"] == "queued" and during["lease_until"] is not None
    two.join(timeout=10)
    [after] = _mail_rows(db)
    assert after["status"] == "sent" and after["sealed"] is None
    assert len(list(settings.mail_path.glob("*.eml"))) == 1
    for app in (first, second):
        app.state.outbox.close()
