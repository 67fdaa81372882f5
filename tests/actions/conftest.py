"""A real backend for the action-side API clients: uvicorn on a free loopback port, its own
SQLite database and mail folder under a temporary VAR_DIR (one per test module)."""

from __future__ import annotations

import email
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from sqlalchemy import update
from sqlalchemy.orm import Session

from actions.api.base import BackendClient, close_shared_http
from actions.api.requests import PrivacyRequestsClient, Purpose
from actions.settings import settings
from privacy_backend.core.db import make_engine, upgrade
from privacy_backend.core.models import OutboundMail
from privacy_backend.core.settings import Settings
from privacy_backend.mail.mailer import FileMailer, Mailer, MailError
from privacy_backend.main import create_app
from tests.conftest import free_port

TOKEN = "client-test-token-0123456789abcdef"
# Staff automation's token: the tests read as staff with it, the action clients never do.
STAFF_TOKEN = "client-test-staff-token-0123456789"


class FlakyRelay(FileMailer):
    """A mail relay that refuses every message while `down`."""

    down = True

    def send(self, message: EmailMessage) -> None:
        if self.down:
            raise MailError("relay down")
        super().send(message)


class Backend:
    def __init__(self, var_dir: Path, mailer: Mailer | None = None) -> None:
        self.var_dir = var_dir
        self.settings = Settings(_env_file=None, var_dir=var_dir, privacy_api_token=TOKEN,
                                 privacy_staff_token=STAFF_TOKEN)
        upgrade(self.settings)
        self.engine = make_engine(self.settings.sqlalchemy_url)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(self.settings, engine=self.engine, mailer=mailer)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, ws="none",
                                log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("backend did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.engine.dispose()

    def staff(self, method: str, path: str, **kw: Any) -> Any:
        """A staff call (the staff token), for what the tests check behind the assistant."""
        response = httpx.request(method, f"{self.url}{path}", timeout=5,
                                 headers={"Authorization": f"Bearer {STAFF_TOKEN}"}, **kw)
        response.raise_for_status()
        return response.json()

    def requests_of(self, email: str) -> list[dict[str, Any]]:
        return list(self.staff("GET", "/api/v1/requests", params={"email": email}))

    def history(self, email: str) -> list[dict[str, Any]]:
        return list(self.staff("GET", "/api/v1/preferences/history", params={"email": email}))

    def preferences(self, email: str) -> dict[str, Any]:
        return dict(self.staff("GET", "/api/v1/preferences", params={"email": email}))

    def proof(self, email: str, conversation_id: str | None = None) -> str:
        """The id of a preferences code confirmed for `email`, as the chat gets one."""
        with PrivacyRequestsClient(self.url, TOKEN, timeout=5) as client:
            sent = client.start_verification(email, Purpose.PREFERENCES, conversation_id)
            client.confirm_verification(sent.verification_id, self.last_code())
        return sent.verification_id

    def send_queued_mail(self) -> int:
        """Make the outbox's queued mail due now and run one retry round (as `serve` does
        every MAIL_RETRY_SECONDS); the number of mails attempted."""
        outbox = self.app.state.outbox
        with Session(self.engine) as session:
            session.execute(update(OutboundMail).values(next_attempt_at=datetime.now(timezone.utc)))
            session.commit()
        return int(outbox.deliver_due())

    def mail_count(self) -> int:
        """How many mails carrying a code were sent (a verified request's confirmation of
        receipt is not counted)."""
        return sum(1 for path in (self.var_dir / "mail").glob("*.eml")
                   if re.search(rb"code is: \d{3} ?\d{3}", path.read_bytes()))

    def last_code(self) -> str:
        """The code (6 digits, or 9) in the newest mail that carries one (a verified
        request's confirmation of receipt, which has none, may be newer)."""
        for path in sorted((self.var_dir / "mail").glob("*.eml"), reverse=True):
            body = email.message_from_bytes(path.read_bytes()).get_payload()
            match = re.search(r"code is: (\d{3} \d{3} \d{3}|\d{6})", str(body))
            if match:
                return match.group(1)  # a long code as mailed, in groups of three
        raise AssertionError("no mail carries a code")


def forget_settings() -> None:
    """Make the next call read the action server's settings again and open a new pool (the
    server reads them once per process)."""
    settings.cache_clear()
    close_shared_http()


class EnvironmentPatch:
    """pytest's `MonkeyPatch` (a final class, so wrapped), whose changes to the environment
    the actions see at once."""

    def __init__(self, patch: pytest.MonkeyPatch) -> None:
        self._patch = patch

    def setenv(self, name: str, value: str, prepend: str | None = None) -> None:
        self._patch.setenv(name, value, prepend)
        forget_settings()

    def delenv(self, name: str, raising: bool = True) -> None:
        self._patch.delenv(name, raising)
        forget_settings()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._patch, name)


@pytest.fixture
def monkeypatch(monkeypatch: pytest.MonkeyPatch) -> Iterator[EnvironmentPatch]:
    """pytest's `monkeypatch`, except that setting or deleting an environment variable also
    drops the action server's cached settings, so the next backend call reads the change."""
    yield EnvironmentPatch(monkeypatch)
    monkeypatch.undo()
    forget_settings()


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Each test reads the settings of its own environment, and leaves none behind."""
    forget_settings()
    yield
    forget_settings()


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """A fresh backend per test module, so that each module starts from an empty database."""
    server = Backend(tmp_path_factory.mktemp("backend") / "var")
    server.start()
    yield server
    server.stop()


C = TypeVar("C", bound=BackendClient)
Clients = Callable[[type[C]], C]


@pytest.fixture
def clients(backend: Backend) -> Iterator[Clients[Any]]:
    """Opens clients of any class on the module's backend, with the assistant's token and a
    short time-out; each is closed after the test."""
    opened: list[BackendClient] = []

    def open_client(cls: type[C]) -> C:
        client = cls(backend.url, TOKEN, timeout=5)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def client_fixture(cls: type[C]) -> Any:
    """A `client` fixture for a test module: a `cls` client of the module's backend."""

    @pytest.fixture
    def client(clients: Clients[C]) -> C:
        return clients(cls)

    return client


@pytest.fixture
def actions_backend(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Backend:
    """The module's backend, where the actions' clients find it (BACKEND_URL and token)."""
    monkeypatch.setenv("BACKEND_URL", backend.url)
    monkeypatch.setenv("PRIVACY_API_TOKEN", TOKEN)
    return backend


@pytest.fixture
def relay_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
               ) -> Iterator[tuple[Backend, FlakyRelay]]:
    """A backend of its own whose mail relay refuses everything until `relay.down = False`."""
    relay = FlakyRelay(tmp_path / "var" / "mail")
    server = Backend(tmp_path / "var", mailer=relay)
    server.start()
    monkeypatch.setenv("BACKEND_URL", server.url)
    monkeypatch.setenv("PRIVACY_API_TOKEN", TOKEN)
    yield server, relay
    server.stop()


@pytest.fixture
def down_url() -> str:
    """A loopback URL where nothing listens: connecting is refused."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A loopback URL where a socket accepts the connection and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
