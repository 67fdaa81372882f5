"""The agent console and the fulfilment workbench, usable by everyone (issue #25), in Debian's
Chromium against the real stack:

- axe-core finds no WCAG 2.1 A/AA violation on the login (empty, and with a failed login
  said), the queue with a waiting handoff, a transcript the agent took over, the workbench's
  list (filtered, with the privacy opt-outs below it) and a request's page (its actions and
  audit trail), at 1280 px and at 320 px;
- an agent logs in, takes a waiting chat over, replies and hands it back with the keyboard
  alone; the focus is always visible, survives the queue's and the transcript's polling
  (the reply box keeps it when the visitor writes), and moves on when the button pressed
  goes away;
- at 320 CSS px and at 200% zoom nothing is cut off: the page never scrolls sideways (a
  wide table scrolls inside its own focusable box), and the reply box and the buttons stay
  within reach.

The visitor is a socket.io client, as the widget is. Screenshots go to docs/screenshots/
(a11y-*.png)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
import socketio

from privacy_assistant.stack import Stack
from tests.conftest import PROJECT_ROOT, close_socket, wait_until
from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import Backend, create_agent, file_verified_request

playwright_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, BrowserContext, Page, expect  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
# A privacy admin: the one login sees the handoff queue and the workbench.
AGENT_EMAIL = "pat.a11y@example.com"
AGENT_PASSWORD = "a long test password for Pat"
REPLY_TIMEOUT = 30.0  # s: the assistant's first answer may load the knowledge base
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 720}


@pytest.fixture(scope="module")
def agent(stack: Stack) -> str:
    return create_agent(stack, AGENT_EMAIL, "Pat", AGENT_PASSWORD, role="privacy_admin")


def _context(browser: Browser, **options: Any) -> BrowserContext:
    # The console's Content-Security-Policy stays in force: axe-core is evaluated through the
    # DevTools protocol (tests/e2e/axe.py), which the policy does not govern.
    context = browser.new_context(**{"viewport": DESKTOP, **options})
    context.set_default_timeout(10_000)
    return context


class Visitor:
    """The website's chat, as the widget speaks to Rasa: a socket.io connection."""

    def __init__(self, rasa_url: str) -> None:
        self.client = socketio.Client(reconnection=False)
        self.heard: list[str] = []
        confirmed: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.client.on("bot_uttered", self._uttered)
        self.client.on("session_confirm", confirmed.append)
        self.client.connect(rasa_url, socketio_path="/socket.io", transports=["polling"],
                            wait_timeout=20)
        self.client.emit("session_request", {})
        wait_until(lambda: confirmed, REPLY_TIMEOUT)
        self.session_id: str = confirmed[0]["session_id"]

    def _uttered(self, message: dict[str, Any]) -> None:
        with self.lock:
            self.heard.append(str(message.get("text", "")))

    def say(self, text: str) -> None:
        self.client.emit("user_uttered", {"message": text})

    def hears(self, fragment: str) -> None:
        def heard() -> bool:
            with self.lock:
                return any(fragment.lower() in said.lower() for said in self.heard)
        try:
            wait_until(heard, REPLY_TIMEOUT)
        except AssertionError:
            raise AssertionError(f"the visitor never heard {fragment!r}: {self.heard}") from None

    def close(self) -> None:
        close_socket(self.client)


