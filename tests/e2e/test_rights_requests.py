"""Rights requests and status lookups, end to end: a visitor over REST, the code read from
the mail the backend wrote, the result checked through the backend's request API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from privacy_assistant.stack import Stack
from tests.e2e.conftest import Backend, Chat
from tests.e2e.mail import latest_code, messages_to

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REFERENCE = re.compile(r"\bPR-[A-Z0-9]{4}-[A-Z0-9]{4}\b")


def fill_in(chat: Chat, email: str, *, name: str = "Jane Doe", region: str = "California"
            ) -> str:
    """Answer the form's questions after the request type is known; return the summary."""
    assert "your name" in chat.reply(email)
    assert "state or country" in chat.reply(name)
    assert "on behalf of someone else" in chat.reply(region)
    summary = chat.reply("no")
    assert "Shall I file it" in summary
    return summary


def test_deletion_request_is_verified_and_filed_once(
    chat: Chat, backend: Backend, mail_dir: Path
) -> None:
    email = "deletion.e2e@example.com"
    assert "What email address" in chat.reply("erase everything you have on me")
    summary = fill_in(chat, email)
    assert "deletion request" in summary and email in summary
    sent = chat.reply("yes")
    assert "I've emailed a 6-digit code" in sent
    [pending] = backend.requests_for(email)
    assert pending["status"] == "pending_verification"

    filed = chat.reply(latest_code(mail_dir, email))
    reference = REFERENCE.search(filed)
    assert reference, filed
    assert "deletion request is filed" in filed
    assert "does not guarantee complete access or comprehensive removal" in filed
    assert "will not discriminate against you" in filed

    [request] = backend.requests_for(email)
    assert request["reference"] == reference.group(0)
    assert request["type"] == "deletion"
    assert request["status"] == "verified"
    assert request["channel"] == "rest"
    assert request["conversation_id"] == chat.sender
    assert request["name"] == "Jane Doe" and request["region"] == "California"


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        ("send me a copy of my data", "access"),
        ("I want to know what you have collected about me", "know"),
        ("export my data to another provider", "portability"),
    ],
)
def test_each_request_type_is_understood_from_the_visitors_words(
    chat: Chat, backend: Backend, mail_dir: Path, words: str, kind: str
) -> None:
    email = f"{kind}.e2e@example.com"
    chat.reply(words)
    fill_in(chat, email)
    chat.reply("yes")
    chat.reply(latest_code(mail_dir, email))
    [request] = backend.requests_for(email)
    assert (request["type"], request["status"]) == (kind, "verified")


def test_correction_asks_what_to_correct(chat: Chat, backend: Backend, mail_dir: Path) -> None:
    email = "correction.e2e@example.com"
    assert "What should we correct" in chat.reply("my address is wrong")
    chat.reply("my postal address should be 10 Main Street, Springfield")
    fill_in(chat, email)
    chat.reply("yes")
    chat.reply(latest_code(mail_dir, email))
    [request] = backend.requests_for(email)
    assert request["type"] == "correction"
    assert request["details"] == "my postal address should be 10 Main Street, Springfield"


def test_invalid_email_and_wrong_code_are_asked_again(
    chat: Chat, backend: Backend, mail_dir: Path
) -> None:
    email = "retry.e2e@example.com"
    chat.reply("delete my data")
    assert "doesn't look like an email address" in chat.reply("jane at example dot com")
    assert backend.requests_for("jane at example dot com") == []
    assert "What's your name" in chat.reply(email)
    chat.reply("/deny")  # the Skip button
    chat.reply("/deny")  # Skip the region
    chat.reply("no")
    chat.reply("yes")
    code = latest_code(mail_dir, email)
    wrong = "000000" if code != "000000" else "111111"
    assert "You have 4 more tries" in chat.reply(wrong)
    assert "filed" in chat.reply(code)
    [request] = backend.requests_for(email)
    assert request["status"] == "verified" and request["name"] is None


def test_statement_question_mid_form_is_answered_and_the_form_goes_on(chat: Chat) -> None:
    chat.reply("delete my data")
    text, citation = chat.ask("what info do you collect?")
    assert citation is not None
    assert "What email address" in text  # the form asks its question again


def test_cancel_files_nothing(chat: Chat, backend: Backend) -> None:
    email = "cancel.e2e@example.com"
    chat.reply("delete my data")
    chat.reply(email)
    assert "Nothing was filed" in chat.reply("cancel")
    assert backend.requests_for(email) == []
    # The conversation is usable again.
    _, citation = chat.ask("do you sell my data?")
    assert citation is not None


def test_status_is_shown_only_after_verification(
    chat: Chat, backend: Backend, mail_dir: Path, stack: Stack
) -> None:
    email = "status.e2e@example.com"
    chat.reply("delete my data")
    fill_in(chat, email)
    chat.reply("yes")
    filed = chat.reply(latest_code(mail_dir, email))
    reference = REFERENCE.search(filed).group(0)  # type: ignore[union-attr]

    other = Chat.of(stack, f"{chat.sender}-lookup")
    assert "reference" in other.reply("what's the status of my request?")
    assert "What email address" in other.reply(reference)
    mails_before = len(messages_to(mail_dir, email))
    asked = other.reply(email)
    assert "If that reference and email belong to a request" in asked
    assert reference not in asked and "deletion" not in asked
    status = other.reply(latest_code(mail_dir, email, after=mails_before))
    assert reference in status and "verified" in status and "respond by" in status


def test_unknown_reference_reveals_nothing(chat: Chat, mail_dir: Path) -> None:
    email = "nobody.e2e@example.com"
    chat.reply("what's the status of my request?")
    chat.reply("PR-ZZZZ-9999")
    asked = chat.reply(email)
    # Exactly what a visitor with a real reference is told; no mail goes out.
    assert "If that reference and email belong to a request" in asked
    assert messages_to(mail_dir, email) == []
    refused = chat.reply("123456")
    assert "isn't right" in refused
    assert "PR-ZZZZ-9999" not in refused


def test_backend_down_loses_nothing_and_retry_files_once(
    chat: Chat, backend: Backend, mail_dir: Path, stack: Stack
) -> None:
    email = "outage.e2e@example.com"
    chat.reply("delete my data")
    fill_in(chat, email)
    with stack.stopped("backend"):
        down = chat.reply("yes")
        assert "couldn't file your request right now" in down
        assert "privacy@boomi.com" in down
    assert backend.requests_for(email) == []
    assert "I've emailed a 6-digit code" in chat.reply("try again")
    chat.reply(latest_code(mail_dir, email))
    [request] = backend.requests_for(email)
    assert request["status"] == "verified"
