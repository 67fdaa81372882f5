"""Appeals in the chat, end to end over REST: staff deny a request through the staff API;
the person asks for its status (which says how to appeal), then appeals it with the code
emailed to the request's address, gives a reason, and is told the appeal's reference and due
date, which the backend holds. A stranger with a wrong address gets no code and files
nothing; a request that is not denied cannot be appealed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from privacy_assistant.dates import long_date
from privacy_assistant.stack import Stack
from tests.conftest import wait_until
from tests.e2e.conftest import Backend, Chat, file_verified_request, last_turn
from tests.e2e.mail import body, latest_code, messages_to

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

APPEAL = re.compile(r"\bAP-[A-Z0-9-]+\b")


def deny(backend: Backend, reference: str, mail_dir: Path, email: str) -> None:
    """Staff deny the request, as the privacy team's tools do, and the denial notice reaches
    `email` (the backend waits only MAIL_SEND_WAIT_SECONDS for the mail before it answers,
    so on a busy machine the notice can land after the answer: a count of the person's mail
    taken before it is in would be one short)."""
    response = requests.patch(f"{backend.url}/api/v1/requests/{reference}",
                              headers=backend.headers, timeout=10,
                              json={"status": "rejected",
                                    "note": "We hold no data under this address."})
    assert response.status_code == 200, response.text
    wait_until(lambda: any("could not fulfil your" in body(m) and reference in body(m)
                           for m in messages_to(mail_dir, email)))


def appeals_of(backend: Backend, reference: str) -> list[dict[str, Any]]:
    response = requests.get(f"{backend.url}/api/v1/appeals", headers=backend.headers,
                            params={"limit": 500}, timeout=10)
    response.raise_for_status()
    return [a for a in response.json() if a["request_reference"] == reference]


def prove(chat: Chat, mail_dir: Path, reference: str, email: str, opening: str) -> str:
    """Start a lookup or an appeal naming the reference, give the address, type the code
    emailed to it; the answer to the code."""
    asked = chat.reply(opening)
    if "reference" in asked and "What email address" not in asked:
        asked = chat.reply(reference)
    assert "What email address" in asked, asked
    before = len(messages_to(mail_dir, email))
    assert "If that reference and email belong to a request" in chat.reply(email)
    return chat.reply(latest_code(mail_dir, email, after=before))


def test_a_denied_request_is_appealed_in_the_chat_with_the_emailed_code(
    chat: Chat, backend: Backend, mail_dir: Path, stack: Stack
) -> None:
    email = "appeal.e2e@example.com"
    reference = file_verified_request(stack, "deletion", email, "Virginia")
    deny(backend, reference, mail_dir, email)

    status = prove(chat, mail_dir, reference, email, "what's the status of my request?")
    assert reference in status and "closed without action" in status
    assert f'appeal {reference}' in status  # how to appeal

    asked = prove(chat, mail_dir, reference, email, f"I want to appeal {reference}")
    assert "why you disagree" in asked and reference in asked
    filed = chat.reply("I have an account under this address since 2021; please look again.")
    assert "Your appeal is filed" in filed, filed
    appeal_reference = APPEAL.search(filed)
    assert appeal_reference, filed

    [appeal] = appeals_of(backend, reference)
    assert appeal["reference"] == appeal_reference.group(0)
    assert appeal["status"] == "open"
    due = datetime.fromisoformat(appeal["due_at"].replace("Z", "+00:00"))
    # Virginia: an appeal is decided within 60 days of its receipt.
    assert due.date() == datetime.now(timezone.utc).date() + timedelta(days=60)
    assert long_date(due) in filed
    received = [body(m) for m in messages_to(mail_dir, email)]
    assert any(appeal["reference"] in text for text in received)

    # The status now gives the appeal; appealing again files nothing new.
    again = Chat.of(stack, f"{chat.sender}-again")
    status = prove(again, mail_dir, reference, email, "what's the status of my request?")
    assert appeal["reference"] in status and long_date(due) in status
    repeated = prove(again, mail_dir, reference, email, f"appeal {reference}")
    assert "already has an appeal" in repeated and appeal["reference"] in repeated
    assert len(appeals_of(backend, reference)) == 1


def test_a_wrong_address_gets_no_code_and_cannot_appeal(
    chat: Chat, backend: Backend, mail_dir: Path, stack: Stack
) -> None:
    victim, stranger = "appeal.victim.e2e@example.com", "appeal.stranger.e2e@example.com"
    reference = file_verified_request(stack, "access", victim, "Virginia")
    deny(backend, reference, mail_dir, victim)
    victims_mail = len(messages_to(mail_dir, victim))

    assert "What email address" in chat.reply(f"I want to appeal {reference}")
    asked = chat.reply(stranger)
    # Exactly what the owner is told; no code goes anywhere.
    assert "If that reference and email belong to a request" in asked
    refused = chat.reply("123456")
    assert "isn't right" in refused and "why you disagree" not in refused
    chat.reply("cancel")
    assert messages_to(mail_dir, stranger) == []
    assert len(messages_to(mail_dir, victim)) == victims_mail
    assert appeals_of(backend, reference) == []

    # Over the API with the assistant's token: no proof, or the stranger's own proof (a
    # status lookup code of their own request), files nothing either.
    own = file_verified_request(stack, "access", stranger, "Virginia")
    assistant = {"Authorization": f"Bearer {stack.env['PRIVACY_API_TOKEN']}"}
    before = len(messages_to(mail_dir, stranger))
    lookup = requests.post(f"{backend.url}/api/v1/requests/lookup", headers=assistant,
                           timeout=10, json={"reference": own, "email": stranger,
                                             "conversation_id": "stranger"})
    lookup.raise_for_status()
    proof = lookup.json()["verification_id"]
    confirmed = requests.post(f"{backend.url}/api/v1/verifications/{proof}/confirm",
                              headers=assistant, timeout=10,
                              json={"code": latest_code(mail_dir, stranger, after=before)})
    assert confirmed.status_code == 200, confirmed.text
    for extra in ({}, {"verification_id": proof, "conversation_id": "stranger"}):
        response = requests.post(f"{backend.url}/api/v1/requests/{reference}/appeals",
                                 headers=assistant, timeout=10,
                                 json={"reason": "let me in", "channel": "rest", **extra})
        assert response.status_code == 403, response.text
    assert appeals_of(backend, reference) == []


def test_only_a_denied_request_can_be_appealed(
    chat: Chat, backend: Backend, mail_dir: Path, stack: Stack
) -> None:
    email = "appeal.open.e2e@example.com"
    reference = file_verified_request(stack, "deletion", email, "California")
    answer = prove(chat, mail_dir, reference, email, f"appeal {reference}")
    assert "Only a request we denied can be appealed" in answer
    assert "verified and queued" in answer
    assert appeals_of(backend, reference) == []


@pytest.mark.parametrize("hatch", ["question", "explain", "person", "cancel", "start over"])
def test_the_reason_question_has_the_ways_out_of_every_question(
    backend: Backend, mail_dir: Path, stack: Stack, hatch: str
) -> None:
    """What tests/e2e/test_escape_hatches.py tries at every other question (the reason is
    asked only after a denied request's code)."""
    chat = Chat.of(stack, f"e2e-appeal-hatch-{hatch.replace(' ', '-')}")
    email = f"appeal.hatch.{hatch.replace(' ', '')}.e2e@example.com"
    reference = file_verified_request(stack, "deletion", email, "Virginia")
    deny(backend, reference, mail_dir, email)
    assert "why you disagree" in prove(chat, mail_dir, reference, email, f"appeal {reference}")
    words = {"question": "do you sell my personal information?",
             "explain": "what does that mean?", "person": "I want to talk to a person",
             "cancel": "cancel", "start over": "start over"}[hatch]
    messages = chat.say(words)
    actions, loop, slots = last_turn(stack, chat.sender)
    if hatch in ("question", "explain"):
        assert (loop, slots["requested_slot"]) == ("appeal_reason_form", "appeal_reason")
        expected = ("action_answer_privacy_question" if hatch == "question"
                    else "action_explain_question")
        assert expected in actions and len([m for m in messages if m.get("text")]) >= 2
    elif hatch == "start over":
        assert "action_restart_request" in actions
        assert (loop, slots["requested_slot"]) == ("appeal_form", "lookup_reference")
    else:
        assert ("action_handoff" if hatch == "person" else "action_cancel_request") in actions
        assert loop is None
    assert slots["appeal_reason"] is None and appeals_of(backend, reference) == []
