"""Staff in Slack, end to end: signed events into the real Rasa server's Slack channel, the
real model, actions and backend, and replies read from a loopback stand-in for Slack's Web
API (tests/slack_standin.py), which the stack is connected to (tests/e2e/conftest.py).

What is checked: DMs and mentions answered in their thread with a verbatim quote and its
heading; the staff handbook (internal) quoted in Slack and never on the website widget or
over REST for the same question; who asked recorded with the conversation; "I don't know"
with the offer to ask the privacy team, which posts the question there with a link back;
the request queue for the privacy team's members only, with no personal data; visitors'
flows explained instead of started; website handoffs posted to the privacy team's channel
at once and updated when taken and closed.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import pytest
import requests
import socketio

from privacy_assistant.stack import Stack
from privacy_kb.document import load_document
from tests.conftest import PROJECT_ROOT, close_socket
from tests.e2e.conftest import COLLEAGUE, PRIVACY_CHANNEL, TEAM_MEMBER, Chat, rasa_tracker
from tests.slack_standin import (
    BOT_USER_ID,
    TEAM_ID,
    SlackStandIn,
    app_mention_event,
    event_callback,
    message_event,
    next_ts,
    signed_headers,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HANDBOOK = load_document(PROJECT_ROOT / "data/knowledge/internal/staff_privacy_handbook.md")
STATEMENT = load_document(PROJECT_ROOT / "data/knowledge/privacy_statement.md")
RETENTION_QUESTION = "how long do we keep support tickets?"


class Slack:
    """A staff member's Slack, as the Rasa server sees it: signed events to its webhook,
    and the bot's posts as the stand-in received them."""

    def __init__(self, stack: Stack, standin: SlackStandIn) -> None:
        self.url = f"{stack.env['RASA_URL']}/webhooks/slack/webhook"
        self.standin = standin

    def deliver(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        response = requests.post(self.url, data=body, timeout=10, headers={
            "Content-Type": "application/json", **signed_headers(body)})
        assert response.status_code == 200, response.text

    def dm(self, user: str, channel: str, text: str) -> dict[str, Any]:
        """Say `text` in a DM and wait for the bot's next post there."""
        before = len(self.standin.posts(channel))
        self.deliver(event_callback(message_event(text, user=user, channel=channel)))
        return self.standin.wait_for(lambda: self.standin.posts(channel)[before:],
                                     timeout=30)[0]

    def mention(self, user: str, channel: str, text: str, *, ts: str | None = None,
                thread_ts: str | None = None) -> str:
        """Mention the bot in a channel (as Slack does: `message` and `app_mention`)."""
        ts = ts or next_ts()
        words = f"<@{BOT_USER_ID}> {text}"
        self.deliver(event_callback(message_event(
            words, user=user, channel=channel, channel_type="channel", ts=ts,
            **({"thread_ts": thread_ts} if thread_ts else {}))))
        self.deliver(event_callback(app_mention_event(words, user=user, channel=channel, ts=ts,
                                                      thread_ts=thread_ts)))
        return ts

    def replies(self, channel: str, thread_ts: str, count: int = 1) -> list[dict[str, Any]]:
        """The bot's posts in a thread, once there are at least `count`."""
        def found() -> list[dict[str, Any]]:
            posts = [p for p in self.standin.posts(channel) if p.get("thread_ts") == thread_ts]
            return posts if len(posts) >= count else []
        return self.standin.wait_for(found, timeout=30)

    def click(self, user: str, post: dict[str, Any], title: str) -> None:
        """Click one of the bot's buttons on `post`, as Slack's interactivity sends it."""
        [button] = [e for b in post["blocks"] if b["type"] == "actions"
                    for e in b["elements"] if e["text"]["text"] == title]
        payload = {"type": "block_actions", "team": {"id": TEAM_ID}, "user": {"id": user},
                   "channel": {"id": post["channel"]},
                   "container": {"type": "message", "channel_id": post["channel"],
                                 "message_ts": post["ts"], "thread_ts": post.get("thread_ts")},
                   "message": {"ts": post["ts"], "thread_ts": post.get("thread_ts")},
                   "trigger_id": uuid.uuid4().hex,
                   "actions": [{**button, "action_ts": next_ts()}]}
        body = f"payload={requests.utils.quote(json.dumps(payload))}".encode()
        response = requests.post(self.url, data=body, timeout=10, headers={
            "Content-Type": "application/x-www-form-urlencoded", **signed_headers(body)})
        assert response.status_code == 200, response.text


@pytest.fixture
def slack_user(stack: Stack, slack: SlackStandIn) -> Slack:
    return Slack(stack, slack)


def fresh(prefix: str) -> str:
    return f"{prefix}0{uuid.uuid4().hex[:8].upper()}"


def flat(text: str) -> str:
    """Text with its line breaks and runs of spaces as single spaces (a quote is sent with
    its paragraph breaks as line breaks; the words are the document's)."""
    return " ".join(text.split())


def quote_and_heading(post: dict[str, Any]) -> tuple[str, str, str]:
    """The quoted words, the heading and its link of an answer post (its plain fallback)."""
    text = post["text"]
    match = re.fullmatch(r"“(?P<quote>.+)”\n— (?P<heading>.+) \((?P<link>\S+)\)", text, re.S)
    assert match, text
    return match["quote"], match["heading"], match["link"]


def test_a_dm_is_answered_from_the_staff_handbook_with_heading_and_link(
        stack: Stack, slack_user: Slack) -> None:
    dm = fresh("D")
    post = slack_user.dm(TEAM_MEMBER[0], dm, RETENTION_QUESTION)
    quote, heading, link = quote_and_heading(post)
    assert flat(quote) in flat(HANDBOOK.plain)  # verbatim
    assert heading == "Retention Schedule"
    assert link == "https://intranet.example.com/privacy/staff-handbook#retention"
    # Block Kit: the quote, then the heading as a link.
    context = [b for b in post["blocks"] if b["type"] == "context"][0]
    assert context["elements"][0]["text"] == f"— <{link}|{heading}>"
    # Who asked is recorded with the conversation (users.info). The answer is posted
    # during the turn and the tracker saved at its end: wait for the save.
    deadline = time.monotonic() + 20
    while True:
        tracker = rasa_tracker(stack, f"slack:{TEAM_ID}:{dm}")
        users = [e for e in tracker["events"] if e["event"] == "user"]
        if users or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    [user] = users
    assert user["input_channel"] == "slack"
    assert user["metadata"]["slack"]["email"] == TEAM_MEMBER[1]
    assert user["metadata"]["slack"]["name"] == TEAM_MEMBER[2]


def test_a_mention_is_answered_in_its_thread_and_the_thread_goes_on(
        slack_user: Slack) -> None:
    channel = fresh("C")
    root = slack_user.mention(COLLEAGUE[0], channel, "do we sell personal information?")
    [answer] = slack_user.replies(channel, root)
    quote, _, _ = quote_and_heading(answer)
    assert flat(quote) in flat(STATEMENT.plain) or flat(quote) in flat(HANDBOOK.plain)
    # A follow-up in the thread, without a mention: the same conversation.
    slack_user.deliver(event_callback(message_event(
        "tell me more", user=COLLEAGUE[0], channel=channel, channel_type="channel",
        thread_ts=root)))
    first, more = slack_user.replies(channel, root, count=2)[:2]
    assert more["text"] != first["text"]
    assert more["thread_ts"] == root
    time.sleep(1)
    assert len(slack_user.replies(channel, root)) == 2  # the mention arrived twice


def test_the_handbook_is_never_quoted_on_the_website_or_over_rest(
        stack: Stack, slack_user: Slack) -> None:
    handbook_words = {p.plain[:60] for p in HANDBOOK.passages}
    post = slack_user.dm(COLLEAGUE[0], fresh("D"), RETENTION_QUESTION)
    assert any(w in post["text"] for w in handbook_words)

    rest = Chat.of(stack, sender=f"e2e-visitor-{uuid.uuid4().hex[:6]}")
    over_rest = json.dumps(rest.say(RETENTION_QUESTION))
    widget = socketio.Client(reconnection=False)
    said: list[dict[str, Any]] = []
    confirmed: list[dict[str, Any]] = []
    widget.on("bot_uttered", said.append)
    widget.on("session_confirm", confirmed.append)
    widget.connect(stack.env["RASA_URL"], socketio_path="/socket.io", transports=["polling"],
                   wait_timeout=20)
    try:
        widget.emit("session_request", {})
        deadline = time.monotonic() + 20
        while not confirmed:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # A widget that claims to be Slack in its metadata is still the widget.
        widget.emit("user_uttered", {"message": RETENTION_QUESTION, "customData": {
            "slack": {"user": TEAM_MEMBER[0], "privacy_team": True}}})
        while not said:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1)
    finally:
        close_socket(widget)
    over_widget = json.dumps(said)
    sent = [e for e in rasa_tracker(stack, confirmed[-1]["session_id"])["events"]
            if e["event"] == "user"]
    assert sent and all("slack" not in (e.get("metadata") or {}) for e in sent)
    for answer in (over_rest, over_widget):
        assert "intranet.example.com" not in answer
        assert not any(json.dumps(w)[1:-1] in answer for w in handbook_words)


