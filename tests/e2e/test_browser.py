"""A real browser (Debian's Chromium through Playwright) against the real stack: a visitor on
the demo page asks a question and gets a cited answer, reloads and keeps the conversation,
asks for a person; an agent logs in to the console, takes the chat over, replies, and hands
it back; the bot answers again. Screenshots of the page and the console go to
docs/screenshots/."""

from __future__ import annotations

import re

import pytest

from privacy_assistant.stack import Stack
from tests.conftest import PROJECT_ROOT, wait_until
from tests.e2e.conftest import create_agent, stored_events

playwright_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, expect  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
AGENT_EMAIL = "sam@example.com"
AGENT_PASSWORD = "a long test password for Sam"
REPLY_TIMEOUT = 30_000  # ms: the first answer loads the knowledge base


@pytest.fixture(scope="module")
def agent(stack: Stack) -> str:
    """A support agent, created with the real CLI against the stack's database."""
    return create_agent(stack, AGENT_EMAIL, "Sam", AGENT_PASSWORD)


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


class Visitor:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.log = page.get_by_role("log", name="Conversation")

    def open_chat(self) -> None:
        launcher = self.page.get_by_role("button", name="Chat with our privacy assistant")
        launcher.focus()
        self.page.keyboard.press("Enter")  # keyboard only
        expect(self.page.get_by_label("Your message")).to_be_focused()
        self.connected()

    def connected(self) -> None:
        expect(self.page.get_by_role("status")).to_have_text("Connected", timeout=REPLY_TIMEOUT)

    def say(self, text: str) -> None:
        box = self.page.get_by_label("Your message")
        box.fill(text)
        box.press("Enter")
        expect(self.log.locator(".pa-user").last).to_have_text(f"You said: {text}")

    def bot_said(self, pattern: str) -> None:
        expect(self.log.locator(".pa-bot").last).to_contain_text(
            re.compile(pattern, re.I), timeout=REPLY_TIMEOUT)


