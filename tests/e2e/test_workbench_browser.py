"""A real browser (Debian's Chromium through Playwright) on the console's fulfilment
workbench, against the real backend process on a free loopback port: a privacy admin logs
in, opens the Requests tab, filters the list, opens a request, starts it and completes it,
and the requester gets the link to their export. The workbench needs no Rasa, so only the
backend runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from privacy_assistant.stack import Stack
from tests.e2e.conftest import backend_alone, create_agent, file_verified_request

from .mail import body, messages_to

playwright_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, ConsoleMessage, expect  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN_EMAIL = "priya.admin@example.com"
ADMIN_PASSWORD = "a long test password for Priya"
ADA, BOB = "ada@example.com", "bob@example.com"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with backend_alone(tmp_path_factory.mktemp("var")) as running:
        yield running


def test_a_privacy_admin_filters_opens_starts_and_completes_a_request(
        browser: Browser, backend: Stack) -> None:
    create_agent(backend, ADMIN_EMAIL, "Priya", ADMIN_PASSWORD, role="privacy_admin")
    ada = file_verified_request(backend, "access", ADA, "California")
    bob = file_verified_request(backend, "deletion", BOB, "Germany")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    refused: list[str] = []  # anything the Content-Security-Policy blocked

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", watch)
    page.goto(f"{backend.env['BACKEND_URL']}/console")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Signed in as Priya")).to_be_visible()

    # The Requests tab (privacy admins only) lists both, soonest due first.
    page.get_by_role("tab", name="Requests").click()
    table = page.get_by_role("table", name=re.compile("Privacy requests"))
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#requests-range")).to_have_text("1–2 of 2")
    # GDPR: one month; US: 45 days. Bob's is due first.
    expect(rows.first).to_contain_text(bob)
    expect(rows.nth(1)).to_contain_text(ada)
    expect(rows.nth(1)).to_contain_text("45 days")

    # Filtering by type leaves Ada's access request.
    page.get_by_label("Type").select_option("access")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(ada)
    expect(page.locator("#requests-range")).to_have_text("1–1 of 1")

    # Its page: the requester, the trail, one button per action the graph allows.
    rows.first.click()
    expect(page.get_by_role("heading", name=f"Request {ada}")).to_be_focused()
    expect(page.locator("#requester-facts")).to_contain_text(ADA)
    actions = page.locator("#request-actions button")
    expect(actions).to_have_text(["Start", "Deny", "Mark as duplicate of…",
                                  "Extend the deadline"])

    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Started")
    expect(page.locator("#request-facts")).to_contain_text("In progress")
    expect(actions).to_have_text(["Complete", "Deny", "Mark as duplicate of…",
                                  "Extend the deadline"])

    # Completing asks first, saying what it does (an export, for an access request).
    page.get_by_role("button", name="Complete", exact=True).click()
    expect(page.locator("#action-explain")).to_contain_text("export")
    page.get_by_role("button", name="Complete the request").click()
    expect(page.get_by_role("status")).to_contain_text("Completed")
    expect(page.locator("#request-facts")).to_contain_text("Completed")
    expect(page.locator("#no-actions")).to_be_visible()
    audit = page.locator("#audit-body")
    expect(audit).to_contain_text(f"agent:{ADMIN_EMAIL}")
    expect(audit).to_contain_text("Export made")
    expect(page.locator("#exports-body tr")).to_have_count(1)

    # The requester has the answer, with the link to their export.
    mail_dir = Path(backend.env["MAIL_DIR"])
    [answer] = [m for m in messages_to(mail_dir, ADA) if "is complete" in str(m["Subject"])]
    assert "/exports/" in body(answer)

    # Back on the list, the filter still holds and the status has moved on.
    page.get_by_role("button", name="Back to the list").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Completed")
    expect(rows.first).to_contain_text("answered")
    assert refused == []
    context.close()