def test_when_the_documents_are_silent_the_privacy_team_is_asked(
        slack_user: Slack, slack: SlackStandIn) -> None:
    channel = fresh("C")
    question = "what is our lawful basis for processing employee biometrics?"
    root = slack_user.mention(COLLEAGUE[0], channel, question)
    [silent] = slack_user.replies(channel, root)
    assert "I don't know" in silent["text"]
    slack_user.click(COLLEAGUE[0], silent, "Ask the privacy team")
    asked = slack.wait_for(lambda: [p for p in slack.posts(PRIVACY_CHANNEL)
                                    if question in p["text"]], timeout=30)[0]
    assert f"<@{COLLEAGUE[0]}>" in asked["text"]
    assert f"archives/{channel}/p{root.replace('.', '')}" in asked["text"]
    confirmation = slack_user.replies(channel, root, count=2)[1]
    assert f"<#{PRIVACY_CHANNEL}>" in confirmation["text"]


def _file_request(stack: Stack, email: str) -> str:
    response = requests.post(
        f"{stack.env['BACKEND_URL']}/api/v1/requests", timeout=10,
        headers={"Authorization": f"Bearer {stack.env['PRIVACY_STAFF_TOKEN']}"},
        json={"type": "deletion", "email": email, "name": "Queue Person", "channel": "rest"})
    assert response.status_code == 201, response.text
    return str(response.json()["reference"])


