"""Marketing choices end to end: a visitor over REST, the code read from the mail the
backend wrote, the result checked through the backend's preference API and its history."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_assistant.stack import Stack
from tests.e2e.conftest import Backend, Chat
from tests.e2e.mail import latest_code, messages_to

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def verify(chat: Chat, mail_dir: Path, email: str) -> str:
    """Give the email when asked, then type the code from the mail; return the reply."""
    before = len(messages_to(mail_dir, email))
    assert "6-digit code" in chat.reply(email)
    return chat.reply(latest_code(mail_dir, email, after=before))


def test_opt_out_of_one_topic_on_one_channel_needs_no_code(
    chat: Chat, backend: Backend, mail_dir: Path
) -> None:
    email = "promo.e2e@example.com"
    backend.subscribe_everything(email)
    assert "What email address" in chat.reply("no more promo texts")
    done = chat.reply(email)
    assert "Done" in done and "opted out of promotions and offers by text messages" in done
    assert "up to 10 business days" in done
    assert "in connection with transactions you request" in done
    # Nothing of the address's other choices is shown: anyone may opt an address out.
    assert "Email:" not in done and "product news" not in done.lower()
    assert messages_to(mail_dir, email) == []  # no code was sent
    prefs = backend.preferences(email)
    assert prefs["channels"]["sms"]["promotions"] is False
    assert prefs["channels"]["sms"]["newsletters"] is True
    assert prefs["channels"]["email"]["promotions"] is True
    last = backend.history(email)[-1]
    assert last["source"] == "chat" and last["conversation_id"] == chat.sender


def test_opt_out_of_a_whole_channel_with_buttons(
    chat: Chat, backend: Backend, mail_dir: Path
) -> None:
    email = "buttons.optout.e2e@example.com"
    backend.subscribe_everything(email)
    assert "Which marketing" in chat.reply("unsubscribe me")
    assert "All of it on that channel" in chat.reply('/inform{"marketing_channel": "email"}')
    assert "What email address" in chat.reply('/inform{"marketing_topic": "all"}')
    assert "opted out of all marketing by email" in chat.reply(email)
    assert not any(backend.preferences(email)["channels"]["email"].values())
    assert messages_to(mail_dir, email) == []


def test_global_opt_out_then_seeing_and_resubscribing_need_one_code(
    chat: Chat, backend: Backend, mail_dir: Path
) -> None:
    email = "global.e2e@example.com"
    backend.subscribe_everything(email)
    chat.reply("opt me out of everything")
    assert "opted out of all marketing, on every channel" in chat.reply(email)
    assert backend.preferences(email)["global_opt_out"] is True
    assert messages_to(mail_dir, email) == []

    # Seeing the choices needs the code (to the address given a moment ago); opting back in
    # then needs no second one.
    assert "6-digit code" in chat.reply("what am I subscribed to?")
    view = chat.reply(latest_code(mail_dir, email))
    assert "opted out of all marketing" in view
    codes_sent = len(messages_to(mail_dir, email))
    again = chat.reply("subscribe me to the newsletter again")
    assert "subscribed" in again and "Email: product news, events, newsletters" in again
    assert len(messages_to(mail_dir, email)) == codes_sent == 1
    prefs = backend.preferences(email)
    assert prefs["global_opt_out"] is False and prefs["channels"]["email"]["newsletters"]
    assert [h["source"] for h in backend.history(email)] == ["api", "chat", "chat"]


def test_an_opt_in_with_a_wrong_code_changes_nothing_and_cancel_changes_nothing(
    chat: Chat, backend: Backend, mail_dir: Path
) -> None:
    email = "careful.e2e@example.com"
    assert "What email address" in chat.reply("subscribe me to your newsletter")
    assert "6-digit code" in chat.reply(email)
    code = latest_code(mail_dir, email)
    assert "isn't right" in chat.reply("000000" if code != "000000" else "111111")
    assert "Nothing was filed or changed" in chat.reply("cancel")
    assert backend.history(email) == []
    assert backend.preferences(email)["channels"]["email"]["newsletters"] is False


def test_preference_system_down_then_retry_applies_once(
    chat: Chat, backend: Backend, mail_dir: Path, stack: Stack
) -> None:
    email = "outage.pref.e2e@example.com"
    backend.subscribe_everything(email)
    with stack.stopped("backend"):
        down = chat.reply("stop emailing me")
        down += chat.reply('/inform{"marketing_topic": "all"}')
        down += chat.reply(email)
        assert "nothing was changed" in down
    assert backend.preferences(email)["channels"]["email"]["events"] is True
    assert "opted out of all marketing by email" in chat.reply("try again")
    assert not any(backend.preferences(email)["channels"]["email"].values())
    assert [h["source"] for h in backend.history(email)] == ["api", "chat"]
