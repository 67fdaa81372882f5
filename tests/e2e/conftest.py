"""The real assistant: backend, action server and Rasa server on free loopback ports."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, create_engine, text

from privacy_assistant.config import resolve
from privacy_assistant.rasa_auth import rasa_api_headers
from privacy_assistant.scaled import temporary_database as scaled_database
from privacy_assistant.stack import Stack, build_services, haproxy_binary, scaled_env
from tests.conftest import PROJECT_ROOT, TEST_REDIS_URL, free_port, unreachable
from tests.e2e.mail import latest_code
from tests.slack_standin import BOT_TOKEN, SIGNING_SECRET, TEAM_ID, SlackStandIn

MODEL = PROJECT_ROOT / "models" / "privacy-assistant.tar.gz"
POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# E2E_REPLICAS=2 runs the whole end-to-end suite on the scaled profile (see `stack`).
REPLICAS = int(os.environ.get("E2E_REPLICAS", "1"))
# The Slack workspace the stack is connected to (a loopback stand-in for Slack's Web API):
# its privacy team's channel, a member of it and a colleague who is not.
PRIVACY_CHANNEL = "C0PRIVACY"
TEAM_MEMBER = ("U0PRIYA", "priya.privacy@acme.example", "Priya Privacy")
COLLEAGUE = ("U0SAM", "sam.sales@acme.example", "Sam Sales")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (the browser tests skip where either is missing)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def slack() -> Iterator[SlackStandIn]:
    users = {uid: {"email": email, "real_name": name} for uid, email, name in
             (TEAM_MEMBER, COLLEAGUE)}
    with SlackStandIn(users=users, channel_members={PRIVACY_CHANNEL: [TEAM_MEMBER[0]]}
                      ) as running:
        yield running


def isolated_env(var_dir: Path, **given: str) -> dict[str, str]:
    """The stack's environment on free loopback ports with its state in `var_dir`: what the
    machine's environment or `.env` says about ports, stores, URLs and secrets is set aside
    (empty means the default), then `given` is applied."""
    overrides = {
        "VAR_DIR": str(var_dir),
        "BACKEND_PORT": str(free_port()),
        "ACTION_SERVER_PORT": str(free_port()),
        "RASA_PORT": str(free_port()),
        "PRIVACY_API_TOKEN": "",
        "PRIVACY_STAFF_TOKEN": "",
        "RASA_API_TOKEN": "",
        "REST_CHANNEL_TOKEN": "",
        "WIDGET_SESSION_SECRET": "",
        "DATABASE_URL": "",
        "TRACKER_STORE_URL": "",
        "TRACKER_STORE_DB": "",
        "MAIL_DIR": "",
        "SITE_URL": "",
        "BACKEND_URL": "",
        "RASA_URL": "",
        "WIDGET_RASA_URL": "",
        "ACTION_SERVER_URL": "",
        "SLACK_BOT_TOKEN": "",
        "SLACK_SIGNING_SECRET": "",
        "SLACK_TEAM_ID": "",
        "SLACK_PRIVACY_CHANNEL": "",
        "REDIS_URL": "",
        # Every client here is 127.0.0.1: the per-address flood limits are off (they are
        # tried in tests/channels/test_socketio.py); the per-conversation ones stay on.
        "WIDGET_SESSIONS_PER_IP_PER_MINUTE": "0",
        "WIDGET_MESSAGES_PER_IP_PER_MINUTE": "0",
        **given,
    }
    base = {k: v for k, v in os.environ.items() if k not in overrides}
    base.update({k: v for k, v in overrides.items() if v})
    return resolve(base)


# A PostgreSQL database of its own on the test server, dropped afterwards (a context manager
# that yields its URL).
temporary_database = functools.partial(scaled_database, POSTGRES, "pa_e2e")


def scaled_profile_missing() -> str | None:
    """Why the scaled profile cannot run here (no PostgreSQL, Redis or HAProxy), or None."""
    missing = [why for why in (unreachable(POSTGRES), unreachable(TEST_REDIS_URL)) if why]
    if haproxy_binary() is None:
        missing.append("HAProxy is not installed")
    return ("the scaled profile needs PostgreSQL, Redis and HAProxy: " + "; ".join(missing)
            if missing else None)


def shared_stores(database: str) -> dict[str, str]:
    """The scaled profile's stores: `database` for the backend and Rasa, the test Redis."""
    return {"REDIS_URL": TEST_REDIS_URL, "TRACKER_STORE_URL": database,
            "DATABASE_URL": database.replace("postgresql://", "postgresql+psycopg2://", 1)}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, slack: SlackStandIn) -> Iterator[Stack]:
    """The whole assistant; with E2E_REPLICAS=N (N > 1), the scaled profile: N replicas
    behind HAProxy on PostgreSQL and Redis, so that every end-to-end test runs through the
    load-balanced port."""
    if not MODEL.is_file():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    slack_env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                 "SLACK_API_URL": slack.url, "SLACK_TEAM_ID": TEAM_ID,
                 "SLACK_PRIVACY_CHANNEL": PRIVACY_CHANNEL}
    var_dir = tmp_path_factory.mktemp("var")
    if REPLICAS == 1:
        with Stack(isolated_env(var_dir, **slack_env), output=sys.stderr) as running:
            yield running
        return
    reason = scaled_profile_missing()
    if reason:
        pytest.skip(reason)
    with temporary_database() as database:
        env = scaled_env(isolated_env(var_dir, **slack_env, **shared_stores(database)))
        with Stack(env, output=sys.stderr, replicas=REPLICAS) as running:
            yield running


