"""Handoff over REST: a request/response channel cannot receive an agent's pushed replies,
so the visitor is told where a person can be reached and keeps chatting with the bot; no
live handoff is queued. (The live take-over in the web widget is tests/e2e/test_browser.py;
the queueing itself is tests/actions/test_handoff.py.)"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Backend, Chat

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NOT_LIVE = "can't join this channel"


def test_asking_for_a_person_over_rest(chat: Chat, backend: Backend) -> None:
    chat.reply("do you sell my data?")
    reply = chat.reply("I want to talk to a person")
    assert NOT_LIVE in reply and "privacy@boomi.com" in reply
    assert backend.handoffs_for(chat.sender) == []
    # Not paused: the bot still answers.
    _, citation = chat.ask("can my kid use this?")
    assert citation is not None


def test_a_complaint_is_pointed_to_a_person(chat: Chat) -> None:
    assert NOT_LIVE in chat.reply("I want to file a complaint about how you used my data")


def test_two_misunderstood_messages_in_a_row_point_to_a_person(chat: Chat) -> None:
    first = chat.reply("asdf qwerty zxcv")
    assert "didn't understand" in first
    assert NOT_LIVE in chat.reply("ghjk uiop")
