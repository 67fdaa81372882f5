"""The widget's socket.io channel, tried from the attacker's side: an ended chat's token is
dead, and one address cannot flood the server with connections, sessions or messages, nor
one conversation grow without bound.

The channel is the one credentials.yml names, built from its credentials and registered by
Rasa's own `register`, served by Sanic in the Rasa environment
(`socketio_channel_server.py`) with small limits, and called with python-socketio's client
as the widget does. The server trusts one proxy (`RASA_PROXIES_COUNT=1`), so each test
speaks from an address of its own (`X-Forwarded-For`) and the counters do not mix. The
stand-in agent records every message it is handed. The whole stack's version, with the
real tracker, is in tests/e2e/test_socketio.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from socketio.exceptions import ConnectionError as Refused

from tests.channels.launch import served
from tests.conftest import close_socket

SERVER = Path(__file__).with_name("socketio_channel_server.py")
SESSIONS_PER_MINUTE = 4
MESSAGES_PER_MINUTE = 6
TURNS_PER_HOUR = 3


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with served(SERVER.name, RASA_PROXIES_COUNT="1",
                WIDGET_SESSIONS_PER_IP_PER_MINUTE=str(SESSIONS_PER_MINUTE),
                WIDGET_MESSAGES_PER_IP_PER_MINUTE=str(MESSAGES_PER_MINUTE),
                CONVERSATION_TURNS_PER_HOUR=str(TURNS_PER_HOUR)) as base:
        yield base


def _wait(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


class Widget:
    """One browser tab: a socket.io connection from `address` (with the browser's other
    handshake `headers`, e.g. `Sec-GPC`), and what the server sent."""

    def __init__(self, url: str, address: str, headers: dict[str, str] | None = None) -> None:
        self.client = socketio.Client(reconnection=False)
        self.confirmed: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.bot: list[dict[str, Any]] = []
        self.ended = threading.Event()
        self.client.on("session_confirm", self.confirmed.append)
        self.client.on("error", self.errors.append)
        self.client.on("bot_uttered", self.bot.append)
        self.client.on("session_ended", lambda data=None: self.ended.set())
        self.client.connect(url, socketio_path="/socket.io", transports=["websocket"],
                            headers={"X-Forwarded-For": address, **(headers or {})},
                            wait_timeout=10)

    def session(self, **data: Any) -> dict[str, Any]:
        before = len(self.confirmed)
        self.client.emit("session_request", data)
        _wait(lambda: len(self.confirmed) > before)
        return self.confirmed[-1]

    def say(self, text: str) -> None:
        self.client.emit("user_uttered", {"message": text})

    def said_and_answered(self, text: str) -> None:
        before = len(self.bot)
        self.say(text)
        _wait(lambda: len(self.bot) > before)

    def error(self, before: int) -> dict[str, Any]:
        _wait(lambda: len(self.errors) > before)
        return self.errors[-1]

    def close(self) -> None:
        close_socket(self.client)


def _received(url: str, session_id: str) -> list[str]:
    return [m["text"] for m in requests.get(f"{url}/received", timeout=5).json()
            if m["sender_id"] == session_id]


@pytest.fixture
def widgets(url: str) -> Iterator[Callable[[str], Widget]]:
    opened: list[Widget] = []

    def open_one(address: str) -> Widget:
        opened.append(Widget(url, address))
        return opened[-1]

    yield open_one
    for widget in opened:
        widget.close()


def test_end_chat_revokes_the_token(url: str, widgets: Callable[[str], Widget]) -> None:
    """Someone who copied the widget's token (a shared computer, the browser's storage)
    comes back after "End chat": the token opens a new, empty conversation, and a socket
    still bound to the old one writes nothing more into it."""
    visitor = widgets("198.51.100.1")
    first = visitor.session()
    visitor.said_and_answered("my email is ada@example.com")
    attacker_tab = widgets("198.51.100.1")
    assert attacker_tab.session(session_token=first["session_token"])["session_id"] == \
        first["session_id"]  # before the end, the token resumes (a reload)

    visitor.client.emit("end_session", {})
    assert visitor.ended.wait(10)

    later = widgets("198.51.100.1").session(session_token=first["session_token"])
    assert later["session_id"] != first["session_id"]
    errors = len(attacker_tab.errors)
    attacker_tab.say("what is my email?")
    assert attacker_tab.error(errors)["error"] == "no_session"
    assert _received(url, first["session_id"]) == ["my email is ada@example.com", "/restart"]


def test_one_address_cannot_open_sessions_without_end(widgets: Callable[[str], Widget]
                                                      ) -> None:
    widget = widgets("198.51.100.2")
    ids = {widget.session()["session_id"] for _ in range(SESSIONS_PER_MINUTE)}
    assert len(ids) == SESSIONS_PER_MINUTE
    confirmed, errors = len(widget.confirmed), len(widget.errors)
    widget.client.emit("session_request", {})
    refused = widget.error(errors)
    assert refused["error"] == "too_many_sessions" and 1 <= refused["retry_after"] <= 60
    assert len(widget.confirmed) == confirmed
    # Another address is not affected.
    assert widgets("198.51.100.3").session()["session_id"] not in ids


def test_one_address_cannot_open_connections_without_end(
        widgets: Callable[[str], Widget]) -> None:
    for _ in range(SESSIONS_PER_MINUTE):
        widgets("198.51.100.4")
    with pytest.raises(Refused):
        widgets("198.51.100.4")


def test_one_address_cannot_flood_messages(url: str, widgets: Callable[[str], Widget]) -> None:
    """Fresh conversations do not reset the address's count of messages."""
    widget = widgets("198.51.100.5")
    sessions = []
    for _ in range(MESSAGES_PER_MINUTE // 2):
        sessions.append(widget.session()["session_id"])
        widget.said_and_answered("hello")
        widget.said_and_answered("hello again")
    errors = len(widget.errors)
    widget.say("one more")
    refused = widget.error(errors)
    assert refused["error"] == "too_many_messages" and 1 <= refused["retry_after"] <= 60
    assert sum(len(_received(url, s)) for s in sessions) == MESSAGES_PER_MINUTE


def test_a_busy_conversation_stops_growing(url: str, widgets: Callable[[str], Widget]) -> None:
    widget = widgets("198.51.100.6")
    session_id = widget.session()["session_id"]
    for i in range(TURNS_PER_HOUR):
        widget.said_and_answered(f"message {i}")
    errors = len(widget.errors)
    widget.say("one too many")
    refused = widget.error(errors)
    assert refused["error"] == "conversation_limit" and 1 <= refused["retry_after"] <= 3600
    assert len(_received(url, session_id)) == TURNS_PER_HOUR
    # A new conversation (after "End chat") may go on.
    other = widget.session()["session_id"]
    widget.said_and_answered("hello")
    assert _received(url, other) == ["hello"]
