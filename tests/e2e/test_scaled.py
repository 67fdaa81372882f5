"""The scaled profile (`make run-scaled REPLICAS=2`): two Rasa replicas, each with its own
action server, behind HAProxy, sharing PostgreSQL (the backend's database and Rasa's tracker
store, in a database of this module's own) and Redis (conversation locks, socket.io rooms).

- Twenty visitors file a rights request at once, each turn sent to the other replica than
  the turn before: every request is filed exactly once and every tracker holds the visitor's
  messages complete and in order.
- An agent's reply, sent by the backend through replica B's HTTP API, reaches the visitor
  whose socket sits on replica A.
- A replica killed mid-conversation (SIGKILL): the conversation goes on through the
  balancer on the other replica, and its request is filed once.
- A turn sent again with its message id, to the other replica, is handled once: the retry
  gets the first answer; when the first replica saved the turn and died before answering,
  the retry gets the answer the tracker holds.

Needs PostgreSQL, Redis and HAProxy (CI has all three); skipped with the reason otherwise.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from privacy_assistant.rasa_auth import rasa_api_headers
from privacy_assistant.stack import Stack, build_services, scaled_env
from tests.conftest import PROJECT_ROOT, TEST_REDIS_URL, close_socket
from tests.e2e.conftest import (
    MODEL,
    Backend,
    Chat,
    isolated_env,
    scaled_profile_missing,
    shared_stores,
    temporary_database,
)
from tests.e2e.mail import latest_code
from tests.e2e.test_rights_requests import REFERENCE

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

VISITORS = 20
AGENT_EMAIL, AGENT_PASSWORD = "alex.scaled@example.com", "correct horse battery staple"


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The scaled stack (skipped, with the reason, without PostgreSQL, Redis or HAProxy)."""
    reason = scaled_profile_missing()
    if reason:
        pytest.skip(reason)
    if not MODEL.is_file():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    with temporary_database() as database:
        env = scaled_env(isolated_env(tmp_path_factory.mktemp("var"), **shared_stores(database)))
        services = build_services(env, replicas=2)
        # The backend reaches Rasa's HTTP API through replica B (rasa-1) only, so that an
        # agent's reply to a socket on replica A (rasa-0) must cross between the replicas.
        backend = next(s for s in services if s.name == "backend")
        replica_b = next(s for s in services if s.name == "rasa-1")
        backend.extra_env["RASA_URL"] = replica_b.health_url.removesuffix("/status")
        with Stack(env, output=sys.stderr, services=services, replicas=2) as running:
            yield running


class Alternating(Chat):
    """A visitor whose every turn goes to the next replica in turn, bypassing the balancer."""

    def __init__(self, urls: list[str], sender: str, token: str) -> None:
        super().__init__(urls[0], sender, token)
        self._urls = cycle(f"{url}/webhooks/rest/webhook" for url in urls)

    def say(self, text: str) -> list[dict[str, Any]]:
        self.url = next(self._urls)
        return super().say(text)


def _user_texts(stack: Stack, conversation_id: str) -> list[str]:
    """The conversation's user messages as Rasa's HTTP API returns them (any replica)."""
    answer = requests.get(
        f"{stack.env['RASA_URL']}/conversations/{conversation_id}/tracker",
        headers=rasa_api_headers(stack.env["RASA_API_TOKEN"], username="e2e"), timeout=10)
    answer.raise_for_status()
    return [e.get("text", "") for e in answer.json()["events"] if e.get("event") == "user"]


def _file_deletion(chat: Chat, email: str, mail_dir: Path) -> list[str]:
    """A whole deletion request with its code; returns what the visitor typed."""
    said = ["erase everything you have on me", email, "Jane Doe", "California", "no", "yes"]
    for words in said:
        chat.reply(words)
    filed = chat.reply(latest_code(mail_dir, email, timeout=30))
    assert REFERENCE.search(filed), filed
    return [*said, "[code]"]


def test_twenty_concurrent_requests_spread_over_both_replicas_are_each_filed_once(
        scaled: Stack) -> None:
    urls, token = scaled.replica_urls(), scaled.env["REST_CHANNEL_TOKEN"]
    mail_dir = Path(scaled.env["MAIL_DIR"])
    run = uuid.uuid4().hex[:6]

    def visitor(i: int) -> tuple[str, str, list[str]]:
        # Half the visitors start on replica A, half on replica B.
        chat = Alternating(urls[i % 2:] + urls[:i % 2], f"scaled-{run}-{i}", token)
        email = f"scaled.{run}.{i}@example.com"
        return chat.sender, email, _file_deletion(chat, email, mail_dir)

    with ThreadPoolExecutor(max_workers=VISITORS) as pool:
        done = list(pool.map(visitor, range(VISITORS)))

    backend = Backend(scaled)
    for sender, email, said in done:
        [request] = backend.requests_for(email)
        assert (request["status"], request["conversation_id"]) == ("verified", sender)
        assert _user_texts(scaled, sender) == said


