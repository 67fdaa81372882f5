"""Handoff over REST when no agent is online: the visitor is offered email, keeps chatting
with the bot, and the handoff waits in the agents' queue. (The live take-over, with an agent
online in the console, is tests/e2e/test_browser.py.)"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Backend, Chat

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_asking_for_a_person_with_nobody_online(chat: Chat, backend: Backend) -> None:
    assert backend.agents_online() == 0
    chat.reply("do you sell my data?")
    reply = chat.reply("I want to talk to a person")
    assert "No one from our privacy team is online" in reply
    assert "privacy@boomi.com" in reply
    [handoff] = backend.handoffs_for(chat.sender)
    assert handoff["status"] == "waiting"
    assert handoff["reason"] == "The visitor asked for a person."
    assert "do you sell my data?" in handoff["summary"]
    # Not paused: the bot still answers.
    _, citation = chat.ask("can my kid use this?")
    assert citation is not None


def test_a_complaint_goes_to_a_person(chat: Chat, backend: Backend) -> None:
    assert "privacy team" in chat.reply("I want to file a complaint about how you used my data")
    [handoff] = backend.handoffs_for(chat.sender)
    assert handoff["reason"].startswith("A topic that needs a person")


def test_two_misunderstood_messages_in_a_row_go_to_a_person(
    chat: Chat, backend: Backend
) -> None:
    first = chat.reply("asdf qwerty zxcv")
    assert "didn't understand" in first
    assert backend.handoffs_for(chat.sender) == []
    second = chat.reply("ghjk uiop")
    assert "privacy team" in second
    [handoff] = backend.handoffs_for(chat.sender)
    assert handoff["reason"] == "The assistant did not understand two messages in a row."
