"""Cancelling and starting over, and the days a filed request waits for its code, which the
visitor is told in the backend's own number (`UNVERIFIED_CLOSE_DAYS`)."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.cancel_restart import ActionCancelRequest
from actions.status_lookup import status_label
from tests.actions.turns import tracker


def test_cancelling_a_filed_request_says_when_it_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNVERIFIED_CLOSE_DAYS", "5")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionCancelRequest().run(
        dispatcher, tracker({"verification_purpose": "request"}), {}))
    [message] = dispatcher.messages
    assert (message["response"], message["days"]) == ("utter_cancelled_unverified", 5)
    assert status_label("closed_unverified") == (
        "closed, because the email was not verified within 5 days")


def test_cancelling_anything_else_just_cancels() -> None:
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionCancelRequest().run(
        dispatcher, tracker({"verification_purpose": "preferences"}), {}))
    assert [m["response"] for m in dispatcher.messages] == ["utter_cancelled"]
    assert status_label("closed_unverified") == (
        "closed, because the email was not verified within 7 days")
