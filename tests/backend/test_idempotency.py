"""`Idempotency-Key`: a retry returns the same request, never a second one."""

from __future__ import annotations

import threading
import time
from email.message import EmailMessage

from privacy_backend.mail.mailer import FileMailer, MailError
from privacy_backend.main import create_app

from .support import Api, TestClient

BODY = {"type": "know", "email": "ada@example.com", "region": "Texas", "channel": "web"}


def test_same_key_returns_the_same_request_with_200(api: Api) -> None:
    first = api.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "k-1"})
    again = api.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert {**first.json(), "code_sent": False} == again.json()
    assert api.counts()["privacy_requests"] == 1
    assert len(api.mails()) == 1  # no second code either


def test_same_key_with_a_different_body_is_a_conflict(api: Api) -> None:
    api.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "k-2"})
    before = api.counts()
    other = api.post("/api/v1/requests", json={**BODY, "type": "deletion"},
                     headers={"Idempotency-Key": "k-2"})
    assert other.status_code == 409
    assert other.json()["error"] == "idempotency_conflict"
    assert api.counts() == before


def test_different_keys_and_no_key_create_separate_requests(api: Api) -> None:
    api.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "a"})
    api.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "b"})
    api.post("/api/v1/requests", json=BODY)
    api.post("/api/v1/requests", json=BODY)
    assert api.counts()["privacy_requests"] == 4


def test_oversize_key_is_rejected(api: Api) -> None:
    response = api.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "k" * 129})
    assert response.status_code == 422
    assert api.counts()["privacy_requests"] == 0


class SlowMailer(FileMailer):
    """Holds the creating transaction open a while, so the second request really races."""

    def send(self, message: EmailMessage) -> None:
        time.sleep(0.3)
        super().send(message)


def test_two_concurrent_creates_with_the_same_key_make_one_request(api: Api) -> None:
    app = create_app(api.settings, engine=api.engine, clock=api.clock,
                     mailer=SlowMailer(api.settings.mail_path))
    barrier = threading.Barrier(2)
    results: list[tuple[int, str]] = []

    def create() -> None:
        with TestClient(app) as client:
            barrier.wait()
            response = client.post("/api/v1/requests", json=BODY,
                                   headers={**api.headers, "Idempotency-Key": "race"})
            results.append((response.status_code, response.json()["reference"]))

    threads = [threading.Thread(target=create) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(code for code, _ in results) == [200, 201]
    assert len({ref for _, ref in results}) == 1
    assert api.counts()["privacy_requests"] == 1
    assert len(api.mails()) == 1


def test_a_replay_says_whether_a_code_can_still_be_typed(api: Api) -> None:
    """A client that timed out and retries learns that this answer emailed nothing, and
    whether the code sent before is still good, instead of a bare 200."""
    first = api.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "k-live"})
    assert first.status_code == 201
    assert first.json()["code_sent"] is True
    expires_at = first.json()["code_expires_at"]
    assert expires_at.startswith("2025-03-10T14:45")

    def replay() -> dict[str, object]:
        response = api.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "k-live"})
        assert response.status_code == 200
        assert response.json()["code_sent"] is False
        return dict(response.json())

    assert replay()["code_expires_at"] == expires_at
    api.clock.advance(minutes=15)
    assert replay()["code_expires_at"] is None  # expired
    reference = first.json()["reference"]
    resent = api.post(f"/api/v1/requests/{reference}/resend-code")
    assert replay()["code_expires_at"] == resent.json()["expires_at"]
    wrong = "000000" if api.last_code() != "000000" else "111111"
    for _ in range(api.settings.code_max_attempts):
        api.post(f"/api/v1/requests/{reference}/verify", json={"code": wrong})
    assert replay()["code_expires_at"] is None  # tried too often
    api.post(f"/api/v1/requests/{reference}/resend-code")
    api.verify(reference)
    verified = replay()
    assert verified["status"] == "verified" and verified["code_expires_at"] is None
    # The first code and the two asked for (no replay sent one), then the receipt.
    assert len(api.code_mails()) == 3 and len(api.mails()) == 4


class FailingMailer(FileMailer):
    """Refuses the first message, as an SMTP relay that is down for a moment."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.refused = 0

    def send(self, message: EmailMessage) -> None:
        if not self.refused:
            self.refused += 1
            raise MailError("relay down")
        super().send(message)


def test_a_code_mail_that_fails_keeps_the_request_and_a_retry_files_it_once(api: Api) -> None:
    """The relay refuses the first attempt: the request is filed all the same and says its
    code's email is queued; a retry with the same key replays it (says "queued", sends and
    files nothing new) until the outbox's next round hands the email over."""
    app = create_app(api.settings, engine=api.engine, clock=api.clock,
                     mailer=FailingMailer(api.settings.mail_path))
    headers = {**api.headers, "Idempotency-Key": "k-mail"}
    with TestClient(app) as client:
        first = client.post("/api/v1/requests", json=BODY, headers=headers)
        assert first.status_code == 201, first.text
        assert first.json()["code_sent"] is False and first.json()["mail_status"] == "queued"
        assert first.json()["code_expires_at"]
        replay = client.post("/api/v1/requests", json=BODY, headers=headers)
        assert replay.status_code == 200 and replay.json()["mail_status"] == "queued"
        assert replay.json()["reference"] == first.json()["reference"]
        api.clock.advance(seconds=api.settings.mail_retry_seconds)
        assert app.state.outbox.deliver_due() == 1
        sent = client.post("/api/v1/requests", json=BODY, headers=headers)
    assert sent.status_code == 200 and sent.json()["mail_status"] == "sent"
    assert sent.json()["code_sent"] is False  # a replay sends nothing itself
    assert api.counts()["privacy_requests"] == 1 and len(api.mails()) == 1
