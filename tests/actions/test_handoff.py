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


@pytest.mark.parametrize("code", ["123 456", "123-456", "1 2 3 4 5 6", "123.456", "123456",
                                  "123 456 789", "123-456-789"])
def test_a_code_written_with_separators_does_not_reach_the_summary(code: str) -> None:
    """An attacker's view of the agents' queue (and the privacy team's Slack channel): a
    visitor's code, however it is spaced, never shows in the summary."""
    text = summary(tracker(user(f"my code is {code}, please help", "request_human"),
                           user(code, "inform")))
    assert [d for d in text if d.isdigit()] == [], text
    assert text.count("[code]") == 2


def test_the_summary_keeps_longer_numbers_that_are_not_codes() -> None:
    text = summary(tracker(user("I wrote on 2024-01-15 from +1 555 123 4567", "inform")))
    assert "2024-01-15" in text and "555 123 4567" in text


# --- queueing a web handoff, against a real backend (tests/actions/conftest.py) ----------------

def run_handoff(channel: str, text: str, sender: str = "web-visitor"
                ) -> tuple[list[str], list[Any]]:
    events = [{"event": "user", "text": text, "input_channel": channel,
               "parse_data": {"intent": {"name": "request_human", "confidence": 1.0}}}]
    tracker = Tracker(sender, {}, events[0]["parse_data"], events, False, None, {},
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


def test_a_full_queue_is_answered_politely_and_nothing_is_queued(backend_env: Backend
                                                                 ) -> None:
    """A flood of fresh conversations filled the queue (HANDOFF_MAX_OPEN): the next visitor
    hears how else to reach the team, and the bot is not paused for a handoff nobody holds."""
    settings = backend_env.settings
    before = settings.handoff_max_open
    open_now = len(backend_env.staff("GET", "/api/v1/handoffs", params={"open": True}))
    settings.handoff_max_open = max(open_now, 1)
    try:
        if open_now == 0:
            assert run_handoff("socketio", "a person", sender="filler")[0] == \
                ["utter_handoff_no_agents"]
        said, events = run_handoff("socketio", "a person please", sender="one-too-many")
    finally:
        settings.handoff_max_open = before
    assert said == ["utter_handoff_failed"] and events == []
    assert backend_env.staff("GET", "/api/v1/handoffs",
                             params={"conversation_id": "one-too-many"}) == []
