"""When the assistant hands over to a person on its own: two misunderstood messages."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.handoff import misunderstood_twice, summary


def user(text: str, intent: str) -> dict[str, Any]:
    return {"event": "user", "text": text,
            "parse_data": {"intent": {"name": intent, "confidence": 0.2}}}


def bot(response: str) -> dict[str, Any]:
    return {"event": "bot", "text": "…", "metadata": {"utter_action": response}}


def tracker(*events: dict[str, Any]) -> Tracker:
    latest = [e for e in events if e["event"] == "user"][-1]["parse_data"]
    return Tracker("visitor", {}, latest, list(events), False, None, {}, "action_listen")


def test_two_misunderstood_messages_in_a_row() -> None:
    assert misunderstood_twice(tracker(
        user("blorp", "nlu_fallback"), bot("utter_default"), user("zzz qq", "nlu_fallback")))


def test_one_misunderstanding_is_not_enough() -> None:
    assert not misunderstood_twice(tracker(user("zzz qq", "nlu_fallback")))
    assert not misunderstood_twice(tracker(
        user("hi", "greet"), bot("utter_greet"), user("zzz qq", "nlu_fallback")))


def test_a_low_confidence_message_that_was_answered_does_not_count() -> None:
    assert not misunderstood_twice(tracker(
        user("how long u keep stuff", "nlu_fallback"), bot("utter_answer_from_statement"),
        user("zzz qq", "nlu_fallback")))


def test_summary_keeps_the_last_messages_short() -> None:
    events = [user(f"message {i} " + "x" * 200, "inform") for i in range(8)]
    text = summary(tracker(*events))
    assert text.startswith("message 3") and len(text) <= 500
