"""One-time codes never reach the tracker store: a visitor verifies over REST, then the test
reads Rasa's tracker store (the SQLite file) directly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from privacy_assistant.stack import Stack
from tests.e2e.conftest import Chat, stored_events
from tests.e2e.mail import latest_code, messages_to

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _stored(stack: Stack, sender_id: str) -> list[dict[str, object]]:
    return [data for _, data in stored_events(stack, sender_id)]


def test_the_code_a_visitor_types_is_masked_before_it_is_stored(
        stack: Stack, chat: Chat, mail_dir: Path) -> None:
    email = "masked.e2e@example.com"
    assert "What email address" in chat.reply("subscribe me to your newsletter")
    before = len(messages_to(mail_dir, email))
    assert "6-digit code" in chat.reply(email)
    wrong = "000000" if latest_code(mail_dir, email, after=before) != "000000" else "111111"
    chat.reply(wrong)  # a wrong guess is a code too
    code = latest_code(mail_dir, email, after=before)
    spaced = f"{code[:3]} {code[3:]}"
    assert "subscribed" in chat.reply(spaced)

    events = _stored(stack, chat.sender)
    raw = json.dumps(events)
    assert code not in raw and spaced not in raw and wrong not in raw
    user_texts = [e.get("text") for e in events if e.get("event") == "user"]
    assert user_texts.count("[code]") == 2, user_texts
    assert email in user_texts  # other messages are kept as they were typed