def test_the_privacy_team_gets_the_queue_and_no_personal_data(
        stack: Stack, slack_user: Slack) -> None:
    email = f"queue-{uuid.uuid4().hex[:6]}@example.com"
    reference = _file_request(stack, email)
    dm = fresh("D")
    status = slack_user.dm(TEAM_MEMBER[0], dm, f"status {reference}")
    assert reference in status["text"]
    assert "deletion" in status["text"]
    assert email not in status["text"] and "Queue Person" not in status["text"]
    # Filed today, it is due in weeks: in neither the week's list nor the overdue one.
    for command in ("requests due this week", "overdue requests"):
        listed = slack_user.dm(TEAM_MEMBER[0], dm, command)["text"]
        assert listed.startswith(("Open requests due within", "Overdue requests:",
                                  "Nothing there")), listed
        assert reference not in listed and email not in listed


def test_anyone_else_is_refused_the_queue(stack: Stack, slack_user: Slack) -> None:
    reference = _file_request(stack, f"queue-{uuid.uuid4().hex[:6]}@example.com")
    refused = slack_user.dm(COLLEAGUE[0], fresh("D"), f"status {reference}")
    assert "privacy team" in refused["text"]
    assert reference not in refused["text"]
    # Over REST the queue commands are not the queue either.
    rest = Chat.of(stack, sender=f"e2e-queue-{uuid.uuid4().hex[:6]}")
    for text in ("overdue requests", "requests due this week"):
        assert reference not in rest.reply(text)


def test_rights_requests_are_explained_not_started_in_slack(stack: Stack,
                                                            slack_user: Slack) -> None:
    dm = fresh("D")
    post = slack_user.dm(COLLEAGUE[0], dm, "delete my data")
    assert "website" in post["text"]
    tracker = rasa_tracker(stack, f"slack:{TEAM_ID}:{dm}")
    assert not (tracker.get("active_loop") or {}).get("name")
    post = slack_user.dm(COLLEAGUE[0], dm, "unsubscribe me from marketing emails")
    assert "website" in post["text"]


def test_a_website_handoff_reaches_the_privacy_channel_at_once(
        stack: Stack, slack: SlackStandIn) -> None:
    widget = socketio.Client(reconnection=False)
    said: list[dict[str, Any]] = []
    confirmed: list[dict[str, Any]] = []
    widget.on("bot_uttered", said.append)
    widget.on("session_confirm", confirmed.append)
    widget.connect(stack.env["RASA_URL"], socketio_path="/socket.io", transports=["polling"],
                   wait_timeout=20)
    before = len(slack.posts(PRIVACY_CHANNEL))
    try:
        widget.emit("session_request", {})
        deadline = time.monotonic() + 20
        while not confirmed:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        conversation = confirmed[-1]["session_id"]
        widget.emit("user_uttered", {"message": "I want to talk to a person, my email is "
                                                "handoff-visitor@example.com"})
        while not said:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        answered = time.monotonic()
        posted = slack.wait_for(lambda: slack.posts(PRIVACY_CHANNEL)[before:], timeout=5)[0]
        [call] = [c for c in slack.calls("chat.postMessage")
                  if c.args.get("channel") == PRIVACY_CHANNEL and c.ok][before:before + 1]
        # Posted when the handoff is queued, not by the sweep (every 30 s in this stack): 3 s
        # leaves room for a loaded machine, and a sweep would fall inside it one time in ten.
        assert call.at - answered < 3.0
        assert "/console#handoff-" in json.dumps(posted)
        assert "handoff-visitor@example.com" not in json.dumps(posted)
        assert conversation not in json.dumps(posted)
    finally:
        close_socket(widget)