def test_two_messages_of_one_conversation_on_both_replicas_at_once_are_handled_in_turn(
        scaled: Stack) -> None:
    """The shared lock: each replica takes the conversation in turn, so each message's turn
    ends (the bot listens again) before the next message's begins, and neither is lost."""
    urls, token = scaled.replica_urls(), scaled.env["REST_CHANNEL_TOKEN"]
    messages = ("what data do you collect?", "do you sell my data?")
    senders = [f"scaled-race-{uuid.uuid4().hex[:6]}-{i}" for i in range(10)]

    def send(job: tuple[str, int]) -> None:
        sender, replica = job
        Chat(urls[replica], sender, token).say(messages[replica])

    with ThreadPoolExecutor(max_workers=2 * len(senders)) as pool:
        list(pool.map(send, [(sender, replica) for sender in senders for replica in (0, 1)]))
    for sender in senders:
        answer = requests.get(
            f"{scaled.env['RASA_URL']}/conversations/{sender}/tracker",
            headers=rasa_api_headers(scaled.env["RASA_API_TOKEN"], username="e2e"), timeout=10)
        events = [e for e in answer.json()["events"] if e["event"] in ("user", "action")]
        said = [e["text"] for e in events if e["event"] == "user"]
        assert sorted(said) == sorted(messages), said
        # Between two user messages, the first one's turn ends with the bot listening.
        turns = [i for i, e in enumerate(events) if e["event"] == "user"]
        between = events[turns[0] + 1:turns[1]]
        assert between and between[-1].get("name") == "action_listen", events


def test_an_agent_reply_through_replica_b_reaches_the_socket_on_replica_a(
        scaled: Stack) -> None:
    created = subprocess.run(
        [sys.executable, "-m", "privacy_backend.cli", "create-agent", AGENT_EMAIL,
         "--name", "Alex", "--password-stdin"], input=AGENT_PASSWORD + "\n", env=scaled.env,
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert created.returncode == 0, created.stderr
    console = requests.Session()
    site = scaled.env["BACKEND_URL"]
    login = console.post(f"{site}/console/api/login",
                         json={"email": AGENT_EMAIL, "password": AGENT_PASSWORD}, timeout=10)
    login.raise_for_status()
    console.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    console.get(f"{site}/console/api/handoffs", timeout=10).raise_for_status()  # online

    replica_a = scaled.replica_urls()[0]
    bot: list[dict[str, Any]] = []
    confirmed = threading.Event()
    visitor = socketio.Client(reconnection=False)
    visitor.on("bot_uttered", bot.append)
    visitor.on("session_confirm", lambda _data: confirmed.set())
    visitor.connect(replica_a, socketio_path="/socket.io", transports=["polling"],
                    wait_timeout=20)
    try:
        visitor.emit("session_request", {})
        assert confirmed.wait(20)
        visitor.emit("user_uttered", {"message": "I want to talk to a person"})
        handoff = _wait_for(lambda: [item["handoff"] for item in console.get(
            f"{site}/console/api/handoffs", timeout=10).json()["handoffs"]])[0]
        console.post(f"{site}/console/api/handoffs/{handoff['id']}/take",
                     timeout=20).raise_for_status()
        reply = "Hello from Alex on the privacy team."
        console.post(f"{site}/console/api/handoffs/{handoff['id']}/messages",
                     json={"text": reply}, timeout=20).raise_for_status()
        _wait_for(lambda: [m for m in bot if m.get("text") == reply])
    finally:
        close_socket(visitor)


def test_a_replica_killed_mid_conversation_the_other_carries_it_on(scaled: Stack) -> None:
    chat = Chat(scaled.env["RASA_URL"], f"scaled-kill-{uuid.uuid4().hex[:6]}",
                token=scaled.env["REST_CHANNEL_TOKEN"])
    email = f"killed.{uuid.uuid4().hex[:6]}@example.com"
    mail_dir = Path(scaled.env["MAIL_DIR"])
    for words in ("erase everything you have on me", email, "Jane Doe"):
        chat.reply(words)
    with scaled.killed("rasa-0"), scaled.killed("actions-0"):
        # Through the balancer, on replica B alone, from where replica A left off.
        for words in ("California", "no", "yes"):
            chat.reply(words)
        filed = chat.reply(latest_code(mail_dir, email, timeout=30))
        assert REFERENCE.search(filed), filed
    [request] = Backend(scaled).requests_for(email)
    assert request["status"] == "verified"
    assert _user_texts(scaled, chat.sender) == [
        "erase everything you have on me", email, "Jane Doe", "California", "no", "yes",
        "[code]"]


def _redis(*command: str) -> None:
    """One Redis command, with the Rasa environment's client (the test environment has none)."""
    done = subprocess.run(
        [str(PROJECT_ROOT / ".venv-rasa" / "bin" / "python"), "-c",
         "import redis, sys; redis.Redis.from_url(sys.argv[1]).execute_command(*sys.argv[2:])",
         TEST_REDIS_URL, *command], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr


def test_a_retried_turn_is_handled_once_on_either_replica(scaled: Stack) -> None:
    urls, token = scaled.replica_urls(), scaled.env["REST_CHANNEL_TOKEN"]
    sender = f"scaled-retry-{uuid.uuid4().hex[:6]}"

    def send(replica: int, message_id: str) -> list[dict[str, Any]]:
        answer = requests.post(
            f"{urls[replica]}/webhooks/rest/webhook", timeout=60,
            json={"sender": sender, "message": "what data do you collect?",
                  "message_id": message_id}, headers={"Authorization": f"Bearer {token}"})
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found

    first = send(0, "turn-1")
    assert any("custom" in m for m in first) and any("text" in m for m in first)
    assert send(1, "turn-1") == first
    assert _user_texts(scaled, sender) == ["what data do you collect?"]

    # Replica A saved the turn and died before its answer was kept: the answer is gone and
    # A's claim is left to lapse. The retry on B answers from the tracker, handling nothing.
    key = "privacy-assistant:rest:" + hashlib.sha256(f"{sender}\0turn-1".encode()).hexdigest()
    _redis("SET", key, "pending", "EX", "1")
    assert send(1, "turn-1") == first
    assert _user_texts(scaled, sender) == ["what data do you collect?"]
    # A new message id is a new turn.
    send(1, "turn-2")
    assert _user_texts(scaled, sender) == ["what data do you collect?"] * 2


def _wait_for(found: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("timed out")
