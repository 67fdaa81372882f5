"""Running actions the way the action server does, one turn at a time: a tracker built from
slots, the responses the action chose, the slots its events set. Shared by the action tests
that talk to the real backend (tests/actions/conftest.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.verification import ValidateVerificationForm
from tests.actions.conftest import Backend

__all__ = ["check", "new_code", "run", "tracker"]


def tracker(slots: dict[str, Any], text: str = "", sender: str = "visitor",
            loop: str | None = "verification_form") -> Tracker:
    message = {"text": text, "intent": {"name": "inform", "confidence": 1.0}, "entities": []}
    events = [{"event": "user", "text": text, "parse_data": message}]
    return Tracker(sender, slots, message, events, False, None,
                   {"name": loop} if loop else {}, "action_listen")


def check(code: str, slots: dict[str, Any], sender: str = "visitor"
          ) -> tuple[dict[str, Any], list[str]]:
    """The code form's validation of `code`: the slots it sets, and the responses."""
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ValidateVerificationForm().validate_verification_code(
        code, dispatcher, tracker(slots, code, sender), {}))
    return result, [m["response"] for m in dispatcher.messages]


def run(action: Action, slots: dict[str, Any], sender: str = "visitor"
        ) -> tuple[list[str], dict[str, Any]]:
    """The responses, and the slots the events set (the last value of each)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker(slots, sender=sender), {}))
    set_slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    return [m["response"] for m in dispatcher.messages], set_slots


def new_code(backend: Backend, mails_before: int) -> str:
    """The code in the next mail (some are written just after the backend has answered)."""
    deadline = time.monotonic() + 5
    while backend.mail_count() <= mails_before:
        assert time.monotonic() < deadline, "no code was mailed"
        time.sleep(0.05)
    return backend.last_code()
