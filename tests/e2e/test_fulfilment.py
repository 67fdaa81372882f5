"""Fulfilment end to end over REST: visitors chat with the real assistant, verify and file
requests; staff complete them through the backend's API with the staff token; the test then
reads what the requester got (the emailed link) and what is left (Rasa's HTTP API, the
tracker store's SQLite file, the mail files, the backend's API)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from privacy_assistant.stack import Stack
from tests.e2e.conftest import Backend, Chat, rasa_tracker, stored_events
from tests.e2e.mail import body, latest_code, messages_to
from tests.e2e.test_rights_requests import fill_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _stored(stack: Stack, sender_id: str) -> list[dict[str, object]]:
    return [data for _, data in stored_events(stack, sender_id)]


def _said(stack: Stack, sender_id: str) -> list[str]:
    """What the visitor said, as Rasa's HTTP API returns the conversation."""
    return [str(e["text"]) for e in rasa_tracker(stack, sender_id)["events"]
            if e["event"] == "user"]


def _file(chat: Chat, mail_dir: Path, words: str, email: str) -> None:
    """Ask for a request in the visitor's words and verify it with the emailed code (or
    with none, when the conversation verified the address a moment ago)."""
    chat.reply(words)
    fill_in(chat, email)
    filed = chat.reply("yes")
    if "is filed" not in filed:
        filed = chat.reply(latest_code(mail_dir, email))
    assert "is filed" in filed, filed


def _staff(stack: Stack, backend: Backend, email: str, *steps: str) -> dict[str, object]:
    [request] = backend.requests_for(email)
    for step in steps:
        moved = requests.patch(f"{backend.url}/api/v1/requests/{request['reference']}",
                               json={"status": step}, headers=backend.headers, timeout=30)
        assert moved.status_code == 200, moved.text
        request = moved.json()
    return request


def test_an_access_request_is_answered_with_the_visitors_own_conversation(
        stack: Stack, backend: Backend, mail_dir: Path) -> None:
    ada = Chat.of(stack, "e2e-export-ada")
    bob = Chat.of(stack, "e2e-export-bob")
    ada_email, bob_email = "export.ada@example.com", "export.bob@example.com"
    ada_question, bob_question = "what data do you collect?", "do you sell my data??"
    assert "Information We Collect" in ada.reply(ada_question)
    bob.reply(bob_question)
    _file(ada, mail_dir, "send me a copy of my data", ada_email)
    _file(bob, mail_dir, "send me a copy of my data", bob_email)

    done = _staff(stack, backend, ada_email, "in_progress", "completed")
    assert done["status"] == "completed"
    [notice] = [m for m in messages_to(mail_dir, ada_email) if "complete" in str(m["Subject"])]
    link = re.search(r"(https?://\S+/exports/\S+)", body(notice))
    assert link, body(notice)

    page = requests.get(link.group(1), timeout=10)
    assert page.status_code == 200 and ada_question in page.text
    assert bob_question not in page.text and bob_email not in page.text
    package = requests.get(link.group(1), params={"format": "json"}, timeout=10).json()
    [conversation] = package["conversations"]
    assert conversation["conversation"] == ada.sender
    said = [m["text"] for m in conversation["messages"] if m["from"] == "user"]
    assert said[0] == ada_question and "send me a copy of my data" in said
    assert "[code]" in said  # the code she typed, masked
    assert any(m["from"] == "bot" and "Information We Collect" in m["text"]
               for m in conversation["messages"])
    assert bob_question not in json.dumps(package)

    token = link.group(1).rsplit("/", 1)[1]
    forged = link.group(1).replace(token, token[:-6] + "AAAAAA")
    assert requests.get(forged, timeout=10).status_code == 403


def test_a_completed_deletion_leaves_no_conversation_in_rasa(
        stack: Stack, backend: Backend, mail_dir: Path) -> None:
    ada = Chat.of(stack, "e2e-erase-ada")
    bob = Chat.of(stack, "e2e-erase-bob")
    ada_email, bob_email = "erase.ada@example.com", "erase.bob@example.com"
    ada.reply("can my kid use this?")
    ada.reply("what am I subscribed to?")
    ada.reply(ada_email)
    assert "receives from us" in ada.reply(latest_code(mail_dir, ada_email))
    _file(ada, mail_dir, "erase everything you have on me", ada_email)
    bob.reply("what data do you collect?")
    _file(bob, mail_dir, "erase everything you have on me", bob_email)
    bob_said = _said(stack, bob.sender)
    assert len(_stored(stack, ada.sender)) > 10 and "can my kid use this?" in _said(
        stack, ada.sender)

    done = _staff(stack, backend, ada_email, "in_progress", "completed")
    assert done["status"] == "completed"

    # Rasa's HTTP API has nothing the visitor said or was told, and the store holds nothing.
    events = rasa_tracker(stack, ada.sender)["events"]
    assert [e for e in events if e["event"] in ("user", "bot")] == []
    assert _stored(stack, ada.sender) == []
    # The only mail left for the address is the answer to the deletion itself.
    [left] = messages_to(mail_dir, ada_email)
    assert "is complete" in str(left["Subject"])
    assert backend.requests_for(ada_email) == []
    assert backend.preferences(ada_email)["global_opt_out"] is True  # the suppression
    # The other visitor is untouched.
    assert _said(stack, bob.sender) == bob_said
    [bobs] = backend.requests_for(bob_email)
    assert bobs["status"] == "verified" and bobs["conversation_id"] == bob.sender
