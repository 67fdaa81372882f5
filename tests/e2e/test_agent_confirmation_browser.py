"""An authorized agent's request confirmed by the consumer in a real browser (Debian's
Chromium through Playwright) against the real stack: the agent files over the backend's API
and types the code emailed to them; the consumer opens the link emailed to them, reads what
was filed in their name, and confirms with the keyboard alone; the request is then verified
and both have its confirmation of receipt. axe-core finds no WCAG 2.1 A/AA violation on the
page (the question, the answer, a changed link), and nothing is cut off at 320 CSS px."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests

from privacy_assistant.stack import Stack
from tests.e2e.axe import assert_accessible
from tests.e2e.mail import body, latest_code, messages_to
from tests.e2e.test_accessibility_site import (
    assert_fits,
    assert_focus_visible,
    new_context,
    shot,
)

playwright_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, expect  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AGENT = "e2e.agent@lawfirm.example"
CONSUMER = "e2e.agent.consumer.long.address@example.com"
LINK = re.compile(r"(https?://\S+/agent-requests/\S+)")


def _wait_for(mail_dir: Path, address: str, pattern: re.Pattern[str], timeout: float = 10,
              *, subject: bool = False) -> str:
    """The first match of `pattern` in the mail to `address` (in its subject, with
    `subject`), waiting for it to arrive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in messages_to(mail_dir, address):
            found = pattern.search(str(message["Subject"]) if subject else body(message))
            if found:
                return found.group(1) if pattern.groups else found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no mail to {address} matches {pattern.pattern}")


def _filed_by_agent(stack: Stack, mail_dir: Path) -> tuple[str, str]:
    """An access request made by an agent over the API, whose agent typed the code: its
    reference and the link the consumer was emailed."""
    url = stack.env["BACKEND_URL"]
    assistant = {"Authorization": f"Bearer {stack.env['PRIVACY_API_TOKEN']}"}
    made = requests.post(f"{url}/api/v1/requests", headers=assistant, timeout=10, json={
        "type": "access", "email": AGENT, "consumer_email": CONSUMER, "authorized_agent": True,
        "region": "California", "channel": "web", "conversation_id": "e2e-agent"})
    assert made.status_code == 201, made.text
    reference = str(made.json()["reference"])
    assert messages_to(mail_dir, CONSUMER) == []  # the code goes to the agent only
    verified = requests.post(f"{url}/api/v1/requests/{reference}/verify", headers=assistant,
                             json={"code": latest_code(mail_dir, AGENT)}, timeout=10)
    assert verified.status_code == 200, verified.text
    assert verified.json()["awaiting_consumer"] is True
    return reference, _wait_for(mail_dir, CONSUMER, LINK)


def _status(stack: Stack, reference: str) -> str:
    response = requests.get(f"{stack.env['BACKEND_URL']}/api/v1/requests/{reference}",
                            headers={"Authorization":
                                     f"Bearer {stack.env['PRIVACY_STAFF_TOKEN']}"}, timeout=10)
    response.raise_for_status()
    return str(response.json()["status"])


def test_the_consumer_confirms_the_agent_in_the_browser(browser: Browser, stack: Stack,
                                                        mail_dir: Path) -> None:
    reference, link = _filed_by_agent(stack, mail_dir)
    context = new_context(browser, viewport={"width": 320, "height": 568})
    try:
        page = context.new_page()
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Did you ask someone to make this request for you?")
        expect(page.get_by_role("main")).to_contain_text(reference)
        expect(page.get_by_role("main")).to_contain_text(AGENT)
        assert _status(stack, reference) == "pending_verification"  # opening changes nothing
        assert_fits(page)
        assert_accessible(page, "agent confirmation page, the question")
        shot(page, "a11y-agent-confirmation-320px", full_page=True)

        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Yes, I authorised this agent")).to_be_focused()
        assert_focus_visible(page)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Thank you: we will work on the request")
        expect(page.get_by_role("status")).to_contain_text("We are working on the request")
        assert_fits(page)
        assert_accessible(page, "agent confirmation page, confirmed")
        assert _status(stack, reference) == "verified"
        # Both have the confirmation of receipt: the consumer's, and the agent's copy.
        _wait_for(mail_dir, CONSUMER, re.compile(
            rf"We received your privacy request {reference}"), subject=True)
        _wait_for(mail_dir, AGENT, re.compile(r"We confirmed to the consumer that we received"))

        page.goto(link)  # the link again, later: it says it was answered
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "This request is already answered")
        expect(page.get_by_role("button")).to_have_count(0)
        page.goto(link[:-6] + "AAAAAA")
        expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")
        assert_accessible(page, "agent confirmation page, a changed link")
    finally:
        context.close()
