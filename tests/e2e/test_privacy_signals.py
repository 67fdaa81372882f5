"""Global Privacy Control in a real browser (Debian's Chromium through Playwright) against the
real stack: a browser that sends `Sec-GPC: 1` and says `navigator.globalPrivacyControl ===
true` sees "Opt-out preference signal honored" on the statement page and in the chat widget,
and the backend holds an opt-out of sale and sharing with source `gpc` for the widget's
conversation; the header alone does the same through the socket.io handshake; a browser
without the signal sees neither and nothing is recorded. Three page loads, no model turns."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from privacy_assistant.stack import Stack

playwright_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, expect  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HONOURED = "Opt-out preference signal honored"
GPC_PROPERTY = ("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', "
                "{get: () => true, configurable: true});")


def _opt_outs(stack: Stack) -> dict[str, dict[str, Any]]:
    answer = requests.get(f"{stack.env['BACKEND_URL']}/api/v1/opt-outs", headers={
        "Authorization": f"Bearer {stack.env['PRIVACY_STAFF_TOKEN']}"}, timeout=10)
    answer.raise_for_status()
    return {o["conversation_id"]: o for o in answer.json()}


def _chat(page: Page, stack: Stack) -> str:
    """Open the page and the widget; the conversation the server issued."""
    page.goto(f"{stack.env['BACKEND_URL']}/")
    page.get_by_role("button", name="Chat with our privacy assistant").click()
    expect(page.locator(".pa-status")).to_have_text("Connected", timeout=30_000)
    state = json.loads(page.evaluate(
        "() => window.sessionStorage.getItem('privacy-assistant-chat')"))
    return str(state["sessionId"])


def _recorded(stack: Stack, conversation: str, seconds: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while conversation not in (found := _opt_outs(stack)):
        assert time.monotonic() < deadline, "no opt-out was recorded for the conversation"
        time.sleep(0.2)
    return found[conversation]


@pytest.mark.parametrize("script", [True, False], ids=["header and property", "header only"])
def test_the_signal_is_honoured_and_recorded(browser: Browser, stack: Stack,
                                             script: bool) -> None:
    context = browser.new_context(extra_http_headers={"Sec-GPC": "1"})
    if script:
        context.add_init_script(GPC_PROPERTY)
    try:
        page = context.new_page()
        conversation = _chat(page, stack)
        expect(page.locator("#gpc-status")).to_contain_text(HONOURED)
        expect(page.locator("#pa-gpc")).to_be_visible()
        expect(page.locator("#pa-gpc")).to_contain_text(HONOURED)
        opt_out = _recorded(stack, conversation)
        assert (opt_out["kind"], opt_out["source"], opt_out["email"]) == (
            "sale_sharing", "gpc", None)
    finally:
        context.close()


def test_without_the_signal_nothing_is_shown_or_recorded(browser: Browser,
                                                         stack: Stack) -> None:
    # Other header values are tried in tests/backend/test_privacy_signals.py: Chromium
    # refuses to send `Sec-GPC: 0` as an extra header (net::ERR_INVALID_ARGUMENT).
    quiet = browser.new_context()
    signalled = browser.new_context()
    signalled.add_init_script(GPC_PROPERTY)  # the property alone: the widget reports it
    try:
        page = quiet.new_page()
        conversation = _chat(page, stack)
        expect(page.locator("#gpc-status")).to_have_count(0)
        expect(page.locator("#pa-gpc")).to_be_hidden()
        # A signalled conversation opened after it is recorded, so the channel has had its
        # chance to record the quiet one too: it did not.
        other = _chat(signalled.new_page(), stack)
        _recorded(stack, other)
        assert conversation not in _opt_outs(stack)
    finally:
        quiet.close()
        signalled.close()
