"""The Slack channel, against a loopback stand-in for Slack's Web API, with events signed and
sent by the tests the way Slack sends them.

The channel is the one credentials.yml names, built from its credentials (the SLACK_*
variables) and registered by Rasa's own `register`, served by Sanic in the Rasa environment
(`slack_channel_server.py`). Its agent records every message it is handed and answers through
the channel, so "answered once" is what reached the stand-in and "nothing processed" is what
the agent saw. The same channel with the real assistant behind it is tested end to end in
tests/e2e/test_slack.py.

Each test uses its own Slack channel ids and users, so the tests share one server.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from tests.conftest import PROJECT_ROOT, TEST_REDIS_URL, free_port, unreachable
from tests.slack_standin import (
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_ID,
    SlackStandIn,
    app_mention_event,
    event_callback,
    message_event,
    next_ts,
    signed_headers,
)

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
SERVER = Path(__file__).with_name("slack_channel_server.py")
PRIVACY_CHANNEL = "C0PRIVACY"
MEMBER, OUTSIDER = "U0MEMBER", "U0OUTSIDER"
REDIS = TEST_REDIS_URL


def _start(port: int, standin: SlackStandIn, **env: str) -> subprocess.Popen[str]:
    if not RASA_PYTHON.is_file():
        pytest.fail(f"{RASA_PYTHON} is missing: run `make install`")
    base = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    base.update({
        "WIDGET_SESSION_SECRET": "widget-session-secret-for-tests-0123456789",
        "REST_CHANNEL_TOKEN": "rest-channel-token-for-tests-0123456789",
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": standin.url, "SLACK_TEAM_ID": TEAM_ID,
        "SLACK_PRIVACY_CHANNEL": PRIVACY_CHANNEL, "REDIS_URL": "",
        "BACKEND_URL": "", "PRIVACY_API_TOKEN": "",
    })
    base.update(env)
    return subprocess.Popen([str(RASA_PYTHON), str(SERVER), str(port)], env=base,
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _serve(port: int, standin: SlackStandIn, **env: str) -> subprocess.Popen[str]:
    process = _start(port, standin, **env)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"the channel's server exited:\n{process.communicate()[0]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/webhooks/slack/", timeout=2).ok:
                return process
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "the channel's server did not start"
        time.sleep(0.2)


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(users={
        MEMBER: {"email": "priya@acme.example", "real_name": "Priya Member"},
        OUTSIDER: {"email": "sam@acme.example", "real_name": "Sam Outsider"},
    }, channel_members={PRIVACY_CHANNEL: ["U0A", "U0B", MEMBER, "U0C"]}) as running:
        yield running


@pytest.fixture(scope="module")
def url(standin: SlackStandIn) -> Iterator[str]:
    port = free_port()
    process = _serve(port, standin)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


def send(url: str, payload: dict[str, Any], *, headers: dict[str, str] | None = None,
         secret: str = SIGNING_SECRET, timestamp: int | None = None) -> requests.Response:
    """POST an Events API payload signed as Slack signs it."""
    body = json.dumps(payload).encode()
    signed = signed_headers(body, secret=secret, timestamp=timestamp)
    return requests.post(f"{url}/webhooks/slack/webhook", data=body, timeout=10, headers={
        "Content-Type": "application/json", **signed, **(headers or {})})


def send_form(url: str, fields: dict[str, str]) -> requests.Response:
    """POST a form (slash commands, interactivity) signed as Slack signs it."""
    body = urlencode(fields).encode()
    return requests.post(f"{url}/webhooks/slack/webhook", data=body, timeout=10, headers={
        "Content-Type": "application/x-www-form-urlencoded", **signed_headers(body)})


def received(url: str, **match: Any) -> list[dict[str, Any]]:
    found = requests.get(f"{url}/received", timeout=5).json()
    return [m for m in found if all(m.get(k) == v for k, v in match.items())]


def channel_id(prefix: str = "C") -> str:
    return f"{prefix}0{uuid.uuid4().hex[:8].upper()}"


def settle() -> None:
    """Long enough for a duplicate that would be answered to have been answered."""
    time.sleep(1.0)


# --- who may talk to the channel ------------------------------------------------------------

def test_url_verification_is_answered(url: str) -> None:
    response = send(url, {"type": "url_verification", "token": "x", "challenge": "3eZbrw1a"})
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1a"}


@pytest.mark.parametrize("how", ["unsigned", "other secret", "stale", "tampered"])
def test_a_bad_or_stale_signature_is_refused_and_nothing_is_processed(
        url: str, standin: SlackStandIn, how: str) -> None:
    dm = channel_id("D")
    event = event_callback(message_event("what do we keep?", user=MEMBER, channel=dm))
    body = json.dumps(event).encode()
    if how == "unsigned":
        headers: dict[str, str] = {}
    elif how == "other secret":
        headers = signed_headers(body, secret="not-the-signing-secret")
    elif how == "stale":  # outside Slack's five-minute window
        headers = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    else:
        headers = signed_headers(body)
        body = body.replace(b"what do we keep?", b"delete everything")
    response = requests.post(f"{url}/webhooks/slack/webhook", data=body, timeout=10,
                             headers={"Content-Type": "application/json", **headers})
    assert response.status_code == 401
    settle()
    assert received(url, sender_id=f"slack:{TEAM_ID}:{dm}") == []
    assert standin.posts(dm) == []


def test_events_from_another_workspace_are_refused(url: str, standin: SlackStandIn) -> None:
    dm = channel_id("D")
    event = event_callback(message_event("hello", user=MEMBER, channel=dm, team="T0OTHER"),
                           team_id="T0OTHER")
    assert send(url, event).status_code == 403
    settle()
    assert received(url, sender_id=f"slack:T0OTHER:{dm}") == []
    assert standin.posts(dm) == []


# --- what is answered, and where ------------------------------------------------------------

def test_a_dm_is_answered_in_the_dm_with_who_wrote_it(url: str, standin: SlackStandIn) -> None:
    dm = channel_id("D")
    response = send(url, event_callback(message_event("hello there", user=MEMBER, channel=dm)))
    assert response.status_code == 200
    post = standin.wait_for(lambda: standin.posts(dm))[0]
    assert post["text"] == "echo: hello there"
    assert "thread_ts" not in post or not post["thread_ts"]
    [message] = received(url, sender_id=f"slack:{TEAM_ID}:{dm}")
    assert message["input_channel"] == "slack"
    slack = message["metadata"]["slack"]
    assert (slack["user"], slack["email"], slack["name"]) == (
        MEMBER, "priya@acme.example", "Priya Member")
    assert slack["privacy_team"] is True  # on the 3rd of 4 members: every page was read


def test_privacy_team_membership_comes_from_slack(url: str, standin: SlackStandIn) -> None:
    dm = channel_id("D")
    send(url, event_callback(message_event("hi", user=OUTSIDER, channel=dm)))
    standin.wait_for(lambda: received(url, sender_id=f"slack:{TEAM_ID}:{dm}"))
    [message] = received(url, sender_id=f"slack:{TEAM_ID}:{dm}")
    assert message["metadata"]["slack"]["privacy_team"] is False


def test_a_retry_is_answered_once(url: str, standin: SlackStandIn) -> None:
    dm = channel_id("D")
    event = event_callback(message_event("once please", user=MEMBER, channel=dm))
    assert send(url, event).status_code == 200
    # Slack retries when it thinks the first delivery failed, for any reason.
    for n, reason in enumerate(("http_error", "http_timeout", "too_many_redirects"), 1):
        retry = send(url, event, headers={"X-Slack-Retry-Num": str(n),
                                          "X-Slack-Retry-Reason": reason})
        assert retry.status_code == 200
    standin.wait_for(lambda: standin.posts(dm))
    settle()
    assert len(standin.posts(dm)) == 1
    assert len(received(url, sender_id=f"slack:{TEAM_ID}:{dm}")) == 1


def test_one_message_redelivered_under_a_new_event_id_is_answered_once(
        url: str, standin: SlackStandIn) -> None:
    dm = channel_id("D")
    event = message_event("same message", user=MEMBER, channel=dm)
    send(url, event_callback(event))
    send(url, event_callback(dict(event)))  # a fresh event_id, the same channel and ts
    standin.wait_for(lambda: standin.posts(dm))
    settle()
    assert len(standin.posts(dm)) == 1


def test_a_mention_arrives_twice_and_is_answered_once_in_its_thread(
        url: str, standin: SlackStandIn) -> None:
    channel, ts = channel_id(), next_ts()
    text = f"<@{BOT_USER_ID}> how long do we keep tickets?"
    # The app reads the channel (channels:history) and is mentioned (app_mentions:read).
    send(url, event_callback(message_event(text, user=MEMBER, channel=channel,
                                           channel_type="channel", ts=ts)))
    send(url, event_callback(app_mention_event(text, user=MEMBER, channel=channel, ts=ts)))
    post = standin.wait_for(lambda: standin.posts(channel))[0]
    settle()
    assert len(standin.posts(channel)) == 1
    assert post["thread_ts"] == ts
    assert post["text"] == "echo: how long do we keep tickets?"  # the mention is removed
    assert len(received(url, sender_id=f"slack:{TEAM_ID}:{channel}:{ts}")) == 1


def test_the_thread_is_one_conversation(url: str, standin: SlackStandIn) -> None:
    channel, root = channel_id(), next_ts()
    send(url, event_callback(app_mention_event(f"<@{BOT_USER_ID}> first", user=MEMBER,
                                               channel=channel, ts=root)))
    standin.wait_for(lambda: standin.posts(channel))
    # A follow-up in the thread needs no mention; chatter elsewhere in the channel is not
    # for the bot.
    send(url, event_callback(message_event("tell me more", user=MEMBER, channel=channel,
                                           channel_type="channel", thread_ts=root)))
    send(url, event_callback(message_event("lunch anyone?", user=OUTSIDER, channel=channel,
                                           channel_type="channel")))
    standin.wait_for(lambda: len(standin.posts(channel)) >= 2)
    settle()
    posts = standin.posts(channel)
    assert [p["text"] for p in posts] == ["echo: first", "echo: tell me more"]
    assert {p["thread_ts"] for p in posts} == {root}
    assert [m["text"] for m in received(url, sender_id=f"slack:{TEAM_ID}:{channel}:{root}")
            ] == ["first", "tell me more"]
    assert all("lunch" not in m["text"] for m in received(url))


def test_a_mention_inside_someone_elses_thread_is_answered_in_that_thread(
        url: str, standin: SlackStandIn) -> None:
    channel, root = channel_id(), next_ts()
    send(url, event_callback(app_mention_event(
        f"<@{BOT_USER_ID}> what does the handbook say?", user=MEMBER, channel=channel,
        ts=next_ts(), thread_ts=root)))
    post = standin.wait_for(lambda: standin.posts(channel))[0]
    assert post["thread_ts"] == root
    assert received(url, sender_id=f"slack:{TEAM_ID}:{channel}:{root}")


@pytest.mark.parametrize("extra", [
    {"bot_id": "B0OTHER"},
    {"subtype": "bot_message", "bot_id": "B0OTHER"},
    {"user": BOT_USER_ID},
    {"subtype": "message_changed"},
    {"subtype": "channel_join"},
], ids=["another bot", "bot message", "itself", "an edit", "a join"])
def test_the_bot_never_answers_a_bot_or_itself(url: str, standin: SlackStandIn,
                                               extra: dict[str, Any]) -> None:
    dm = channel_id("D")
    event = message_event("echo: hello", user=MEMBER, channel=dm)
    event.update(extra)
    assert send(url, event_callback(event)).status_code == 200
    settle()
    assert standin.posts(dm) == []
    assert received(url, sender_id=f"slack:{TEAM_ID}:{dm}") == []


# --- how replies are posted -----------------------------------------------------------------

def test_a_reply_of_several_paragraphs_is_one_post(url: str, standin: SlackStandIn) -> None:
    dm = channel_id("D")
    send(url, event_callback(message_event("paragraphs", user=MEMBER, channel=dm)))
    standin.wait_for(lambda: standin.posts(dm))
    settle()
    [post] = standin.posts(dm)
    assert post["text"] == "First paragraph.\n\nSecond paragraph."


def test_a_quote_is_block_kit_with_its_heading_as_a_link(url: str,
                                                         standin: SlackStandIn) -> None:
    dm = channel_id("D")
    send(url, event_callback(message_event("quote", user=MEMBER, channel=dm)))
    post = standin.wait_for(lambda: standin.posts(dm))[0]
    section, context = post["blocks"]
    # Slack's control characters are escaped; the words are the quote's own.
    assert section["text"]["text"] == "“We keep &lt;your&gt; data &amp; more.”"
    assert context["elements"][0]["text"] == (
        "— <https://intranet.example.com/handbook#retention|Data Retention>")
    assert post["text"].startswith("“We keep <your> data & more.”")  # the plain fallback


def test_a_citation_is_taken_from_the_payload_not_from_the_text(
        url: str, standin: SlackStandIn) -> None:
    dm = channel_id("D")
    send(url, event_callback(message_event("citation line only", user=MEMBER, channel=dm)))
    post = standin.wait_for(lambda: standin.posts(dm))[0]
    [section] = post["blocks"]  # no payload: the closing line stays text, with no link
    assert section["text"]["text"] == (
        "Not an answer.\n— Data Retention (https://intranet.example.com/handbook#retention)")


def test_the_webhook_answers_before_the_reply_is_ready(url: str,
                                                       standin: SlackStandIn) -> None:
    dm = channel_id("D")
    started = time.monotonic()
    response = send(url, event_callback(message_event("slow one", user=MEMBER, channel=dm)))
    assert response.status_code == 200
    assert time.monotonic() - started < 1.0  # Slack wants it within 3 s; the reply takes 4
    assert standin.posts(dm) == []
    standin.wait_for(lambda: standin.posts(dm), timeout=10)


def test_a_429_is_retried_after_retry_after(url: str, standin: SlackStandIn) -> None:
    dm = channel_id("D")
    standin.rate_limit("chat.postMessage", times=1, retry_after=1)
    send(url, event_callback(message_event("limited", user=MEMBER, channel=dm)))
    standin.wait_for(lambda: standin.posts(dm), timeout=10)
    attempts = [c for c in standin.calls("chat.postMessage") if c.args.get("channel") == dm
                or c.status == 429]
    refused = [c for c in attempts if c.status == 429]
    accepted = [c for c in attempts if c.status == 200 and c.args.get("channel") == dm]
    assert refused and accepted
    assert accepted[0].at - refused[-1].at >= 0.95


def test_posts_to_one_channel_are_a_second_apart(url: str, standin: SlackStandIn) -> None:
    dm = channel_id("D")
    send(url, event_callback(message_event("burst", user=MEMBER, channel=dm)))
    standin.wait_for(lambda: len(standin.posts(dm)) == 3, timeout=10)
    times = [c.at for c in standin.calls("chat.postMessage")
             if c.args.get("channel") == dm and c.status == 200]
    assert [p["text"] for p in standin.posts(dm)] == ["part 1", "part 2", "part 3"]
    assert all(b - a >= 0.95 for a, b in zip(times, times[1:], strict=False))


def test_buttons_are_block_kit_buttons_and_a_click_is_their_message(
        url: str, standin: SlackStandIn) -> None:
    channel, root = channel_id(), next_ts()
    send(url, event_callback(app_mention_event(f"<@{BOT_USER_ID}> buttons", user=MEMBER,
                                               channel=channel, ts=root)))
    post = standin.wait_for(lambda: standin.posts(channel))[0]
    [actions] = [b for b in post["blocks"] if b["type"] == "actions"]
    yes = actions["elements"][0]
    assert (yes["text"]["text"], yes["value"]) == ("Yes", "/affirm")
    click = {"type": "block_actions", "team": {"id": TEAM_ID}, "user": {"id": MEMBER},
             "channel": {"id": channel, "name": "privacy-questions"},
             "container": {"type": "message", "channel_id": channel, "message_ts": post["ts"],
                           "thread_ts": root},
             "message": {"ts": post["ts"], "thread_ts": root},
             "trigger_id": "1.2.3", "actions": [{**yes, "action_ts": next_ts()}]}
    response = send_form(url, {"payload": json.dumps(click)})
    assert response.status_code == 200
    standin.wait_for(lambda: len(received(url, sender_id=f"slack:{TEAM_ID}:{channel}:{root}"))
                     == 2)
    assert received(url, sender_id=f"slack:{TEAM_ID}:{channel}:{root}")[1]["text"] == "/affirm"
    # The same click delivered twice is one message.
    send_form(url, {"payload": json.dumps(click)})
    settle()
    assert len(received(url, sender_id=f"slack:{TEAM_ID}:{channel}:{root}")) == 2


def test_a_click_from_another_workspace_is_refused_and_not_processed(url: str) -> None:
    channel, root = channel_id(), next_ts()
    click = {"type": "block_actions", "team": {"id": "T0ELSEWHERE"}, "user": {"id": MEMBER},
             "channel": {"id": channel, "name": "privacy-questions"},
             "container": {"type": "message", "channel_id": channel, "message_ts": root,
                           "thread_ts": root},
             "trigger_id": "1.2.4",
             "actions": [{"action_id": "rasa_button_0", "value": "/affirm",
                          "action_ts": next_ts()}]}
    response = send_form(url, {"payload": json.dumps(click)})
    assert response.status_code == 403
    settle()
    assert received(url, sender_id=f"slack:T0ELSEWHERE:{channel}:{root}") == []
    assert received(url, sender_id=f"slack:{TEAM_ID}:{channel}:{root}") == []


def test_slash_commands_and_other_payloads_get_no_server_error(url: str) -> None:
    command = send_form(url, {"command": "/privacy", "text": "help", "user_id": MEMBER,
                              "team_id": TEAM_ID, "channel_id": "C0X"})
    assert command.status_code == 200
    assert command.json()["response_type"] == "ephemeral"
    for payload in ({"type": "view_submission", "team": {"id": TEAM_ID}},
                    {"type": "shortcut", "callback_id": "x"},
                    {"type": "block_actions", "team": {"id": TEAM_ID},
                     "actions": [{"action_id": "someone_elses_button"}]}):
        assert send_form(url, {"payload": json.dumps(payload)}).status_code == 200
    assert send_form(url, {"payload": "not json"}).status_code == 200
    assert send(url, {"type": "app_rate_limited", "team_id": TEAM_ID}).status_code == 200


def test_a_question_for_the_privacy_team_is_posted_with_a_link_back(
        url: str, standin: SlackStandIn) -> None:
    channel, root = channel_id(), next_ts()
    send(url, event_callback(app_mention_event(f"<@{BOT_USER_ID}> ask team", user=OUTSIDER,
                                               channel=channel, ts=root)))
    asked = standin.wait_for(lambda: [p for p in standin.posts(PRIVACY_CHANNEL)
                                      if channel in json.dumps(p)])[0]
    assert f"<@{OUTSIDER}>" in asked["text"]
    assert "&lt;b&gt;call recordings&lt;/b&gt;" in asked["text"]
    assert f"archives/{channel}/p{root.replace('.', '')}" in asked["text"]
    confirmation = standin.wait_for(lambda: standin.posts(channel))[0]
    assert confirmation["thread_ts"] == root
    assert f"<#{PRIVACY_CHANNEL}>" in confirmation["text"]


# --- configuration --------------------------------------------------------------------------

def test_without_a_bot_token_the_channel_is_off(standin: SlackStandIn) -> None:
    port = free_port()
    process = _serve(port, standin, SLACK_BOT_TOKEN="", SLACK_SIGNING_SECRET="")
    try:
        base = f"http://127.0.0.1:{port}"
        assert requests.get(f"{base}/webhooks/slack/", timeout=5).json()["enabled"] is False
        event = event_callback(message_event("hello", user=MEMBER, channel=channel_id("D")))
        assert send(base, event).status_code == 404
        assert received(base) == []
    finally:
        _stop(process)


def test_two_replicas_sharing_redis_answer_a_message_once(standin: SlackStandIn) -> None:
    """Slack delivers to the load balancer; a retry may land on the other replica."""
    reason = unreachable(REDIS)
    if reason:
        pytest.skip(reason)
    ports = [free_port(), free_port()]
    prefix_env = {"REDIS_URL": REDIS}
    processes = [_serve(port, standin, **prefix_env) for port in ports]
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        dm = channel_id("D")
        event = event_callback(message_event("replicated", user=MEMBER, channel=dm))
        for n, replica in enumerate(urls * 2):
            send(replica, event, headers={"X-Slack-Retry-Num": str(n)} if n else None)
        # The same message under a new event id, on the other replica.
        send(urls[1], event_callback(dict(event["event"])))
        standin.wait_for(lambda: standin.posts(dm))
        settle()
        assert len(standin.posts(dm)) == 1
        assert sum(len(received(u, sender_id=f"slack:{TEAM_ID}:{dm}")) for u in urls) == 1
    finally:
        for process in processes:
            _stop(process)
