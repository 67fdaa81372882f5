"""A real browser (Debian's Chromium through Playwright) on the console's lifecycle views of
issue #24, against the real backend process: a privacy admin opens a denied request that was
appealed, grants the appeal in writing on the request's page (the request reopens), finds
it in the Appeals tab, opens the Metrics view for this year and downloads its CSV. axe-core
finds no WCAG 2.1 A/AA violation on the request page with its appeal and on the Metrics
view, at 1280 px and at 320 px (where the page does not scroll sideways: the wide table
scrolls in its own box). The workbench needs no Rasa, so only the backend runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from privacy_assistant.stack import Stack
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import backend_alone, create_agent, file_verified_request

from .mail import body, messages_to

playwright_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, ConsoleMessage, Page, expect  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN_EMAIL = "priya.lifecycle@example.com"
ADMIN_PASSWORD = "a long test password for Priya"
ADA = "ada.appeal@example.com"
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 720}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with backend_alone(tmp_path_factory.mktemp("var")) as running:
        yield running


def _staff(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.env['PRIVACY_STAFF_TOKEN']}"}


def _denied_and_appealed(stack: Stack) -> tuple[str, str]:
    """A Virginia access request, verified, denied by staff and appealed; its reference and
    the appeal's."""
    url = stack.env["BACKEND_URL"]
    reference = file_verified_request(stack, "access", ADA, "Virginia")
    denied = requests.patch(f"{url}/api/v1/requests/{reference}", headers=_staff(stack),
                            timeout=10, json={"status": "rejected",
                                              "note": "We hold nothing under this address."})
    assert denied.status_code == 200, denied.text
    appealed = requests.post(f"{url}/api/v1/requests/{reference}/appeals",
                             headers=_staff(stack), timeout=10,
                             json={"reason": "You do hold my orders from 2023."})
    assert appealed.status_code == 201, appealed.text
    return reference, str(appealed.json()["reference"])


def no_sideways_scroll(page: Page, where: str) -> None:
    """The page is no wider than the window: only a table's own box scrolls sideways."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    cut = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getClientRects().length && !e.closest('.table-wrap'))
        .filter(e => { const r = e.getBoundingClientRect();
                       return r.width && (r.left < -0.5 || r.right > innerWidth + 0.5); })
        .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')).slice(0, 5)""")
    assert widths[0] <= widths[1], f"{where}: the page scrolls sideways: {widths} {cut}"
    assert cut == [], f"{where}: cut off at the sides: {cut}"


@pytest.fixture(scope="module")
def admin(backend: Stack) -> str:
    return create_agent(backend, ADMIN_EMAIL, "Priya", ADMIN_PASSWORD, role="privacy_admin")


def _log_in(browser: Browser, backend: Stack, refused: list[str]) -> Page:
    """A new browser context, signed in as the privacy admin; what the page's
    Content-Security-Policy refuses lands in `refused`."""
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", watch)
    page.goto(f"{backend.env['BACKEND_URL']}/console")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Signed in as Priya")).to_be_visible()
    return page


def _open(page: Page, reference: str) -> None:
    page.evaluate("(ref) => { window.location.hash = 'request-' + ref; }", reference)
    expect(page.get_by_role("heading", name=f"Request {reference}")).to_be_focused()


