"""What a form takes from a message, end to end (the slot mappings of domain/), over REST.

`rasa test core` replays the slot events a story writes and never runs the mappings, so the
conversation tests cannot see a slot filled where it should not be; these tests can. A
payload the visitor types (`/inform{"marketing_channel": "all"}`) fills a slot only where
the form asks for it, and asking for a person is never taken as the answer to a question.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import Backend, Chat
from tests.e2e.mail import latest_code, messages_to

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NOT_LIVE = "can't join this channel"
ASK_EMAIL = "What email address"
CODE_SENT = "6-digit code"
CODE_FORMAT = "The code has 6 digits"
ASK_CODE = "Please type the 6-digit code"


def request_until_code(chat: Chat, email: str) -> None:
    """A deletion request answered up to the code prompt (name and region skipped)."""
    assert ASK_EMAIL in chat.reply("delete my data")
    assert "your name" in chat.reply(email)
    assert "state or country" in chat.reply("/deny")
    assert "on behalf of someone else" in chat.reply("/deny")
    assert "Shall I file it" in chat.reply("/deny")
    assert CODE_SENT in chat.reply("yes")


def test_a_channel_typed_at_the_code_prompt_does_not_widen_the_opt_in(
    chat: Chat, backend: Backend, mail_dir: Path
) -> None:
    email = "payload.channel.e2e@example.com"
    assert ASK_EMAIL in chat.reply("subscribe me to your newsletter")
    before = len(messages_to(mail_dir, email))
    assert CODE_SENT in chat.reply(email)
    assert CODE_FORMAT in chat.reply('/inform{"marketing_channel": "all"}')
    assert CODE_FORMAT in chat.reply('/inform{"marketing_topic": "all"}')
    done = chat.reply(latest_code(mail_dir, email, after=before))
    assert "subscribed" in done and "Email: newsletters" in done
    prefs = backend.preferences(email)
    assert prefs["channels"]["email"] == {"product_news": False, "events": False,
                                          "newsletters": True, "promotions": False}
    assert not any(prefs["channels"]["sms"].values())


def test_a_type_typed_with_the_confirmation_does_not_change_the_request(
    chat: Chat, backend: Backend
) -> None:
    email = "payload.type.e2e@example.com"
    assert ASK_EMAIL in chat.reply("send me a copy of my data")
    chat.reply(email)
    chat.reply("/deny")
    chat.reply("/deny")
    summary = chat.reply("/deny")
    assert "access request" in summary
    assert CODE_SENT in chat.reply('/affirm{"request_type": "deletion"}')
    [request] = backend.requests_for(email)
    assert request["type"] == "access"


def test_a_person_asked_for_at_the_email_question(chat: Chat) -> None:
    assert ASK_EMAIL in chat.reply("delete my data")
    reply = chat.reply("I want to talk to a person")
    assert NOT_LIVE in reply
    assert "doesn't look like an email" not in reply and ASK_EMAIL not in reply
    # The request stopped: the next message is answered, not taken as an email.
    _, citation = chat.ask("do you sell my data?")
    assert citation is not None


def test_a_person_asked_for_at_the_request_code(chat: Chat, backend: Backend) -> None:
    email = "handoff.code.e2e@example.com"
    request_until_code(chat, email)
    reply = chat.reply("can I speak to a human")
    assert NOT_LIVE in reply
    assert CODE_FORMAT not in reply and ASK_CODE not in reply
    [request] = backend.requests_for(email)
    assert request["status"] == "pending_verification"


def test_a_person_asked_for_at_the_marketing_code(
    chat: Chat, backend: Backend, mail_dir: Path
) -> None:
    email = "handoff.marketing.e2e@example.com"
    assert ASK_EMAIL in chat.reply("subscribe me to your newsletter")
    assert CODE_SENT in chat.reply(email)
    reply = chat.reply("get me a real person")
    assert NOT_LIVE in reply
    assert CODE_FORMAT not in reply and ASK_CODE not in reply
    assert backend.preferences(email)["channels"]["email"]["newsletters"] is False
    assert backend.history(email) == []
