"""`Idempotency-Key`: a retry returns the same request, never a second one."""

from __future__ import annotations

import threading
import time
from email.message import EmailMessage

from privacy_backend.mail.mailer import FileMailer
from privacy_backend.main import create_app

from .support import Api, TestClient

BODY = {"type": "know", "email": "ada@example.com", "region": "Texas", "channel": "web"}


def test_same_key_returns_the_same_request_with_200(api: Api) -> None:
    first = api.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "k-1"})
    again = api.post("/api/v1/requests", json=BODY, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
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
