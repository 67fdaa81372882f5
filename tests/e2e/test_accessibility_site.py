"""The public pages, usable by everyone (issue #25), in a real browser (Debian's Chromium
through Playwright) against the real stack: axe-core finds no WCAG 2.1 A/AA violation on the
statement page (chat closed; open with a cited answer, with suggested answers, with an
error, offline), the export page and the unsubscribe page (their valid and refused links, the
form and its done state); a visitor asks a question and files a rights request up to the code
prompt with the keyboard alone, focus always visible and never lost; nothing is cut off at
320 CSS px or at 200% zoom; "The assistant is typing…" shows until the answer; a dropped
connection is said, pauses sending and is said to be back. Screenshots go to
docs/screenshots/a11y-*.png.

The contexts bypass the pages' Content-Security-Policy: it forbids the script axe-core is
injected as (the pages' own behaviour is unchanged)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests

from privacy_assistant.stack import Stack
from tests.conftest import PROJECT_ROOT
from tests.e2e.axe import assert_accessible
from tests.e2e.mail import body, latest_code, messages_to

playwright_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, BrowserContext, Page, expect  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
REPLY_TIMEOUT = 30_000  # ms: the first answer loads the knowledge base
LAUNCHER = "Chat with our privacy assistant"
TYPING = "The assistant is typing…"
# Counts each time the typing indicator enters the page (an answer may come too fast for a
# poll to see it), with where focus was then.
WATCH_TYPING = """window.__typing = [];
new MutationObserver(changes => changes.forEach(c => c.addedNodes.forEach(n => {
  if (n.classList && n.classList.contains('pa-typing')) {
    window.__typing.push([n.textContent, document.activeElement && document.activeElement.id]);
  }
}))).observe(document, {childList: true, subtree: true});"""

# The focused element's outline and the contrast of its colour with what is painted next to
# it: just outside the ring (or, for an inset ring, the element itself).
FOCUS_RING = """() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const opaque = c => !/^rgba\\(.*, 0\\)$/.test(c) && c !== 'transparent';
  const lum = c => { const [r, g, b] = rgb(c).map(x => { x /= 255;
    return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const r = el.getBoundingClientRect();
  const offset = parseFloat(s.outlineOffset), width = parseFloat(s.outlineWidth);
  const reach = offset + width + 1;
  const x = offset < 0 ? r.left + 1 : (r.left - reach >= 0 ? r.left - reach : r.right + reach);
  const behind = offset < 0 ? [el] : document.elementsFromPoint(x, r.top + r.height / 2)
    .filter(e => e !== el && !el.contains(e));
  let back = 'rgb(255, 255, 255)';
  for (let e of behind) {
    for (; e; e = e.parentElement) {
      if (opaque(getComputedStyle(e).backgroundColor)) break;
    }
    if (e) { back = getComputedStyle(e).backgroundColor; break; }
  }
  const [a, b] = [lum(s.outlineColor), lum(back)];
  return {visible: el.matches(':focus-visible') && s.outlineStyle !== 'none',
          width: width, contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
          ring: s.outlineColor, back: back, what: el.outerHTML.slice(0, 80)};
}"""


def shot(page: Page, name: str, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    # The pages' Content-Security-Policy stays in force: tests/e2e/axe.py evaluates axe-core
    # through the DevTools protocol, which the policy does not govern.
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    context.add_init_script(WATCH_TYPING)
    return context


def assert_focus_visible(page: Page) -> None:
    ring = page.evaluate(FOCUS_RING)
    assert ring["visible"] and ring["width"] >= 2, ring
    assert ring["contrast"] >= 3, ring  # WCAG 1.4.11 non-text contrast


def assert_fits(page: Page, *selectors: str) -> None:
    """No horizontal scrolling, and each element wholly inside the viewport."""
    width, height, scroll = page.evaluate(
        "[innerWidth, innerHeight, document.documentElement.scrollWidth]")
    assert scroll <= width, f"the page scrolls sideways: {scroll} > {width}"
    for selector in selectors:
        box = page.locator(selector).bounding_box()
        assert box is not None, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box, width)
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, (selector, box, height)


class KeyboardVisitor:
    """A visitor with a keyboard and no mouse."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.log = page.get_by_role("log", name="Conversation")
        self.box = page.get_by_label("Your message")

    def open_chat(self) -> None:
        # The launcher is the page's last control: Shift+Tab from the top of the page (past
        # the browser's own controls when focus starts on the first link).
        launcher = self.page.get_by_role("button", name=LAUNCHER)
        for _ in range(3):
            self.page.keyboard.press("Shift+Tab")
            if launcher.evaluate("(b) => b === document.activeElement"):
                break
        expect(launcher).to_be_focused()
        assert_focus_visible(self.page)
        self.page.keyboard.press("Enter")
        expect(self.box).to_be_focused()
        expect(self.page.get_by_role("status")).to_have_text("Connected",
                                                             timeout=REPLY_TIMEOUT)

    def say(self, text: str, answer: str) -> None:
        """Type into the focused box, press Enter; the typing indicator shows until the
        answer, and the box keeps focus throughout."""
        expect(self.box).to_be_focused()
        before = self.before()
        self.page.keyboard.type(text)
        self.page.keyboard.press("Enter")
        self.answered(before, answer)

    def choose(self, title: str, answer: str) -> None:
        """Shift+Tab back from the box to the suggested answer `title`, press Enter."""
        expect(self.box).to_be_focused()
        before = self.before()
        for _ in range(10):
            self.page.keyboard.press("Shift+Tab")
            if self.page.evaluate("document.activeElement.textContent") == title:
                break
        else:
            pytest.fail(f"no suggested answer {title!r} within 10 Shift+Tabs")
        assert_focus_visible(self.page)
        self.page.keyboard.press("Enter")
        self.answered(before, answer)

    def before(self) -> tuple[int, int]:
        """How many answers the log shows and how often the typing indicator was shown."""
        return (self.log.locator(".pa-bot").count(),
                self.page.evaluate("window.__typing.length"))

    def answered(self, before: tuple[int, int], answer: str) -> None:
        """The message went, "The assistant is typing…" was shown (focus staying in the
        box) until the answer came, and the box still has focus."""
        answers, typed = before
        expect(self.box).to_be_focused()
        expect(self.log.locator(".pa-bot").nth(answers)).to_contain_text(
            re.compile(answer, re.I), timeout=REPLY_TIMEOUT)
        shown = self.page.evaluate("(n) => window.__typing.slice(n)", typed)
        assert shown == [[TYPING, "pa-input"]], shown
        expect(self.log.locator(".pa-typing")).to_have_count(0)
        assert self.page.evaluate("document.activeElement.id") == "pa-input"


def test_a_question_and_a_rights_request_by_keyboard_alone(browser: Browser,
                                                           stack: Stack) -> None:
    context = new_context(browser, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{stack.env['BACKEND_URL']}/")
        assert_accessible(page, "statement page, chat closed")
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to the privacy statement")).to_be_focused()
        assert_focus_visible(page)

        visitor = KeyboardVisitor(page)
        visitor.open_chat()
        assert_focus_visible(page)
        visitor.say("what data do you collect?", "Information We Collect")
        expect(visitor.log.get_by_role("link", name=re.compile("Go to the section"))
               ).to_have_count(1)
        assert_accessible(page, "chat open with a cited answer")

        visitor.say("erase everything you have on me", "What email address")
        visitor.say("jane at example dot com", "doesn't look like an email address")
        assert_accessible(page, "chat with an invalid answer said")
        visitor.say("keyboard.a11y@example.com", "your name")
        assert_accessible(page, "chat with suggested answers")
        visitor.choose("Skip", "state or country")
        visitor.choose("Skip", "on behalf of someone else")
        visitor.choose("No, it's for me", "Shall I file it")
        visitor.choose("Yes, file it", "I've emailed a 6-digit code")
        # Every suggestion was answered: none is left in the Tab order.
        expect(visitor.log.locator(".pa-choice:enabled")).to_have_count(0)
        shot(page, "a11y-widget-keyboard")
    finally:
        context.close()


def test_a_lost_connection_is_said_pauses_sending_and_is_said_to_be_back(
        browser: Browser, stack: Stack) -> None:
    context = new_context(browser, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{stack.env['BACKEND_URL']}/")
        visitor = KeyboardVisitor(page)
        visitor.open_chat()
        status = page.get_by_role("status")
        send = page.get_by_role("button", name="Send")

        context.set_offline(True)  # Chromium drops the chat's WebSocket at once
        expect(status).to_contain_text("Connection lost — trying to reconnect…")
        expect(send).to_have_attribute("aria-disabled", "true")
        page.keyboard.type("are you a bot?")
        page.keyboard.press("Enter")
        expect(status).to_contain_text("Not sent")
        expect(visitor.box).to_have_value("are you a bot?")  # kept for later
        expect(visitor.box).to_be_focused()
        expect(visitor.log.locator(".pa-user")).to_have_count(0)
        assert page.evaluate("window.__typing.length") == 0
        assert_accessible(page, "chat offline, a message not sent")
        shot(page, "a11y-widget-offline")

        context.set_offline(False)
        expect(status).to_have_text("Reconnected", timeout=REPLY_TIMEOUT)
        expect(send).to_have_attribute("aria-disabled", "false")
        expect(visitor.box).to_be_focused()
        before = visitor.before()
        page.keyboard.press("Enter")  # what was typed offline goes now
        visitor.answered(before, "automated assistant, not a person")
        expect(visitor.box).to_have_value("")
    finally:
        context.close()


def test_nothing_is_cut_off_at_320_px_or_at_200_percent_zoom(browser: Browser,
                                                             stack: Stack) -> None:
    site = f"{stack.env['BACKEND_URL']}/"
    narrow = new_context(browser, viewport={"width": 320, "height": 568})
    # 200% zoom of a 1280x800 window: a 640x400 CSS px viewport at twice the pixels.
    zoomed = new_context(browser, viewport={"width": 640, "height": 400},
                         device_scale_factor=2)
    try:
        for context, name in ((narrow, "320px"), (zoomed, "zoom200")):
            page = context.new_page()
            page.goto(site)
            assert_fits(page, ".pa-launcher")
            if name == "320px":
                shot(page, "a11y-statement-320px")
            visitor = KeyboardVisitor(page)
            visitor.open_chat()
            visitor.say("unsubscribe me", "Which marketing")
            expect(visitor.log.locator(".pa-choice").first).to_be_visible()
            assert_fits(page, ".pa-panel", ".pa-header", "#pa-input", ".pa-send")
            assert_accessible(page, f"chat open with suggested answers ({name})")
            shot(page, f"a11y-widget-{name}")
    finally:
        narrow.close()
        zoomed.close()


def _export_link(stack: Stack, mail_dir: Path, email: str) -> str:
    """An access request made and verified over the backend's API, completed by staff:
    the link the completion email carries."""
    url = stack.env["BACKEND_URL"]
    assistant = {"Authorization": f"Bearer {stack.env['PRIVACY_API_TOKEN']}"}
    staff = {"Authorization": f"Bearer {stack.env['PRIVACY_STAFF_TOKEN']}"}
    made = requests.post(f"{url}/api/v1/requests", headers=assistant, timeout=10, json={
        "type": "access", "email": email, "region": "California", "channel": "web",
        "conversation_id": "e2e-a11y-export"})
    assert made.status_code == 201, made.text
    reference = made.json()["reference"]
    verified = requests.post(f"{url}/api/v1/requests/{reference}/verify", headers=assistant,
                             json={"code": latest_code(mail_dir, email)}, timeout=10)
    assert verified.status_code == 200, verified.text
    for step in ("in_progress", "completed"):
        moved = requests.patch(f"{url}/api/v1/requests/{reference}", headers=staff,
                               json={"status": step}, timeout=30)
        assert moved.status_code == 200, moved.text
    notice = [m for m in messages_to(mail_dir, email) if "complete" in str(m["Subject"])][-1]
    link = re.search(r"(https?://\S+/exports/\S+)", body(notice))
    assert link, body(notice)
    return link.group(1)


def _unsubscribe_link(stack: Stack, email: str) -> str:
    made = requests.post(
        f"{stack.env['BACKEND_URL']}/api/v1/preferences/unsubscribe-links", timeout=10,
        headers={"Authorization": f"Bearer {stack.env['PRIVACY_STAFF_TOKEN']}"},
        json={"email": email, "scope": "email:promotions"})
    assert made.status_code == 200, made.text
    return str(made.json()["url"])


def test_the_export_and_unsubscribe_pages_at_320_px(browser: Browser, stack: Stack,
                                                    mail_dir: Path) -> None:
    email = "a11y.export.long.address@example.com"  # a long address must wrap, not overflow
    export = _export_link(stack, mail_dir, email)
    unsubscribe = _unsubscribe_link(stack, email)
    context = new_context(browser, viewport={"width": 320, "height": 568})
    try:
        page = context.new_page()
        page.goto(export)
        expect(page.get_by_role("heading", level=1)).to_have_text("Your personal information")
        assert_fits(page)
        assert_accessible(page, "export page")
        shot(page, "a11y-export-320px", full_page=True)
        page.goto(export[:-6] + "AAAAAA")
        expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")
        assert_fits(page)
        assert_accessible(page, "export page, a changed link")

        page.goto(unsubscribe)
        assert_fits(page)
        assert_accessible(page, "unsubscribe page, its form")
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Unsubscribe")).to_be_focused()
        assert_focus_visible(page)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
        expect(page.get_by_role("status")).to_contain_text("We will no longer send")
        assert_fits(page)
        assert_accessible(page, "unsubscribe page, done")
        page.goto(unsubscribe[:-6] + "AAAAAA")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "This unsubscribe link is not valid")
        assert_accessible(page, "unsubscribe page, a changed link")
    finally:
        context.close()
