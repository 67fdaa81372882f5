"""Privacy opt-outs in the chat, end to end over REST: "do not sell or share" and "limit the
use of my sensitive information" are recorded at once with no code (CCPA regs §7026, §7027),
with a reference and a due date; one made for "this chat only" is linked to the address the
conversation verifies later. Checked through the backend's staff list and the mail folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Backend, Chat
from tests.e2e.mail import latest_code, messages_to

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
REFERENCE = re.compile(r"reference (OO-[A-Z0-9]+)")


def opt_outs_of(backend: Backend, conversation_id: str) -> list[dict[str, Any]]:
    """The conversation's opt-outs, as the privacy team's tools list them."""
    response = requests.get(f"{backend.url}/api/v1/opt-outs", headers=backend.headers,
                            params={"limit": 500}, timeout=10)
    response.raise_for_status()
    return [o for o in response.json() if o["conversation_id"] == conversation_id]


def test_do_not_sell_is_recorded_at_once_for_the_address_given(
    chat: Chat, backend: Backend, mail_dir: Path
) -> None:
    email = "nosale.e2e@example.com"
    assert "Which email address" in chat.reply("do not sell or share my personal information")
    done = chat.reply(email)
    reference = REFERENCE.search(done)
    assert reference and "15 business days" in done and email in done, done
    assert messages_to(mail_dir, email) == []  # no code: the law allows none
    [recorded] = opt_outs_of(backend, chat.sender)
    assert (recorded["kind"], recorded["source"], recorded["email"]) == (
        "sale_sharing", "chat", email)
    assert recorded["reference"] == reference.group(1)
    # Asked again: the same record, not a second clock.
    chat.reply("don't sell my data")
    again = chat.reply(email)
    assert "already recorded" in again and reference.group(1) in again
    assert len(opt_outs_of(backend, chat.sender)) == 1


def test_limit_sensitive_for_this_chat_is_linked_once_an_address_is_verified(
    chat: Chat, backend: Backend, mail_dir: Path
) -> None:
    assert "Which email address" in chat.reply(
        "limit the use of my sensitive personal information")
    done = chat.reply("/deny")  # the "This chat only" button
    assert "this chat" in done and REFERENCE.search(done), done
    [recorded] = opt_outs_of(backend, chat.sender)
    assert (recorded["kind"], recorded["email"], recorded["linked_at"]) == (
        "limit_sensitive", None, None)

    email = "linked.e2e@example.com"
    chat.reply("what am I subscribed to?")
    assert "6-digit code" in chat.reply(email)
    assert "receives from us" in chat.reply(latest_code(mail_dir, email))
    [linked] = opt_outs_of(backend, chat.sender)
    assert linked["email"] == email and linked["linked_at"] is not None
