"""The Slack Web API stand-in, exercised with slack_sdk's real WebClient."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from tests import slack_standin
from tests.slack_standin import (
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_ID,
    SlackStandIn,
)

STAFF = {"U0STAFF": {"email": "ann@acme.test", "real_name": "Ann Example", "is_bot": False}}


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(users=STAFF, channel_members={"C0PRIVACY": ["U0STAFF"]}) as slack:
        yield slack


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=standin.url, timeout=5)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_auth_test_answers_the_bot_identity(standin: SlackStandIn, client: WebClient) -> None:
    response = client.auth_test()

    assert response.data == {
        "ok": True,
        "url": "https://acme-standin.slack.com/",
        "team": "Acme Stand-in",
        "user": "privacybot",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["X-Slack-Req-Id"]
    assert standin.url.startswith("http://127.0.0.1:") and standin.url.endswith("/api/")
    [call] = standin.calls()
    assert (call.method, call.status, call.ok) == ("auth.test", 200, True)


def test_post_message_with_blocks_and_in_a_thread(
    standin: SlackStandIn, client: WebClient
) -> None:
    blocks = [section("*Your request* is in.")]
    first = client.chat_postMessage(channel="D0DM", text="Your request is in.", blocks=blocks)
    reply = client.chat_postMessage(channel="D0DM", text="More soon.", thread_ts=first["ts"])

    assert first["channel"] == "D0DM"
    assert first["message"]["blocks"] == blocks
    assert first["message"]["user"] == BOT_USER_ID and first["message"]["bot_id"] == BOT_ID
    assert reply["message"]["thread_ts"] == first["ts"]
    assert float(reply["ts"]) > float(first["ts"])
    assert standin.posts() == [
        {"channel": "D0DM", "text": "Your request is in.", "blocks": blocks, "ts": first["ts"]},
        {"channel": "D0DM", "text": "More soon.", "thread_ts": first["ts"], "ts": reply["ts"]},
    ]
    assert standin.posts("C0OTHER") == []


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_needs_a_channel_and_content(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as no_channel:
        client.api_call("chat.postMessage", json={"text": "hello"})
    with pytest.raises(SlackApiError) as no_text:
        client.chat_postMessage(channel="D0DM")

    assert no_channel.value.response["error"] == "channel_not_found"
    assert no_text.value.response["error"] == "no_text"


def test_form_encoded_blocks_are_decoded(standin: SlackStandIn, client: WebClient) -> None:
    blocks = [section("sent as a form")]
    client.api_call(
        "chat.postMessage", params={"channel": "C0PRIVACY", "blocks": json.dumps(blocks)}
    )

    assert standin.posts("C0PRIVACY")[0]["blocks"] == blocks


def test_a_section_longer_than_3000_characters_is_invalid_blocks(
    standin: SlackStandIn, client: WebClient
) -> None:
    client.chat_postMessage(channel="D0DM", text="fits", blocks=[section("x" * 3000)])
    with pytest.raises(SlackApiError) as too_long:
        client.chat_postMessage(channel="D0DM", text="too long", blocks=[section("x" * 3001)])
    with pytest.raises(SlackApiError) as untyped:
        client.chat_postMessage(channel="D0DM", text="untyped", blocks=[{"text": "no type"}])
    with pytest.raises(SlackApiError) as too_many:
        client.chat_postMessage(channel="D0DM", text="many", blocks=[section("b")] * 51)

    assert too_long.value.response["error"] == "invalid_blocks"
    assert untyped.value.response["error"] == "invalid_blocks"
    assert too_many.value.response["error"] == "invalid_blocks"
    assert [p["text"] for p in standin.posts()] == ["fits"]
    assert [c.ok for c in standin.calls("chat.postMessage")] == [True, False, False, False]


def test_chat_update_changes_a_posted_message(standin: SlackStandIn, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="D0DM", text="Working on it…")
    updated = client.chat_update(
        channel="D0DM", ts=posted["ts"], text="Done.", blocks=[section("*Done.*")]
    )

    assert updated["ts"] == posted["ts"] and updated["text"] == "Done."
    assert updated["message"]["blocks"] == [section("*Done.*")]
    assert standin.updates("D0DM") == [
        {"channel": "D0DM", "ts": posted["ts"], "text": "Done.", "blocks": [section("*Done.*")]}
    ]
    with pytest.raises(SlackApiError) as unknown:
        client.chat_update(channel="D0DM", ts="1.000001", text="never posted")
    assert unknown.value.response["error"] == "message_not_found"


def test_chat_get_permalink(client: WebClient) -> None:
    response = client.chat_getPermalink(channel="C0PRIVACY", message_ts="1764660000.000100")

    assert response["permalink"] == (
        "https://acme-standin.slack.com/archives/C0PRIVACY/p1764660000000100"
    )


def test_users_info_known_and_unknown(standin: SlackStandIn, client: WebClient) -> None:
    standin.add_user("U0BOB", email="bob@acme.test", real_name="Bob Example")
    ann = client.users_info(user="U0STAFF")["user"]
    bob = client.users_info(user="U0BOB")["user"]
    with pytest.raises(SlackApiError) as unknown:
        client.users_info(user="U0NOBODY")

    assert ann["id"] == "U0STAFF" and ann["team_id"] == TEAM_ID
    assert ann["profile"]["email"] == "ann@acme.test"
    assert ann["real_name"] == "Ann Example" and ann["is_bot"] is False
    assert ann["deleted"] is False
    assert bob["profile"]["email"] == "bob@acme.test"
    assert unknown.value.response["error"] == "user_not_found"


def test_conversations_members_paginates(standin: SlackStandIn, client: WebClient) -> None:
    everyone = ["U01", "U02", "U03", "U04", "U05"]
    standin.set_members("C0ALL", everyone)
    pages, cursor = [], None
    while True:
        response = client.conversations_members(channel="C0ALL", limit=2, cursor=cursor)
        pages.append(response["members"])
        cursor = response["response_metadata"]["next_cursor"]
        if not cursor:
            break

    assert pages == [["U01", "U02"], ["U03", "U04"], ["U05"]]
    assert client.conversations_members(channel="C0ALL")["members"] == everyone
    with pytest.raises(SlackApiError) as unknown:
        client.conversations_members(channel="C0NOWHERE")
    assert unknown.value.response["error"] == "channel_not_found"


def test_tokens_are_checked(standin: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=standin.url).auth_test()
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=standin.url).auth_test()

    assert wrong.value.response["error"] == "invalid_auth"
    assert missing.value.response["error"] == "not_authed"
    assert [c.ok for c in standin.calls("auth.test")] == [False, False]


def test_get_with_a_token_in_the_query_string(standin: SlackStandIn) -> None:
    url = f"{standin.url}users.info?user=U0STAFF&token={BOT_TOKEN}"
    with urllib.request.urlopen(url, timeout=5) as response:
        answer = json.load(response)

    assert answer["ok"] is True and answer["user"]["id"] == "U0STAFF"
    assert standin.calls("users.info")[0].args == {"user": "U0STAFF"}


def test_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as unknown:
        client.api_call("chat.teleport")

    assert unknown.value.response["error"] == "unknown_method"


def test_rate_limit_answers_429_with_retry_after(
    standin: SlackStandIn, client: WebClient
) -> None:
    standin.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="D0DM", text="too fast")
    client.chat_postMessage(channel="D0DM", text="later")

    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.response["error"] == "ratelimited"
    assert [(c.status, c.ok) for c in standin.calls()] == [(429, False), (200, True)]
    assert [p["text"] for p in standin.posts()] == ["later"]


def test_rate_limit_retry_handler_waits_and_succeeds(standin: SlackStandIn) -> None:
    client = WebClient(
        token=BOT_TOKEN, base_url=standin.url, retry_handlers=[RateLimitErrorRetryHandler()]
    )
    standin.rate_limit("chat.postMessage", retry_after=1)

    client.chat_postMessage(channel="D0DM", text="eventually")

    limited, retried = standin.calls("chat.postMessage")
    assert (limited.status, retried.status) == (429, 200)
    assert 1.0 <= retried.at - limited.at < 3.0  # slack_sdk sleeps Retry-After + random()
    assert [p["text"] for p in standin.posts()] == ["eventually"]


def test_fail_injects_an_error_once(standin: SlackStandIn, client: WebClient) -> None:
    standin.fail("users.info", "fatal_error")
    with pytest.raises(SlackApiError) as failed:
        client.users_info(user="U0STAFF")

    assert failed.value.response.status_code == 200
    assert failed.value.response["error"] == "fatal_error"
    assert client.users_info(user="U0STAFF")["ok"] is True


def test_reset_forgets_calls_and_faults_but_keeps_users(
    standin: SlackStandIn, client: WebClient
) -> None:
    client.chat_postMessage(channel="D0DM", text="before")
    standin.fail("users.info")
    standin.reset()

    assert standin.calls() == [] and standin.posts() == []
    assert client.users_info(user="U0STAFF")["ok"] is True


def test_wait_for_returns_the_value_or_lists_the_calls(
    standin: SlackStandIn, client: WebClient
) -> None:
    threading.Timer(0.1, lambda: client.chat_postMessage(channel="D0DM", text="hi")).start()
    [post] = standin.wait_for(lambda: standin.posts("D0DM"), timeout=5)
    assert post["text"] == "hi"

    with pytest.raises(AssertionError, match=r"chat\.postMessage -> 200 ok=True"):
        standin.wait_for(lambda: standin.posts("C0NEVER"), timeout=0.1)


def test_signed_headers_verify_with_slack_sdk() -> None:
    body = json.dumps(slack_standin.event_callback(slack_standin.message_event("hello"))).encode()
    headers = slack_standin.signed_headers(body)

    assert SignatureVerifier(SIGNING_SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    assert not SignatureVerifier(SIGNING_SECRET).is_valid_request(body + b" ", headers)
    stale = slack_standin.signed_headers(body, timestamp=int(time.time()) - 600)
    assert not SignatureVerifier(SIGNING_SECRET).is_valid_request(body, stale)


def test_event_builders() -> None:
    dm = slack_standin.message_event("hi", ts="1764660000.000100",
                                     thread_ts="1764660000.000001", bot_id="B1")
    mention = slack_standin.app_mention_event("<@U0BOT> hi", user="U0STAFF",
                                              channel="C0PRIVACY", ts="1.2")
    envelope = slack_standin.event_callback(dm, event_id="Ev0001", event_time=1764660000)

    assert dm == {
        "type": "message", "user": "U0STAFF", "text": "hi", "ts": "1764660000.000100",
        "channel": "D0DM", "channel_type": "im", "event_ts": "1764660000.000100",
        "team": TEAM_ID, "thread_ts": "1764660000.000001", "bot_id": "B1",
    }
    assert mention["type"] == "app_mention" and "channel_type" not in mention
    assert envelope["type"] == "event_callback" and envelope["event"] is dm
    assert envelope["event_id"] == "Ev0001" and envelope["event_time"] == 1764660000
    assert envelope["api_app_id"] == "A0STANDIN"
    assert envelope["authorizations"] == [
        {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}
    ]
    fresh = {slack_standin.event_callback({})["event_id"] for _ in range(50)}
    assert len(fresh) == 50 and all(e.startswith("Ev") for e in fresh)


def test_next_ts_is_unique_and_increasing_across_threads() -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(200):
            ts = slack_standin.next_ts()
            with lock:
                seen.append(ts)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(seen)) == 800
    ordered = [slack_standin.next_ts() for _ in range(100)]
    assert ordered == sorted(ordered, key=float) and len(set(ordered)) == 100
    assert all(len(ts.split(".")[1]) == 6 for ts in ordered)
