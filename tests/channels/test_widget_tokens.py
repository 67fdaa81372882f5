"""The widget's session tokens (`channels/widget_sessions.py`) from the side of someone who
copied one: it names only its conversation, only this server's secret makes one, and it is
worth a day after it was issued, not the month it used to be."""

from __future__ import annotations

import time

from channels.widget_sessions import issue_token, session_of

SECRET = "s" * 48


def test_a_token_opens_its_conversation_for_a_day_and_no_longer() -> None:
    now = time.time()
    assert session_of(SECRET, issue_token(SECRET, "conv-1", now=now)) == "conv-1"
    assert session_of(SECRET, issue_token(SECRET, "conv-1", now=now - 23 * 3600)) == "conv-1"
    assert session_of(SECRET, issue_token(SECRET, "conv-1", now=now - 25 * 3600)) is None


def test_a_token_signed_with_another_secret_opens_nothing() -> None:
    assert session_of(SECRET, issue_token("x" * 48, "conv-1")) is None
    assert session_of(SECRET, "not-a-token") is None
