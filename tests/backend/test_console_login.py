"""The console login, tried from an attacker's side: guesses sent all at once, a flood of
logins against the database's write lock, a forged X-Forwarded-For, a stolen session after
the password was reset, and a cookie or page served without HTTPS protection."""

from __future__ import annotations

import io
import os
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from starlette.types import Receive, Scope, Send

from privacy_backend import cli
from privacy_backend.core.middleware import HSTS_MAX_AGE, ForwardedClient
from privacy_backend.core.settings import Settings
from privacy_backend.main import create_app
from privacy_backend.services import agents
from tests.conftest import PROJECT_ROOT, free_port

from .console_support import PASSWORD, Console, make_agent
from .support import Api, FakeClock, TestClient, wait_until_healthy

GUESSES = 12  # sent at once, against a limit of 5 (LOGIN_MAX_FAILURES)


class WatchedHasher:
    """argon2's hasher doing the real work, calling `during()` inside each password check
    (the check starts, the test looks at the world, the check goes on)."""

    def __init__(self, real: Any, during: Callable[[], None]) -> None:
        self.real = real
        self.during = during
        self.checked = 0
        self.lock = threading.Lock()

    def verify(self, stored: str, password: str) -> bool:
        with self.lock:
            self.checked += 1
        self.during()
        return bool(self.real.verify(stored, password))

    def hash(self, password: str) -> str:
        return str(self.real.hash(password))

    def check_needs_rehash(self, stored: str) -> bool:
        return bool(self.real.check_needs_rehash(stored))


