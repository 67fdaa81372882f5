"""Marketing choices: what the visitor's words mean, the change sent to the backend, and
how the result is shown. Backend calls are covered end to end in tests/e2e/test_marketing.py."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.api.preferences import MarketingPreferences
from actions.marketing import ActionPrepareMarketing, changes_for, describe
from actions.preference_words import detect_channel, detect_topic, wants_everything


@pytest.mark.parametrize(
    ("words", "channel", "topic"),
    [
        ("stop emailing me", "email", None),
        ("no more promo texts", "sms", "promotions"),
        ("stop calling me", "phone", None),
        ("stop sending me letters", "postal", None),
        ("remove me from your newsletter", "email", "newsletters"),
        ("subscribe me to the newsletter again", "email", "newsletters"),
        ("stop sending me event invitations", None, "events"),
        ("unsubscribe me", None, None),
    ],
)
def test_channel_and_topic_from_the_visitors_words(
    words: str, channel: str | None, topic: str | None
) -> None:
    assert (detect_channel(words), detect_topic(words)) == (channel, topic)


def test_everything_everywhere() -> None:
    assert wants_everything("opt me out of everything")
    assert wants_everything("stop all marketing")
    assert not wants_everything("stop emailing me")


@pytest.mark.parametrize(
    ("action", "channel", "topic", "body"),
    [
        ("opt_out", "all", None, {"global_opt_out": True}),
        ("opt_out", "email", "all", {"channels": {"email": False}}),
        ("opt_out", "sms", "promotions", {"channels": {"sms": {"promotions": False}}}),
        ("opt_in", "email", "newsletters",
         {"channels": {"email": {"newsletters": True}}, "global_opt_out": False}),
        ("opt_in", "postal", "all", {"channels": {"postal": True}, "global_opt_out": False}),
    ],
)
def test_change_sent_to_the_backend(
    action: str, channel: str, topic: str | None, body: dict[str, Any]
) -> None:
    assert changes_for(action, channel, topic) == body


def test_choices_are_described_per_channel() -> None:
    prefs = MarketingPreferences(
        email="a@example.com", global_opt_out=False, updated_at=None,
        channels={"email": {"newsletters": True, "promotions": False}, "sms": {}},
    )
    text = describe(prefs)
    assert "• Email: newsletters" in text and "• Text messages: nothing" in text
    opted_out = MarketingPreferences("a@example.com", True, prefs.channels, None)
    assert describe(opted_out) == "• You are opted out of all marketing, on every channel."


def prepare(text: str, intent: str, slots: dict[str, Any] | None = None) -> dict[str, Any]:
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []}
    tracker = Tracker("visitor", slots or {}, message, [], False, None, {}, "action_listen")
    events = asyncio.run(ActionPrepareMarketing().run(CollectingDispatcher(), tracker, {}))
    return {e["name"]: e["value"] for e in events}


def test_prepare_reads_the_request_and_starts_fresh() -> None:
    slots = prepare("no more promo texts", "opt_out_marketing",
                    {"marketing_key": "old", "marketing_channel": "email"})
    assert slots["marketing_action"] == "opt_out"
    assert (slots["marketing_channel"], slots["marketing_topic"]) == ("sms", "promotions")
    assert slots["marketing_key"] is None
    assert prepare("opt me out of everything", "opt_out_marketing")["marketing_channel"] == "all"
    assert prepare("what am I subscribed to?", "view_preferences")["marketing_action"] == "view"


def test_a_recently_verified_email_is_reused_and_an_old_one_is_not() -> None:
    fresh = {"verified_email": "a@example.com", "verified_until": time.time() + 60}
    assert prepare("unsubscribe me", "opt_out_marketing", fresh)["requester_email"] == (
        "a@example.com")
    stale = {"verified_email": "a@example.com", "verified_until": time.time() - 1}
    assert "requester_email" not in prepare("unsubscribe me", "opt_out_marketing", stale)