def test_visitor_and_agent(browser: Browser, stack: Stack, agent: str) -> None:
    site = stack.env["BACKEND_URL"]
    visitor_context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = visitor_context.new_page()
    page.goto(f"{site}/")
    expect(page.locator("h2#info-we-collect")).to_have_count(1)
    visitor = Visitor(page)
    visitor.open_chat()

    # A question gets a quote with a link to its section; the link scrolls the page there.
    visitor.say("what data do you collect?")
    visitor.bot_said("Information We Collect")
    link = visitor.log.get_by_role("link", name=re.compile("Go to the section", re.I)).last
    link.click()
    expect(page).to_have_url(re.compile(r"#info-we-collect$"))
    expect(page.locator("#info-we-collect")).to_be_in_viewport()
    shot(page, "widget-cited-answer")

    # A reload keeps the conversation and its history.
    page.reload()
    visitor = Visitor(page)
    visitor.connected()
    expect(visitor.log.locator(".pa-user")).to_contain_text(["what data do you collect?"])
    expect(visitor.log.locator(".pa-bot").last).to_contain_text("Information We Collect")
    visitor.say("do you sell my data?")
    visitor.bot_said(r"sell|Sale")

    # Readable at 360 px wide.
    small = browser.new_context(viewport={"width": 360, "height": 740})
    phone = small.new_page()
    phone.goto(f"{site}/")
    Visitor(phone).open_chat()
    box = phone.locator(".pa-panel").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    shot(phone, "widget-360px")
    small.close()

    # The agent is online before the visitor asks for a person.
    console_context = browser.new_context(viewport={"width": 1280, "height": 900})
    console = console_context.new_page()
    console.goto(f"{site}/console")
    console.get_by_label("Email").fill(agent)
    console.get_by_label("Password").fill(AGENT_PASSWORD)
    console.get_by_role("button", name="Log in").click()
    expect(console.get_by_text("Signed in as Sam")).to_be_visible()

    visitor.say("I want to talk to a person")
    visitor.bot_said("connecting you")

    # The handoff shows up in the queue (polled), the agent opens it and takes it over.
    item = console.locator(".queue-item button").first
    expect(item).to_contain_text("Waiting", timeout=10_000)
    item.click()
    transcript = console.get_by_role("log", name="Transcript")
    expect(transcript).to_contain_text("what data do you collect?")
    expect(transcript).to_contain_text("I want to talk to a person")
    console.get_by_role("button", name="Take over").click()
    reply = console.get_by_label("Your message to the visitor")
    expect(reply).to_be_visible()
    reply.fill("Hi, I'm Sam from the privacy team. How can I help?")
    console.get_by_role("button", name="Send").click()
    expect(transcript).to_contain_text("Agent Sam: Hi, I'm Sam", timeout=10_000)

    visitor.bot_said("I'm Sam from the privacy team")
    shot(page, "widget-agent-reply")

    # Messages the visitor writes now reach the agent, not the bot.
    visitor.say("Can you delete my account data?")
    expect(transcript).to_contain_text("Can you delete my account data?", timeout=10_000)
    shot(console, "console-conversation")

    console.get_by_role("button", name="Hand back to the bot").click()
    visitor.bot_said("back with the privacy assistant")
    expect(console.locator(".queue-item")).to_have_count(0, timeout=10_000)

    visitor.say("what data do you collect?")
    visitor.bot_said("Information We Collect")

    # End chat forgets the conversation: the history goes, and the stored token is a new one.
    stored = page.evaluate("JSON.parse(sessionStorage.getItem('privacy-assistant-chat'))")
    assert stored["sessionToken"] and stored["sessionId"]
    page.get_by_role("button", name="End chat").click()
    expect(visitor.log.locator(".pa-msg:not(.pa-intro)")).to_have_count(0)
    visitor.connected()
    after = page.evaluate("JSON.parse(sessionStorage.getItem('privacy-assistant-chat'))")
    assert after["history"] == [] and after["sessionId"] != stored["sessionId"]
    assert after["sessionToken"] != stored["sessionToken"]
    page.reload()
    visitor = Visitor(page)
    visitor.connected()
    expect(visitor.log.locator(".pa-msg:not(.pa-intro)")).to_have_count(0)
    visitor.say("what data do you collect?")
    visitor.bot_said("Information We Collect")

    # Logging out ends the session at once: the agent no longer counts as online.
    console.get_by_role("button", name="Log out").click()
    expect(console.get_by_label("Password")).to_be_visible()
    console_context.close()
    visitor_context.close()


def _stored_events(stack: Stack, sender_id: str) -> int:
    return len(stored_events(stack, sender_id))


def test_the_chat_says_it_is_recorded_and_can_be_deleted_at_once(
        browser: Browser, stack: Stack) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{stack.env['BACKEND_URL']}/")
    visitor = Visitor(page)
    visitor.open_chat()
    # The first message says it is software, and how to reach a person (EU AI Act).
    intro = visitor.log.locator(".pa-msg").first
    expect(intro).to_contain_text("an automated assistant, not a person")
    expect(intro).to_contain_text("talk to a person")
    notice = visitor.log.locator(".pa-notice").first
    expect(notice).to_contain_text("This chat is recorded")
    statement = notice.get_by_role("link", name="privacy statement")
    expect(statement).to_have_attribute("href", re.compile(r"#info-we-collect$"))

    visitor.say("can my kid use this?")
    visitor.bot_said(r"child|13|16")
    session_id = page.evaluate(
        "JSON.parse(sessionStorage.getItem('privacy-assistant-chat')).sessionId")
    # The widget shows the answer as it is sent; Rasa saves the turn after its last action.
    assert wait_until(lambda: _stored_events(stack, session_id)) > 0

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete chat").click()
    expect(visitor.log.locator(".pa-outcome")).to_have_text("This chat was deleted.",
                                                            timeout=REPLY_TIMEOUT)
    expect(visitor.log.locator(".pa-user")).to_have_count(0)
    expect(visitor.log.locator(".pa-notice").first).to_contain_text("This chat is recorded")
    assert _stored_events(stack, session_id) == 0
    visitor.connected()  # a new conversation begins
    shot(page, "widget-chat-deleted")
    context.close()