@functools.lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    return create_engine(url)


def tracker_store_url(stack: Stack) -> str:
    """The SQLAlchemy URL of the store Rasa writes the stack's conversations to."""
    return stack.env.get("TRACKER_STORE_URL") or f"sqlite:///{stack.env['TRACKER_STORE_DB']}"


def stored_events(store: Stack | str, sender_id: str) -> list[tuple[str, dict[str, Any]]]:
    """A conversation's events as the tracker store holds them, oldest first: (type, data).
    `store` is a running stack or the store's URL."""
    url = tracker_store_url(store) if isinstance(store, Stack) else store
    with _engine(url).connect() as conn:
        rows = conn.execute(text("SELECT type_name, data FROM events WHERE sender_id = :sender "
                                 "ORDER BY id"), {"sender": sender_id}).all()
    return [(type_name, json.loads(data)) for type_name, data in rows]


class Chat:
    """One visitor talking to the assistant over Rasa's REST channel, as the support desk
    relays them: with the channel's bearer token (`REST_CHANNEL_TOKEN`). Without a token it
    is a caller who does not have it, and every message is refused with 401."""

    def __init__(self, rasa_url: str, sender: str, token: str | None = None) -> None:
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.sender = sender

    @classmethod
    def of(cls, stack: Stack, sender: str) -> Chat:
        """A visitor of the running stack, relayed with the channel's token."""
        return cls(stack.env["RASA_URL"], sender, token=stack.env["REST_CHANNEL_TOKEN"])

    def say(self, text: str) -> list[dict[str, Any]]:
        response = requests.post(
            self.url, json={"sender": self.sender, "message": text}, headers=self.headers,
            timeout=30,
        )
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()
        return messages

    def reply(self, text: str) -> str:
        """All the text the assistant answered with."""
        return "\n".join(m["text"] for m in self.say(text) if "text" in m)

    def ask(self, text: str) -> tuple[str, dict[str, Any] | None]:
        """The reply's text and its citation (Rasa's REST channel sends a response's
        `json_message` as a message of its own, after the text)."""
        messages = self.say(text)
        texts = [m["text"] for m in messages if "text" in m]
        citations = [m["custom"]["citation"] for m in messages if "citation" in m.get("custom", {})]
        assert len(citations) <= 1, messages
        return "\n".join(texts), (citations[0] if citations else None)


@pytest.fixture
def chat(stack: Stack, request: pytest.FixtureRequest) -> Chat:
    return Chat.of(stack, sender=f"e2e-{request.node.name}")


def rasa_tracker(stack: Stack, conversation_id: str) -> dict[str, Any]:
    """A conversation's tracker, read through Rasa's HTTP API as the backend reads it."""
    response = requests.get(
        f"{stack.env['RASA_URL']}/conversations/{conversation_id}/tracker",
        headers=rasa_api_headers(stack.env["RASA_API_TOKEN"], username="e2e"), timeout=10)
    response.raise_for_status()
    tracker: dict[str, Any] = response.json()
    return tracker


def last_turn(stack: Stack, conversation_id: str) -> tuple[list[str], str | None, dict[str, Any]]:
    """What the conversation's last turn did, read from its tracker: the actions it ran since
    the visitor's last message, the form active after it (or None), and the slots."""
    tracker = rasa_tracker(stack, conversation_id)
    events = tracker["events"]
    last_user = max(i for i, e in enumerate(events) if e["event"] == "user")
    actions = [e["name"] for e in events[last_user:] if e["event"] == "action"]
    return actions, (tracker.get("active_loop") or {}).get("name"), tracker["slots"]


