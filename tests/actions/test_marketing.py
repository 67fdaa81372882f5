"""Marketing choices: what the visitor's words mean, the change sent to the backend, how the
result is shown, and a change retried against a real backend after it failed. The
conversations are covered end to end in tests/e2e/test_marketing.py."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.api.preferences import MarketingPreferences
from actions.marketing import (
    ActionApplyMarketing,
    ActionPrepareMarketing,
    ActionStartMarketingVerification,
    changes_for,
    describe,
    send_preferences_code,
)
from actions.preference_words import detect_channel, detect_topic, wants_everything
from actions.verification import ActionVerificationDone
from tests.actions.conftest import Backend, FlakyRelay
from tests.actions.turns import check, new_code, run, tracker


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
    opted_out = MarketingPreferences(email="a@example.com", global_opt_out=True,
                                     channels=prefs.channels, updated_at=None)
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


# --- against the real backend (tests/actions/conftest.py): a failure in the turn of the code ---

def test_a_change_that_fails_as_the_code_is_accepted_is_applied_once_on_try_again(
    actions_backend: Backend, down_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    email, sender = "dan@example.com", "marketing-visitor"
    slots: dict[str, Any] = {"requester_email": email, "marketing_action": "opt_in",
                             "marketing_channel": "email", "marketing_topic": "newsletters"}
    mails = actions_backend.mail_count()
    said, set_slots = run(ActionStartMarketingVerification(), slots, sender)
    assert said == ["utter_code_sent"]
    slots.update(set_slots)
    assert check(new_code(actions_backend, mails), slots, sender) == (
        {"verification_code": "verified"}, [])

    monkeypatch.setenv("BACKEND_URL", down_url)  # the preference system goes away
    said, set_slots = run(ActionVerificationDone(), {**slots, "verification_code": "verified"},
                          sender)
    assert said == ["utter_marketing_not_changed"]
    assert set_slots["backend_outcome"] == "apply_failed"
    slots.update(set_slots)

    monkeypatch.setenv("BACKEND_URL", actions_backend.url)  # "try again", twice
    said, set_slots = run(ActionApplyMarketing(), slots, sender)
    assert said == ["utter_marketing_opted_in"]
    assert set_slots["backend_outcome"] == "ok"
    run(ActionApplyMarketing(), slots, sender)
    assert len(actions_backend.history(email)) == 1
    assert actions_backend.preferences(email)["channels"]["email"]["newsletters"] is True


def test_a_delayed_preferences_code_is_said_to_be_delayed(
    relay_down: tuple[Backend, FlakyRelay]
) -> None:
    """The code's email is not handed over: the bot says it is delayed, not emailed; once
    the relay is back, a new code's email is said to be sent."""
    backend, relay = relay_down
    slots = {"requester_email": "slow.relay@example.com"}
    dispatcher = CollectingDispatcher()
    events = asyncio.run(send_preferences_code(dispatcher, tracker(slots, sender="slow")))
    assert [m["response"] for m in dispatcher.messages] == ["utter_code_delayed"]
    assert events[0]["name"] == "verification_id" and backend.mail_count() == 0
    relay.down = False
    dispatcher = CollectingDispatcher()
    asyncio.run(send_preferences_code(dispatcher, tracker(slots, sender="slow")))
    assert [m["response"] for m in dispatcher.messages] == ["utter_code_sent"]
    assert backend.mail_count() == 1


def test_a_code_free_opt_out_is_recorded_and_a_rate_limit_is_said_as_such(
    actions_backend: Backend,
) -> None:
    """An opt-out needs no code and says only what it recorded; beyond the hourly limit of
    one chat (MARKETING_OPT_OUTS_PER_CONVERSATION_PER_HOUR, 10) the visitor hears that, and
    about the unsubscribe link, not that the system is down."""
    sender = "opt-out-visitor"
    slots: dict[str, Any] = {"marketing_action": "opt_out", "marketing_channel": "sms",
                             "marketing_topic": "all"}
    for i in range(10):
        said, set_slots = run(ActionApplyMarketing(), {**slots,
                                                       "requester_email": f"m{i}@example.com"},
                              sender)
        assert said == ["utter_marketing_opted_out", "utter_quote_marketing_timing"]
        assert set_slots["backend_outcome"] == "ok"
    assert actions_backend.preferences("m0@example.com")["channels"]["sms"] == {
        "product_news": False, "events": False, "newsletters": False, "promotions": False}
    said, set_slots = run(ActionApplyMarketing(), {**slots, "requester_email": "m10@example.com"},
                          sender)
    assert said == ["utter_marketing_opt_out_limited"]
    assert set_slots["backend_outcome"] == "declined"
