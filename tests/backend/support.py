"""Helpers shared by the backend tests (the fixtures themselves live in conftest.py)."""

from __future__ import annotations

import email
import email.utils
import re
import time
import warnings
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from email.message import Message
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from privacy_backend.core.models import (
    AuditEvent,
    ConversationLink,
    Export,
    ExportDownload,
    MarketingPreference,
    OutboundMail,
    PreferenceChange,
    PrivacyRequest,
    Suppression,
    Verification,
)
from privacy_backend.core.settings import Settings
from privacy_backend.main import close_unverified_once

with warnings.catch_warnings():  # starlette warns that it prefers `httpx2`
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TOKEN = "test-token-" + "x" * 20  # the assistant's (PRIVACY_API_TOKEN)
STAFF_TOKEN = "test-staff-token-" + "y" * 20  # staff automation's (PRIVACY_STAFF_TOKEN)
ASSISTANT_HEADERS = {"Authorization": f"Bearer {TOKEN}"}
STAFF_HEADERS = {"Authorization": f"Bearer {STAFF_TOKEN}"}
TABLES = (OutboundMail, Verification, ExportDownload, Export, AuditEvent,  # children first
          PrivacyRequest, ConversationLink, Suppression)
PREFERENCE_TABLES = (PreferenceChange, MarketingPreference)
ALL_TABLES = TABLES + PREFERENCE_TABLES

__all__ = ["ALL_TABLES", "ASSISTANT_HEADERS", "PREFERENCE_TABLES", "STAFF_HEADERS",
           "STAFF_TOKEN", "TABLES", "TOKEN", "Api", "FakeClock", "TestClient", "row_counts"]


def row_counts(engine: Engine, tables: tuple[type[Any], ...] = TABLES) -> dict[str, int]:
    with engine.connect() as conn:
        return {m.__tablename__: conn.scalar(select(func.count()).select_from(m)) or 0
                for m in tables}


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 10, 14, 30, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Api:
    client: TestClient
    engine: Engine
    settings: Settings
    clock: FakeClock
    # The assistant's token by default; `api.staff` calls with the staff token.
    headers: dict[str, str] = field(default_factory=lambda: dict(ASSISTANT_HEADERS))

    @property
    def staff(self) -> Api:
        return replace(self, headers=dict(STAFF_HEADERS))

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                **kw: Any) -> httpx.Response:
        return self.client.request(method, url, headers={**self.headers, **(headers or {})}, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", url, **kw)

    def mails(self) -> list[Message]:
        self.client.app.state.outbox.drain()  # a status lookup's mail is sent after the answer
        folder = self.settings.mail_path
        if not folder.exists():
            return []
        return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]

    def code_mails(self) -> list[Message]:
        """The mails that carry a one-time code."""
        return [m for m in self.mails() if b"code is: " in (m.get_payload(decode=True) or b"")]

    def last_code(self) -> str:
        """The code (6 or 9 digits) in the newest mail that carries one (a verified
        request's confirmation of receipt, sent in the background, may come after it)."""
        for message in reversed(self.mails()):
            body = message.get_payload(decode=True)
            assert isinstance(body, bytes)
            match = re.search(rb"code is: (\d{3} \d{3} \d{3}|\d{6})", body)
            if match:
                return match.group(1).decode().replace(" ", "")
        raise AssertionError("no mail carries a code")

    def create(self, **overrides: Any) -> dict[str, Any]:
        body = {"type": "access", "email": "ada@example.com", "region": "California",
                "channel": "web", "conversation_id": "conv-1", **overrides}
        response = self.post("/api/v1/requests", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def proof(self, email: str = "ada@example.com", conversation_id: str | None = "conv-1"
              ) -> str:
        """The id of a preferences code confirmed for `email`: the assistant's proof."""
        started = self.post("/api/v1/verifications", json={
            "email": email, "purpose": "preferences", "conversation_id": conversation_id})
        assert started.status_code == 201, started.text
        vid = str(started.json()["verification_id"])
        confirmed = self.post(f"/api/v1/verifications/{vid}/confirm",
                              json={"code": self.last_code()})
        assert confirmed.status_code == 200, confirmed.text
        return vid

    def verify(self, reference: str) -> dict[str, Any]:
        response = self.post(f"/api/v1/requests/{reference}/verify",
                             json={"code": self.last_code()})
        assert response.status_code == 200, response.text
        return response.json()

    def close_unverified(self) -> int:
        """Run the backend's close step now (the loop `serve` runs hourly, and the CLI's
        `close-unverified`); how many requests it closed."""
        return close_unverified_once(self.client.app)

    def counts(self) -> dict[str, int]:
        return row_counts(self.engine)

    def all_counts(self) -> dict[str, int]:
        """Rows in every table, marketing preferences and their history included."""
        return row_counts(self.engine, ALL_TABLES)


def wait_until_healthy(base: str, seconds: float = 30) -> None:
    """Wait for a backend started as a process (`privacy-backend serve`) to answer /health."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


def mails_to(api: Api, address: str) -> list[Message]:
    """The mail written to `address`, oldest first."""
    return [m for m in api.mails()
            if address in {a for _, a in email.utils.getaddresses([m["To"] or ""])}]


def one_mail(api: Api, address: str, subject: str) -> Message:
    """The one mail to `address` with that subject (mail sent in the background may be
    written after a later one)."""
    [found] = [m for m in mails_to(api, address) if m["Subject"] == subject]
    return found


def mail_text(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def parse_time(value: str) -> datetime:
    """A timestamp of the JSON answers (Python 3.10 does not read a trailing `Z`)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
