"""The chat's privacy opt-outs as the action server runs them, against a real backend
(tests/actions/conftest.py): which opt-out was asked for, the address question ("This chat
only" included), and the record with its reference and due date, with no code."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.privacy_opt_outs import (
    THIS_CHAT,
    ActionPreparePrivacyOptOut,
    ActionRecordPrivacyOptOut,
    ValidatePrivacyOptOutForm,
)
from tests.actions.conftest import Backend
from tests.actions.turns import run, tracker


def said_with(action: ActionRecordPrivacyOptOut, slots: dict[str, Any], sender: str
              ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker(slots, sender=sender, loop=None), {}))
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_prepare_reads_which_opt_out_and_reuses_a_verified_address() -> None:
    def prepare(intent: str, slots: dict[str, Any]) -> dict[str, Any]:
        message = {"text": "x", "intent": {"name": intent, "confidence": 1.0}, "entities": []}
        t = Tracker("v", slots, message, [], False, None, {}, "action_listen")
        dispatcher = CollectingDispatcher()
        events = asyncio.run(ActionPreparePrivacyOptOut().run(dispatcher, t, {}))
        return {e["name"]: e["value"] for e in events}

    assert prepare("do_not_sell", {}) == {"opt_out_kind": "sale_sharing", "opt_out_email": None}
    fresh = {"verified_email": "a@example.com", "verified_until": time.time() + 60}
    assert prepare("limit_sensitive_use", fresh) == {"opt_out_kind": "limit_sensitive",
                                                    "opt_out_email": "a@example.com"}


@pytest.mark.parametrize(("typed", "kept"), [
    ("-", THIS_CHAT), ("Ann@Example.com", "ann@example.com"), ("not an address", None)])
def test_the_address_question_takes_an_address_or_this_chat(typed: str, kept: str | None
                                                            ) -> None:
    dispatcher = CollectingDispatcher()
    result = ValidatePrivacyOptOutForm().validate_opt_out_email(
        typed, dispatcher, tracker({}, typed, loop="privacy_opt_out_form"), {})
    assert result == {"opt_out_email": kept}
    assert [m["response"] for m in dispatcher.messages] == (
        [] if kept else ["utter_invalid_email"])


def test_an_opt_out_is_recorded_once_with_its_reference_and_due_date(
    actions_backend: Backend,
) -> None:
    slots = {"opt_out_kind": "sale_sharing", "opt_out_email": "ann@example.com"}
    mails = actions_backend.mail_count()
    [message], set_slots = said_with(ActionRecordPrivacyOptOut(), slots, "opt-visitor")
    assert message["response"] == "utter_privacy_opt_out_recorded"
    assert message["reference"].startswith("OO-") and message["whom"] == "ann@example.com"
    assert "sale and sharing" in message["what"] and message["due_date"]
    assert set_slots == {"opt_out_kind": None, "opt_out_email": None}
    assert actions_backend.mail_count() == mails  # no code
    [again], _ = said_with(ActionRecordPrivacyOptOut(), slots, "opt-visitor")
    assert again["response"] == "utter_privacy_opt_out_already"
    assert again["reference"] == message["reference"]


def test_this_chat_only_records_for_the_conversation(actions_backend: Backend) -> None:
    slots = {"opt_out_kind": "limit_sensitive", "opt_out_email": THIS_CHAT}
    [message], _ = said_with(ActionRecordPrivacyOptOut(), slots, "chat-only-visitor")
    assert message["response"] == "utter_privacy_opt_out_recorded"
    assert message["whom"] == "this chat" and "sensitive" in message["what"]


def test_nothing_recorded_when_the_backend_is_down(down_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_URL", down_url)
    monkeypatch.setenv("PRIVACY_API_TOKEN", "x" * 32)
    said, set_slots = run(ActionRecordPrivacyOptOut(),
                          {"opt_out_kind": "sale_sharing", "opt_out_email": THIS_CHAT})
    assert said == ["utter_privacy_opt_out_failed"]


def test_a_rate_limit_is_said_as_such_not_as_an_outage(actions_backend: Backend) -> None:
    """Beyond OPT_OUT_HOURLY_LIMIT (10) new opt-outs from one chat, the backend answers 429:
    the visitor hears that, and where else to go, not that the system is down."""
    sender = "busy-visitor"
    for i in range(10):
        [ok], _ = said_with(ActionRecordPrivacyOptOut(), {
            "opt_out_kind": "sale_sharing", "opt_out_email": f"p{i}@example.com"}, sender)
        assert ok["response"] == "utter_privacy_opt_out_recorded"
    [limited], _ = said_with(ActionRecordPrivacyOptOut(), {
        "opt_out_kind": "sale_sharing", "opt_out_email": "p10@example.com"}, sender)
    assert limited["response"] == "utter_privacy_opt_out_limited"