def test_guesses_sent_at_once_are_checked_at_most_up_to_the_limit(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    make_agent(api)
    everyone_in = threading.Event()

    def hold_until_all_overlap() -> None:  # each check waits for the others (or 1 s)
        if watched.checked >= GUESSES:
            everyone_in.set()
        everyone_in.wait(timeout=1.0)

    watched = WatchedHasher(agents._hasher, hold_until_all_overlap)
    monkeypatch.setattr(agents, "_hasher", watched)
    guessers = [Console(api, client=("203.0.113.5", 40000 + n)) for n in range(GUESSES)]
    with ThreadPoolExecutor(max_workers=GUESSES) as pool:
        statuses = list(pool.map(lambda pair: pair[1].login(f"guess {pair[0]}").status_code,
                                 enumerate(guessers)))
    limit = api.settings.login_max_failures
    assert watched.checked <= limit
    assert sorted(statuses) == [401] * limit + [429] * (GUESSES - limit)
    assert guessers[0].login().status_code == 429  # the client stays locked out


def test_argon2_runs_outside_the_database_write_lock(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A flood of logins must not stall every other write (codes, requests) for the time of
    an argon2 check each: while a password is checked, another writer gets the lock."""
    if api.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    make_agent(api)
    writable: list[bool] = []

    def try_to_write() -> None:
        other = sqlite3.connect(str(api.engine.url.database), timeout=0.3,
                                isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            writable.append(True)
        except sqlite3.OperationalError:  # database is locked
            writable.append(False)
        finally:
            other.close()

    monkeypatch.setattr(agents, "_hasher", WatchedHasher(agents._hasher, try_to_write))
    assert Console(api).login("not the password").status_code == 401
    assert Console(api).login().status_code == 200
    assert writable == [True, True]


# --- the client's address behind a proxy --------------------------------------------------
@contextmanager
def served(tmp_path: Path, **extra_env: str) -> Iterator[str]:
    """`privacy-backend serve` on a free loopback port (its base URL), with an agent."""
    env = {**os.environ, "VAR_DIR": str(tmp_path), "LOG_LEVEL": "WARNING",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", **extra_env}
    created = subprocess.run(
        [sys.executable, "-m", "privacy_backend.cli", "create-agent", "sam@example.com",
         "--name", "Sam", "--password-stdin"], input=PASSWORD + "\n", cwd=PROJECT_ROOT,
        env=env, capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "privacy_backend.cli", "serve", "--port", str(port),
         "--no-migrate"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_forged_x_forwarded_for_neither_evades_nor_resets_the_lockout(
        tmp_path: Path) -> None:
    """Behind a proxy (FORWARDED_ALLOW_IPS=`*`, as deploy/ gives), the proxy appends the
    address it saw; the guesser writes a new one at the left of each request."""
    with served(tmp_path, FORWARDED_ALLOW_IPS="*") as base:
        def login(password: str, forwarded_for: str) -> httpx.Response:
            return httpx.post(f"{base}/console/api/login", timeout=10,
                              json={"email": "sam@example.com", "password": password},
                              headers={"X-Forwarded-For": forwarded_for})

        for n in range(5):
            assert login("guess", f"198.51.100.{n}, 203.0.113.66").status_code == 401
        assert login(PASSWORD, "192.0.2.1, 203.0.113.66").status_code == 429
        assert login(PASSWORD, "203.0.113.66").status_code == 429
        # The address counted is the one the proxy saw, not the proxy's: the agent, at
        # another address behind the same proxy, logs in.
        assert login(PASSWORD, "198.51.100.7").status_code == 200


async def _nothing(scope: Scope, receive: Receive, send: Send) -> None:
    """An ASGI app that is never called."""


def test_only_a_trusted_proxy_names_the_client() -> None:
    default = ForwardedClient(_nothing)
    assert not default.trusts("10.0.0.5") and default.trusts("127.0.0.1")
    behind = ForwardedClient(_nothing, "10.0.0.0/8")
    assert behind.client_host(["192.0.2.1, 203.0.113.66, 10.0.0.7"]) == "203.0.113.66"
    assert behind.client_host(["192.0.2.1", "[2001:db8::1]:443"]) == "2001:db8::1"
    anyone = ForwardedClient(_nothing, "*")
    assert anyone.trusts("198.51.100.1")
    assert anyone.client_host(["192.0.2.1, 203.0.113.66"]) == "203.0.113.66"


# --- after a password reset; over HTTPS ----------------------------------------------------
def test_a_password_reset_ends_the_agents_sessions(
        api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if api.engine.dialect.name != "sqlite":
        pytest.skip("the CLI reaches the database through DATABASE_URL")
    make_agent(api)
    sam = Console(api)
    assert sam.login().status_code == 200
    thief = Console(api)  # holds a copy of Sam's cookie
    thief.client.cookies.set("console_session", sam.client.cookies["console_session"],
                             path="/console")
    assert thief.get("/session").status_code == 200
    monkeypatch.setenv("DATABASE_URL", api.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setattr(sys, "stdin", io.StringIO("a new password for Sam\n"))
    assert cli.main(["create-agent", "sam@example.com", "--reset-password",
                     "--password-stdin"]) == 0
    for browser in (thief, sam):
        response = browser.get("/session")
        assert response.status_code == 401 and response.json()["error"] == "login_required"
    assert Console(api).login("a new password for Sam").status_code == 200


def _secure(set_cookie: str) -> bool:
    return re.search(r";\s*secure\s*(;|$)", set_cookie, re.I) is not None


def test_an_https_deployment_sends_a_secure_cookie_and_hsts(
        db: Engine, settings: Settings, clock: FakeClock) -> None:
    """PUBLIC_BASE_URL is https; the proxy in front says nothing of the scheme."""
    https = settings.model_copy(update={"public_base_url": "https://privacy.example.com"})
    with TestClient(create_app(https, engine=db, clock=clock)) as client:
        api = Api(client=client, engine=db, settings=https, clock=clock)
        make_agent(api)
        login = Console(api).login()
        assert login.status_code == 200 and _secure(login.headers["set-cookie"])
        for response in (login, client.get("/health"), client.get("/console"),
                         client.get("/exports/made-up")):
            assert response.headers["strict-transport-security"] == f"max-age={HSTS_MAX_AGE}"


def test_a_plain_http_deployment_sends_neither(api: Api) -> None:
    """Local use (no PUBLIC_BASE_URL): a Secure cookie would never come back over http."""
    make_agent(api)
    login = Console(api).login()
    assert login.status_code == 200 and not _secure(login.headers["set-cookie"])
    assert "strict-transport-security" not in login.headers
    assert "strict-transport-security" not in api.client.get("/health").headers
