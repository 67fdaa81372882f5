"""The widget's socket.io channel, tried from the attacker's side: a conversation belongs to
the browser the server issued it to.

Each test talks to the real Rasa server with python-socketio's client, as the widget does,
and reads Rasa's tracker store (SQLite) directly to see which conversation a message landed
in.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import socketio

from privacy_assistant.stack import Stack
from tests.conftest import close_socket
from tests.e2e.conftest import stored_events
from tests.e2e.mail import latest_code

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


class Browser:
    """One widget: a socket.io connection, and everything the server sent it."""

    def __init__(self, url: str) -> None:
        self.client = socketio.Client(reconnection=False)
        self.bot: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.confirmed: list[dict[str, Any]] = []
        self.ended = threading.Event()
        self.ended_with: list[dict[str, Any]] = []
        self.client.on("bot_uttered", self.bot.append)
        self.client.on("error", self.errors.append)
        self.client.on("session_confirm", self.confirmed.append)
        self.client.on("session_ended", self._ended)
        self.client.connect(url, socketio_path="/socket.io", transports=["polling"],
                            wait_timeout=20)

    def _ended(self, data: Any = None) -> None:
        self.ended_with.append(data if isinstance(data, dict) else {})
        self.ended.set()

    def session(self, **data: Any) -> dict[str, Any]:
        before = len(self.confirmed)
        self.client.emit("session_request", data)
        _wait(lambda: len(self.confirmed) > before)
        return self.confirmed[-1]

    def say(self, text: str, **extra: Any) -> None:
        self.client.emit("user_uttered", {"message": text, **extra})

    def texts(self) -> list[str]:
        return [m.get("text", "") for m in self.bot if "text" in m]

    def close(self) -> None:
        close_socket(self.client)


def _wait(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the server")
        time.sleep(0.05)


def _user_texts(stack: Stack, sender_id: str) -> list[str]:
    """What the tracker store holds as this conversation's user messages."""
    return [data.get("text", "") for kind, data in stored_events(stack, sender_id)
            if kind == "user"]


def _slots(stack: Stack, sender_id: str) -> dict[str, Any]:
    """The slots as the last events of the conversation leave them."""
    slots: dict[str, Any] = {}
    for type_name, event in stored_events(stack, sender_id):
        if type_name == "slot":
            slots[event["name"]] = event["value"]
        elif type_name == "restart":
            slots = {}
    return slots


@pytest.fixture
def browsers(stack: Stack) -> Iterator[list[Browser]]:
    opened: list[Browser] = []
    yield opened
    for browser in opened:
        browser.close()


def _open(stack: Stack, browsers: list[Browser]) -> Browser:
    browser = Browser(stack.env["RASA_URL"])
    browsers.append(browser)
    return browser


def test_the_server_issues_the_session_and_a_claimed_id_gets_nothing(
        stack: Stack, browsers: list[Browser]) -> None:
    visitor = _open(stack, browsers)
    issued = visitor.session(session_id="chosen-by-the-client")
    victim_id = issued["session_id"]
    assert victim_id != "chosen-by-the-client" and len(victim_id) >= 32
    visitor.say("what data do you collect?")
    _wait(lambda: visitor.texts())

    # The attacker knows the victim's conversation id and claims it, in every way the old
    # channel accepted: as the session to resume, and inside each message.
    attacker = _open(stack, browsers)
    own = attacker.session(session_id=victim_id)
    assert own["session_id"] != victim_id
    attacker.say("who do you share my data with?", session_id=victim_id)
    _wait(lambda: attacker.texts())

    visitor.say("do you sell my data?")
    _wait(lambda: len(visitor.texts()) >= 2)
    time.sleep(1.0)  # anything sent to the victim's room would have arrived by now
    assert not any("sell" in t.lower() for t in attacker.texts()), attacker.texts()
    assert _user_texts(stack, victim_id) == ["what data do you collect?", "do you sell my data?"]
    assert _user_texts(stack, own["session_id"]) == ["who do you share my data with?"]


def test_a_forged_or_foreign_token_does_not_resume_a_conversation(
        stack: Stack, browsers: list[Browser]) -> None:
    visitor = _open(stack, browsers)
    victim_id = visitor.session()["session_id"]
    forged = jwt.encode({"sub": victim_id, "aud": "privacy-assistant-widget",
                         "exp": int(time.time()) + 3600}, "not-the-server-secret" * 2,
                        algorithm="HS256")
    attacker = _open(stack, browsers)
    assert attacker.session(session_token=forged)["session_id"] != victim_id
    assert attacker.session(session_token="garbage")["session_id"] != victim_id
    unsigned = jwt.encode({"sub": victim_id, "aud": "privacy-assistant-widget",
                           "exp": int(time.time()) + 3600}, None, algorithm="none")
    assert attacker.session(session_token=unsigned)["session_id"] != victim_id


