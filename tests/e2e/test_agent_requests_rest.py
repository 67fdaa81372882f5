"""Authorized agents and duplicate requests in the chat, end to end over REST.

An agent files for a consumer: the chat asks for the consumer's address (not the agent's
own), the code goes to the agent, and after it the chat says the consumer was asked to
confirm instead of "filed"; the consumer's confirmation email arrives and the request waits
for it. A second open request of the same type for the same address is linked to the first:
the chat names it and its due date. Checked through the staff API and the mail folder."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import pytest

from privacy_assistant.dates import long_date
from privacy_assistant.stack import Stack
from tests.e2e.conftest import Backend, Chat, file_verified_request
from tests.e2e.mail import body, latest_code, messages_to

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REFERENCE = re.compile(r"\bPR-[A-Z0-9]{4}-[A-Z0-9]{4}\b")


def wait_for_mail(mail_dir: Path, address: str, words: str, timeout: float = 10) -> str:
    """The body of the first message to `address` containing `words`, once it arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in messages_to(mail_dir, address):
            text = body(message)
            if words in text:
                return text
        time.sleep(0.1)
    raise AssertionError(f"no mail to {address} saying {words!r}")


def test_an_agent_files_for_a_consumer_who_is_asked_to_confirm(
    chat: Chat, backend: Backend, mail_dir: Path, stack: Stack
) -> None:
    agent, consumer = "agent.e2e@example.com", "consumer.e2e@example.com"
    assert "What email address" in chat.reply("delete my data")
    assert "your name" in chat.reply(agent)
    assert "state or country" in chat.reply("Jane Doe")
    assert "on behalf of someone else" in chat.reply("California")
    assert "the person you are acting for" in chat.reply("yes")
    assert "That is your own address" in chat.reply(agent.upper())
    summary = chat.reply(consumer)
    assert "Shall I file it" in summary
    assert f"The consumer's email: {consumer}" in summary and agent in summary

    sent = chat.reply("yes")
    assert f"I've emailed a 6-digit code to {agent}" in sent
    assert messages_to(mail_dir, consumer) == []  # the code goes to the agent only
    [pending] = backend.requests_for(consumer)
    assert (pending["email"], pending["agent_email"]) == (consumer, agent)
    assert pending["authorized_agent"] is True and pending["status"] == "pending_verification"

    answer = chat.reply(latest_code(mail_dir, agent))
    assert "emailed the person you are acting for to confirm" in answer
    assert "only after they confirm" in answer
    assert "request is filed" not in answer and "does not guarantee" not in answer
    [request] = backend.requests_for(consumer)
    assert request["reference"] == pending["reference"] and request["reference"] in answer
    assert request["status"] == "pending_verification" and request["awaiting_consumer"]

    confirmation = wait_for_mail(mail_dir, consumer, "/agent-requests/")
    assert agent in confirmation and request["reference"] in confirmation

    # The agent's status lookup with their own address says it waits for the consumer.
    lookup = Chat.of(stack, f"{chat.sender}-lookup")
    lookup.reply("what's the status of my request?")
    assert "What email address" in lookup.reply(request["reference"])
    before = len(messages_to(mail_dir, agent))
    lookup.reply(agent)
    status = lookup.reply(latest_code(mail_dir, agent, after=before))
    assert request["reference"] in status
    assert "waiting for the confirmation of the person it was made for" in status


def test_a_second_request_of_the_same_type_is_linked_to_the_open_one(
    chat: Chat, backend: Backend, mail_dir: Path, stack: Stack
) -> None:
    email = "duplicate.e2e@example.com"
    first = file_verified_request(stack, "access", email, "California")
    [open_one] = backend.requests_for(email)
    due = datetime.fromisoformat(open_one["due_at"].replace("Z", "+00:00"))

    chat.reply("send me a copy of my data")
    chat.reply(email)
    chat.reply("Jane Doe")
    chat.reply("California")
    assert "Shall I file it" in chat.reply("no")
    before = len(messages_to(mail_dir, email))
    assert "I've emailed a 6-digit code" in chat.reply("yes")
    answer = chat.reply(latest_code(mail_dir, email, after=before))
    assert f"You already have an open access request, {first}, due {long_date(due)}" in answer
    assert "we linked this one" in answer and "request is filed" not in answer

    second = [r for r in backend.requests_for(email) if r["reference"] != first]
    assert [(r["status"], r["duplicate_of"]) for r in second] == [("duplicate", first)]
    assert REFERENCE.findall(answer) == [first, second[0]["reference"]]
    [still_open] = [r for r in backend.requests_for(email) if r["reference"] == first]
    assert still_open["status"] == "verified" and still_open["due_at"] == open_one["due_at"]