def shot(page: Page, name: str, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


# --- the keyboard ---------------------------------------------------------------------------
def focused(page: Page) -> dict[str, Any]:
    """The element with the focus, and how its focus is drawn."""
    found: dict[str, Any] = page.evaluate("""() => {
        const e = document.activeElement, s = getComputedStyle(e);
        return {id: e.id, tag: e.tagName, handoff: e.getAttribute('data-handoff'),
                text: (e.textContent || '').trim(), visible: e.matches(':focus-visible'),
                outline: s.outlineStyle, width: parseFloat(s.outlineWidth)};
    }""")
    return found


def press_until(page: Page, key: str, wanted: Callable[[dict[str, Any]], bool],
                limit: int = 25) -> dict[str, Any]:
    """Press `key` (Tab, Shift+Tab) until the focused element is the one wanted; it must
    show that it has the focus."""
    for _ in range(limit):
        page.keyboard.press(key)
        now = focused(page)
        if wanted(now):
            assert now["visible"] and now["outline"] != "none" and now["width"] >= 2, now
            return now
    raise AssertionError(f"{key} x{limit} never reached it; the focus is on {focused(page)}")


def by_id(element_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda now: bool(now["id"] == element_id)


# --- the layout -----------------------------------------------------------------------------
def no_sideways_scroll(page: Page, where: str) -> None:
    """The page is no wider than the window: only a table's own box scrolls sideways."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{where}: the page scrolls sideways: {widths}"
    cut = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getClientRects().length && !e.closest('.table-wrap'))
        .filter(e => { const r = e.getBoundingClientRect();
                       return r.width && (r.left < -0.5 || r.right > innerWidth + 0.5); })
        .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')).slice(0, 5)""")
    assert cut == [], f"{where}: cut off at the sides: {cut}"


def within_reach(page: Page, *names: str) -> None:
    """Each control, scrolled to, is wholly inside the window."""
    size = page.viewport_size
    assert size is not None
    for selector in names:
        control = page.locator(selector)
        control.scroll_into_view_if_needed()
        box = control.bounding_box()
        assert box is not None, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (selector, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (selector, box)


def log_in(page: Page, site: str) -> None:
    page.goto(f"{site}/console")
    page.get_by_label("Email").fill(AGENT_EMAIL)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Signed in as Pat")).to_be_visible()


def test_an_agent_takes_a_chat_over_and_hands_it_back_with_the_keyboard_alone(
        browser: Browser, stack: Stack, agent: str) -> None:
    site = stack.env["BACKEND_URL"]
    context = _context(browser)
    page = context.new_page()

    # The login, empty: the email box has the focus.
    page.goto(f"{site}/console")
    expect(page.get_by_label("Email")).to_be_focused()
    assert_accessible(page, "console login")

    # A wrong password: the error is said, the focus goes back to the password.
    page.keyboard.type(agent)
    page.keyboard.press("Tab")
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_focused()
    assert_accessible(page, "console login with a failed login said")

    # The right one: the queue's heading takes the focus (not the page's start).
    page.keyboard.press("Control+a")
    page.keyboard.type(AGENT_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Signed in as Pat")).to_be_visible()
    expect(page.get_by_role("heading", name="Queue", exact=True)).to_be_focused()

    # A visitor asks for a person while the agent is online.
    visitor = Visitor(stack.env["RASA_URL"])
    try:
        visitor.say("I want to talk to a person")
        visitor.hears("connecting you")
        [handoff] = Backend(stack).handoffs_for(visitor.session_id)
        entry = page.locator(f'[data-handoff="{handoff["id"]}"]')
        expect(entry).to_contain_text("Waiting")
        assert_accessible(page, "the queue with a waiting handoff")

        # Tab to it; it keeps the focus while the queue is polled (every 2 s).
        press_until(page, "Tab", lambda now: now["handoff"] == str(handoff["id"]))
        page.wait_for_timeout(2500)
        expect(entry).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Conversation", exact=True)).to_be_focused()
        transcript = page.get_by_role("log", name="Transcript")
        expect(transcript).to_contain_text("I want to talk to a person")

        # Take over (Space), reply (Tab to Send, Enter): the reply box has the focus.
        press_until(page, "Tab", by_id("take"))
        page.keyboard.press(" ")
        reply = page.get_by_label("Your message to the visitor")
        expect(reply).to_be_focused()
        page.keyboard.type("Hi, I'm Pat from the privacy team.")
        press_until(page, "Tab", lambda now: now["tag"] == "BUTTON" and now["text"] == "Send")
        page.keyboard.press("Enter")
        expect(transcript).to_contain_text("Agent Pat: Hi, I'm Pat")
        expect(reply).to_be_focused()
        visitor.hears("I'm Pat from the privacy team")

        # The visitor writes while the agent drafts: the draft and the focus stay put.
        page.keyboard.type("Let me check")
        visitor.say("Can you delete my account data?")
        expect(transcript).to_contain_text("Can you delete my account data?")
        expect(reply).to_be_focused()
        expect(reply).to_have_value("Let me check")
        assert_accessible(page, "a transcript the agent took over")

        # 320 CSS px: nothing cut off, the reply box and the buttons within reach.
        page.set_viewport_size(NARROW)
        no_sideways_scroll(page, "the conversation at 320 px")
        within_reach(page, "#handback", "#reply-text", "#reply-form button[type=submit]")
        assert_accessible(page, "a transcript at 320 px")
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "a11y-console-320px")
        page.set_viewport_size(DESKTOP)

        # 200% zoom (a 1280 x 900 window shows 640 x 450 CSS px), the same agent's session.
        zoomed_context = _context(browser, viewport={"width": 640, "height": 450},
                                  device_scale_factor=2, storage_state=context.storage_state())
        zoomed = zoomed_context.new_page()
        zoomed.goto(f"{site}/console#handoff-{handoff['id']}")
        zoomed_reply = zoomed.get_by_label("Your message to the visitor")
        expect(zoomed.get_by_role("log", name="Transcript")).to_contain_text(
            "Can you delete my account data?")
        expect(zoomed_reply).to_be_visible()
        no_sideways_scroll(zoomed, "the conversation at 200% zoom")
        within_reach(zoomed, "#handback", "#logout", "#reply-text",
                     "#reply-form button[type=submit]")
        zoomed_reply.scroll_into_view_if_needed()
        shot(zoomed, "a11y-console-zoom200", full_page=False)
        zoomed_context.close()

        # Hand back (Shift+Tab to it, Enter): the focus moves to the conversation's heading
        # instead of being lost with the button.
        expect(reply).to_be_focused()
        press_until(page, "Shift+Tab", by_id("handback"), limit=6)
        page.keyboard.press("Enter")
        visitor.hears("back with the privacy assistant")
        expect(page.locator("#handback")).to_be_hidden()
        expect(page.get_by_role("heading", name="Conversation", exact=True)).to_be_focused()
    finally:
        visitor.close()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_label("Password")).to_be_visible()
    context.close()


def test_the_workbench_is_accessible_and_fits_320_px(
        browser: Browser, stack: Stack, agent: str) -> None:
    site = stack.env["BACKEND_URL"]
    reference = file_verified_request(stack, "access", "a11y-ada@example.com", "California")
    file_verified_request(stack, "deletion", "a11y-bob@example.com", "Germany")
    opted = requests.post(
        f"{site}/api/v1/opt-outs", timeout=10,
        headers={"Authorization": f"Bearer {stack.env['PRIVACY_API_TOKEN']}"},
        json={"kind": "sale_sharing", "email": "a11y-cy@example.com",
              "conversation_id": "e2e-a11y-opt-out"})
    assert opted.status_code in (200, 201), opted.text

    context = _context(browser)
    page = context.new_page()
    log_in(page, site)

    # The list, filtered, with the opt-outs below it.
    page.get_by_role("tab", name="Requests").click()
    rows = page.locator("#requests-body tr")
    expect(rows.first).to_be_visible()
    page.get_by_label("Type").select_option("access")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#requests-body")).not_to_contain_text("Deletion")
    expect(rows.first).to_contain_text("Access")
    expect(page.locator("#opt-outs-body tr").first).to_be_visible()
    assert_accessible(page, "the workbench's list, filtered, and the opt-outs")

    # A request's page, with its actions and its audit trail.
    page.evaluate("(ref) => { window.location.hash = 'request-' + ref; }", reference)
    expect(page.get_by_role("heading", name=f"Request {reference}")).to_be_focused()
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.locator("#action-done")).to_contain_text("Started")
    expect(page.locator("#audit-body tr")).not_to_have_count(0)
    page.get_by_role("button", name="Deny", exact=True).click()
    expect(page.get_by_label("Reason for denying")).to_be_focused()
    assert_accessible(page, "a request's page, its actions and audit trail")

    # 320 CSS px: the page does not scroll sideways; the audit trail scrolls in its own box,
    # which the keyboard reaches and scrolls.
    page.set_viewport_size(NARROW)
    no_sideways_scroll(page, "a request's page at 320 px")
    assert_accessible(page, "a request's page at 320 px")
    audit = page.get_by_role("region", name="Audit trail")
    assert audit.evaluate("(box) => box.scrollWidth > box.clientWidth")
    page.get_by_role("button", name="Cancel").focus()
    press_until(page, "Tab", lambda now: now["tag"] == "DIV", limit=1)
    expect(audit).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.activeElement.scrollLeft > 0", timeout=5_000)

    page.get_by_role("button", name="Back to the list").click()
    expect(page.get_by_role("heading", name="Requests", exact=True)).to_be_focused()
    expect(rows.first).to_contain_text("Access")
    no_sideways_scroll(page, "the workbench's list at 320 px")
    assert_accessible(page, "the workbench's list at 320 px")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "a11y-workbench-320px")

    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_label("Password")).to_be_visible()
    context.close()