def test_the_issued_token_resumes_the_same_conversation(
        stack: Stack, browsers: list[Browser]) -> None:
    first = _open(stack, browsers)
    issued = first.session()
    first.say("hello")
    _wait(lambda: first.texts())
    first.close()
    reloaded = _open(stack, browsers)
    assert reloaded.session(session_token=issued["session_token"])["session_id"] == \
        issued["session_id"]
    reloaded.say("what data do you collect?")
    _wait(lambda: len(_user_texts(stack, issued["session_id"])) == 2)


def test_a_socket_without_a_session_writes_nothing(stack: Stack, browsers: list[Browser]
                                                   ) -> None:
    stranger = _open(stack, browsers)
    stranger.say("hello", session_id="e2e-nobody-issued-this")
    _wait(lambda: stranger.errors)
    assert stranger.errors[-1] == {"error": "no_session"}
    assert _user_texts(stack, "e2e-nobody-issued-this") == []


def test_hostile_payloads_are_refused_and_change_nothing(stack: Stack, browsers: list[Browser]
                                                         ) -> None:
    visitor = _open(stack, browsers)
    session_id = visitor.session()["session_id"]
    visitor.say("x" * 20_000)
    visitor.say("hello", metadata="{not json")
    visitor.say("hello", metadata=json.dumps(["a", "list"]))
    visitor.say("hello", metadata={"big": "y" * 10_000})
    visitor.client.emit("user_uttered", ["not", "a", "dict"])
    visitor.client.emit("user_uttered", {"message": {"nested": "object"}})
    _wait(lambda: len(visitor.errors) >= 6)
    assert {e["error"] for e in visitor.errors} == {"bad_message", "bad_metadata"}
    assert _user_texts(stack, session_id) == []
    visitor.say("what data do you collect?", metadata=json.dumps({"page": "/"}))
    _wait(lambda: visitor.texts())  # the channel still serves this socket


def test_end_chat_restarts_the_conversation_and_unbinds_the_socket(
        stack: Stack, browsers: list[Browser]) -> None:
    visitor = _open(stack, browsers)
    session_id = visitor.session()["session_id"]
    visitor.say("stop emailing me")
    _wait(lambda: visitor.texts())
    assert _slots(stack, session_id), "the marketing flow sets slots"
    visitor.client.emit("end_session", {})
    assert visitor.ended.wait(30)
    # A restart clears every slot, the verified address (verified_email) among them.
    assert _event_types(stack, session_id)[-1] != "slot"
    assert "restart" in _event_types(stack, session_id)
    assert _slots(stack, session_id) == {}
    # The socket is bound to no conversation any more: it writes nowhere until it asks.
    visitor.say("are you still there?")
    _wait(lambda: visitor.errors)
    assert visitor.errors[-1] == {"error": "no_session"}
    assert "are you still there?" not in _user_texts(stack, session_id)
    assert visitor.session()["session_id"] != session_id


def test_delete_chat_erases_the_sockets_own_conversation_and_no_other(
        stack: Stack, browsers: list[Browser]) -> None:
    visitor = _open(stack, browsers)
    victim_id = visitor.session()["session_id"]
    visitor.say("what data do you collect?")
    _wait(lambda: visitor.texts())
    attacker = _open(stack, browsers)
    own = attacker.session()["session_id"]
    attacker.say("do you sell my data?")
    _wait(lambda: attacker.texts())
    # Rasa saves the turn after it has sent the reply: wait for the save too.
    _wait(lambda: _event_types(stack, own))

    # The attacker names the victim's conversation; the channel erases the socket's own.
    attacker.client.emit("end_session", {"erase": True, "session_id": victim_id})
    assert attacker.ended.wait(30)
    assert attacker.ended_with[-1] == {"erased": True, "reason": None}
    assert _event_types(stack, own) == []
    assert _user_texts(stack, victim_id) == ["what data do you collect?"]


def test_delete_chat_keeps_a_conversation_that_verified_an_address(
        stack: Stack, browsers: list[Browser]) -> None:
    mail_dir = Path(stack.env["MAIL_DIR"])
    email = "widget.delete@example.com"
    visitor = _open(stack, browsers)
    session_id = visitor.session()["session_id"]
    visitor.say("what am I subscribed to?")
    _wait(lambda: visitor.texts())
    visitor.say(email)
    _wait(lambda: len(visitor.texts()) >= 2)
    visitor.say(latest_code(mail_dir, email))
    _wait(lambda: any("receives from us" in t for t in visitor.texts()))
    visitor.client.emit("end_session", {"erase": True})
    assert visitor.ended.wait(30)
    assert visitor.ended_with[-1] == {"erased": False, "reason": "verified"}
    assert "what am I subscribed to?" in _user_texts(stack, session_id)


def _event_types(stack: Stack, sender_id: str) -> list[str]:
    return [kind for kind, _ in stored_events(stack, sender_id)]


def test_the_store_these_tests_read_is_the_one_rasa_writes(
        stack: Stack, browsers: list[Browser]) -> None:
    """The tests above read the tracker store directly; it must be the store Rasa writes."""
    visitor = _open(stack, browsers)
    session_id = visitor.session()["session_id"]
    visitor.say("what data do you collect?")
    _wait(lambda: visitor.texts())
    _wait(lambda: _user_texts(stack, session_id) == ["what data do you collect?"])