def test_a_privacy_admin_grants_an_appeal_and_downloads_the_metrics(
        browser: Browser, backend: Stack, admin: str, tmp_path: Path) -> None:
    reference, appeal = _denied_and_appealed(backend)
    year = datetime.now(timezone.utc).year
    refused: list[str] = []  # anything the Content-Security-Policy blocked
    page = _log_in(browser, backend, refused)
    context = page.context

    # The list says the request was appealed.
    page.get_by_role("tab", name="Requests").click()
    row = page.locator("#requests-body tr", has_text=reference)
    expect(row).to_contain_text("Denied")
    expect(row).to_contain_text("Appeal Open")

    # The request's page: the appeal, with the person's words and the form to decide it.
    row.get_by_role("button", name=reference).click()
    expect(page.get_by_role("heading", name=f"Request {reference}")).to_be_focused()
    section = page.get_by_role("region", name="Appeal", exact=True)
    expect(section).to_contain_text(appeal)
    expect(section).to_contain_text("You do hold my orders from 2023.")
    expect(section).to_contain_text("Open")
    assert_accessible(page, "a request's page with its open appeal")
    page.set_viewport_size(NARROW)
    no_sideways_scroll(page, "a request's page with its appeal at 320 px")
    assert_accessible(page, "a request's page with its open appeal at 320 px")
    page.set_viewport_size(DESKTOP)

    # A decision needs its written reason: the browser says so and nothing is sent.
    page.get_by_label("Granted").check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_label("Written decision")).to_be_focused()
    expect(section).to_contain_text("Open")

    page.get_by_label("Written decision").fill("Our 2023 order archive holds them: reopened.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator("#appeal-done")).to_contain_text("Appeal granted")
    expect(page.get_by_role("heading", name="Appeal", exact=True)).to_be_focused()
    expect(section).to_contain_text("Granted")
    expect(section).to_contain_text("Our 2023 order archive holds them: reopened.")
    expect(page.locator("#appeal-decide-form")).to_be_hidden()
    expect(page.locator("#request-facts")).to_contain_text("In progress")
    expect(page.locator("#audit-body")).to_contain_text("Reopened on appeal")
    assert_accessible(page, "a request's page with its appeal granted")
    mail_dir = Path(backend.env["MAIL_DIR"])
    assert any("Your appeal is granted" in body(m) for m in messages_to(mail_dir, ADA))

    # The Appeals tab lists it, granted.
    page.get_by_role("tab", name="Appeals").click()
    view = page.locator("#appeals-view")
    view.get_by_label("Status").select_option("granted")
    view.get_by_role("button", name="Show").click()
    appeals = page.locator("#appeals-body tr")
    expect(appeals).to_have_count(1)
    expect(appeals.first).to_contain_text(appeal)
    expect(appeals.first).to_contain_text("Granted")

    # The Metrics view: this year's table, the request counted (open again), the appeal
    # decided the day it came (0 days).
    page.get_by_role("tab", name="Metrics").click()
    table = page.get_by_role("table", name=re.compile(f"Requests received in {year}"))
    access = table.locator("tbody tr", has_text="Access")
    expect(access).to_have_count(1)
    expect(access.locator("td")).to_have_text(
        ["1", "0", "0", "0", "0", "0", "0", "0", "0", "1", "0", "–", "–"])
    expect(table.locator("tbody tr", has_text="Appeals").locator("td")).to_have_text(
        ["1", "1", "–", "0", "–", "–", "–", "–", "–", "0", "–", "0.0", "0.0"])
    assert_accessible(page, "the Metrics view")
    page.set_viewport_size(NARROW)
    no_sideways_scroll(page, "the Metrics view at 320 px")
    assert_accessible(page, "the Metrics view at 320 px")
    page.set_viewport_size(DESKTOP)

    with page.expect_download() as download_info:
        page.get_by_role("link", name=f"Download CSV ({year})").click()
    download = download_info.value
    assert download.suggested_filename == f"privacy-metrics-{year}.csv"
    saved = tmp_path / "metrics.csv"
    download.save_as(saved)
    lines = saved.read_text("utf-8").splitlines()
    assert lines[0].startswith("year,request_type,received,complied_in_whole")
    assert f"{year},access,1,0,0,0,0,0,0,0,0,1,0,," in lines
    assert f"{year},appeals,1,1,,0,,,,,,0,,0.0,0.0" in lines
    assert refused == []
    context.close()


def _file_unverified(stack: Stack, request_type: str, address: str) -> str:
    """A request filed as the assistant does, its code not yet typed; its reference."""
    created = requests.post(
        f"{stack.env['BACKEND_URL']}/api/v1/requests", timeout=10,
        headers={"Authorization": f"Bearer {stack.env['PRIVACY_API_TOKEN']}"},
        json={"type": request_type, "email": address, "region": "California", "channel": "rest"})
    assert created.status_code == 201, created.text
    return str(created.json()["reference"])


def test_a_privacy_admin_denies_with_grounds_completes_in_part_and_marks_a_duplicate(
        browser: Browser, backend: Stack, admin: str) -> None:
    denied = file_verified_request(backend, "access", "cy.deny@example.com", "California")
    partial = file_verified_request(backend, "access", "di.part@example.com", "California")
    first = file_verified_request(backend, "know", "ed@example.com", "California")
    # The same person again, by another channel, still awaiting the code: staff see it.
    second = _file_unverified(backend, "know", "ed@example.com")
    refused: list[str] = []
    page = _log_in(browser, backend, refused)
    page.get_by_role("tab", name="Requests").click()

    # Deny, with the grounds the yearly metrics count.
    _open(page, denied)
    page.get_by_role("button", name="Deny", exact=True).click()
    expect(page.get_by_label("Reason for denying")).to_be_focused()
    grounds = page.get_by_label("Grounds for the denial")
    expect(grounds).to_have_value("other")
    grounds.select_option("exemption")
    assert_accessible(page, "the deny form with its grounds")
    page.get_by_label("Reason for denying").fill("Kept under a legal hold until 2027.")
    page.get_by_role("button", name="Deny the request").click()
    expect(page.locator("#action-done")).to_contain_text("Denied")
    expect(page.get_by_role("heading", name="Actions", exact=True)).to_be_focused()
    facts = page.locator("#request-facts")
    expect(facts).to_contain_text("Denied")
    expect(facts).to_contain_text("An exemption of the law applies")

    # Complete in part: the note becomes required, and says what was withheld.
    _open(page, partial)
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.locator("#action-done")).to_contain_text("Started")
    page.get_by_role("button", name="Complete", exact=True).click()
    note = page.locator("#action-note")
    expect(note).to_be_hidden()
    page.get_by_label("Complied in part").check()
    expect(page.get_by_label("What was withheld and why")).to_be_visible()
    page.get_by_role("button", name="Complete the request").click()
    expect(page.get_by_label("What was withheld and why")).to_be_focused()  # required
    expect(facts).to_contain_text("In progress")
    page.get_by_label("What was withheld and why").fill("Call recordings: other voices.")
    page.get_by_role("button", name="Complete the request").click()
    expect(page.locator("#action-done")).to_contain_text("Completed in part")
    expect(facts).to_contain_text("In part")

    # Mark a duplicate of the same person's open request of the same type; its page links to
    # the first.
    _open(page, second)
    page.get_by_role("button", name="Mark as duplicate of…").click()
    expect(page.get_by_label("Reference of the first request")).to_be_focused()
    assert_accessible(page, "the duplicate form")
    page.get_by_label("Reference of the first request").fill(first)
    page.get_by_role("button", name="Mark as duplicate", exact=True).click()
    expect(page.locator("#action-done")).to_contain_text("Marked as a duplicate")
    expect(facts).to_contain_text("Duplicate")
    facts.get_by_role("button", name=first).click()
    expect(page.get_by_role("heading", name=f"Request {first}")).to_be_focused()
    page.get_by_role("button", name="Back to the list").click()
    expect(page.locator("#requests-body tr", has_text=second)).to_contain_text(
        f"Duplicate of {first}")
    assert refused == []
    page.context.close()
