"""Handing a conversation to a person: the summary the agent sees, and the handoff queued
(or not) per channel. When the assistant hands over on its own (two misunderstood messages)
is tested in tests/actions/test_common.py, with the helper that decides it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandoff, summary
from tests.actions.conftest import TOKEN, Backend


def user(text: str, intent: str) -> dict[str, Any]:
    return {"event": "user", "text": text,
            "parse_data": {"intent": {"name": intent, "confidence": 0.2}}}


def tracker(*events: dict[str, Any]) -> Tracker:
    latest = [e for e in events if e["event"] == "user"][-1]["parse_data"]
    return Tracker("visitor", {}, latest, list(events), False, None, {}, "action_listen")


def test_summary_keeps_the_last_messages_short() -> None:
    events = [user(f"message {i} " + "x" * 200, "inform") for i in range(8)]
    text = summary(tracker(*events))
    assert text.startswith("message 3") and len(text) <= 500


# --- queueing a web handoff, against a real backend (tests/actions/conftest.py) ----------------

def run_handoff(channel: str, text: str) -> tuple[list[str], list[Any]]:
    events = [{"event": "user", "text": text, "input_channel": channel,
               "parse_data": {"intent": {"name": "request_human", "confidence": 1.0}}}]
    tracker = Tracker("web-visitor", {}, events[0]["parse_data"], events, False, None, {},
                      "action_listen")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ActionHandoff().run(dispatcher, tracker, {}))
    return [m["response"] for m in dispatcher.messages], result


@pytest.fixture
def backend_env(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Backend:
    monkeypatch.setenv("BACKEND_URL", backend.url)
    monkeypatch.setenv("PRIVACY_API_TOKEN", TOKEN)
    return backend


def test_web_handoff_with_nobody_online_is_queued_and_the_bot_stays(
    backend_env: Backend,
) -> None:
    said, events = run_handoff("socketio", "my code is 123456, get me a human")
    assert said == ["utter_handoff_no_agents"] and events == []
    listed = backend_env.staff("GET", "/api/v1/handoffs",
                               params={"conversation_id": "web-visitor"})
    assert [h["status"] for h in listed] == ["waiting"]
    assert listed[0]["channel"] == "web" and "123456" not in listed[0]["summary"]


def test_rest_handoff_is_not_queued(backend_env: Backend) -> None:
    said, events = run_handoff("rest", "a person please")
    assert said == ["utter_handoff_not_live"] and events == []