def user_said(stack: Stack, conversation_id: str) -> list[str]:
    """What the conversation's tracker holds as the visitor's messages."""
    return [e["text"] for e in rasa_tracker(stack, conversation_id)["events"]
            if e["event"] == "user"]


class Backend:
    """The backend's request API, as the privacy team's tools call it: with the staff token
    (the assistant's may not list requests or read histories)."""

    def __init__(self, stack: Stack) -> None:
        self.url = stack.env["BACKEND_URL"]
        self.headers = {"Authorization": f"Bearer {stack.env['PRIVACY_STAFF_TOKEN']}"}

    def requests_for(self, email: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.url}/api/v1/requests", params={"email": email},
                                headers=self.headers, timeout=10)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()
        return found


    def preferences(self, email: str) -> dict[str, Any]:
        response = requests.get(f"{self.url}/api/v1/preferences", params={"email": email},
                                headers=self.headers, timeout=10)
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    def history(self, email: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.url}/api/v1/preferences/history",
                                params={"email": email}, headers=self.headers, timeout=10)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()
        return found

    def handoffs_for(self, conversation_id: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.url}/api/v1/handoffs",
                                params={"conversation_id": conversation_id},
                                headers=self.headers, timeout=10)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()
        return found

    def subscribe_everything(self, email: str) -> None:
        """What the marketing system records when someone signs up for all of it."""
        response = requests.patch(
            f"{self.url}/api/v1/preferences", params={"email": email}, headers=self.headers,
            json={"channels": {c: True for c in ("email", "sms", "phone", "postal")},
                  "source": "api"}, timeout=10)
        response.raise_for_status()


@pytest.fixture
def backend(stack: Stack) -> Backend:
    return Backend(stack)


@pytest.fixture
def mail_dir(stack: Stack) -> Path:
    return Path(stack.env["MAIL_DIR"])


# --- staff and requests, made the way the product makes them ------------------------------------

def create_agent(stack: Stack, email: str, name: str, password: str,
                 role: str | None = None) -> str:
    """A console account, created with the real CLI against the stack's database."""
    result = subprocess.run(
        [sys.executable, "-m", "privacy_backend.cli", "create-agent", email, "--name", name,
         *(["--role", role] if role else []), "--password-stdin"],
        input=password + "\n", env=stack.env, cwd=PROJECT_ROOT, capture_output=True,
        text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return email


@contextmanager
def backend_alone(var_dir: Path) -> Iterator[Stack]:
    """The backend alone (`privacy-backend serve`, as the stack starts it) on a free port,
    with its own state in `var_dir`: for the console's browser tests, which need no bot."""
    overrides = {
        "VAR_DIR": str(var_dir), "BACKEND_PORT": str(free_port()),
        "PRIVACY_API_TOKEN": "", "PRIVACY_STAFF_TOKEN": "", "DATABASE_URL": "",
        "TRACKER_STORE_DB": "", "MAIL_DIR": "", "SITE_URL": "", "BACKEND_URL": "",
        "SLACK_BOT_TOKEN": "", "REDIS_URL": "",
    }
    base = {k: v for k, v in os.environ.items() if k not in overrides}
    base.update({k: v for k, v in overrides.items() if v})
    env = resolve(base)
    services = [s for s in build_services(env) if s.name == "backend"]
    with Stack(env, output=sys.stderr, services=services) as running:
        yield running


def file_verified_request(stack: Stack, request_type: str, address: str, region: str) -> str:
    """File a request as the assistant does and verify it with the emailed code; its
    reference."""
    url, mail_dir = stack.env["BACKEND_URL"], Path(stack.env["MAIL_DIR"])
    headers = {"Authorization": f"Bearer {stack.env['PRIVACY_API_TOKEN']}"}
    created = requests.post(f"{url}/api/v1/requests", headers=headers, timeout=10, json={
        "type": request_type, "email": address, "region": region, "channel": "web"})
    assert created.status_code == 201, created.text
    reference = str(created.json()["reference"])
    verified = requests.post(f"{url}/api/v1/requests/{reference}/verify", headers=headers,
                             timeout=10, json={"code": latest_code(mail_dir, address)})
    assert verified.status_code == 200, verified.text
    return reference
