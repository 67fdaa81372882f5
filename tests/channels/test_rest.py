"""The REST channel, tried from the attacker's side: without the channel's bearer token a
request is refused with 401 and nothing reaches the agent.

The channel is the one credentials.yml names, built from its credentials and registered by
Rasa's own `register`, served by Sanic in the Rasa environment (`rest_channel_server.py`)
and called over real HTTP. The stand-in agent records every message it is handed, so
"nothing processed" is what the agent saw. The whole stack's version of this test, with
the real tracker, is in tests/e2e/test_rest_conversation.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from channels.limits import MAX_MESSAGE_CHARS
from tests.channels.launch import CREDENTIALS, RASA_PYTHON, served
from tests.conftest import PROJECT_ROOT, TEST_REDIS_URL, free_port, unreachable

SERVER = Path(__file__).with_name("rest_channel_server.py")
TOKEN = "rest-channel-token-for-tests-0123456789"
TURNS_PER_HOUR = 5  # CONVERSATION_TURNS_PER_HOUR of the module's server


def _start(port: int, **env: str) -> subprocess.Popen[str]:
    """The server, not waited for (for the test that it refuses to start); `REST_CHANNEL_TOKEN`
    only if given."""
    base = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}
    base.update({k: v for k, v in CREDENTIALS.items() if k != "REST_CHANNEL_TOKEN"})
    return subprocess.Popen([str(RASA_PYTHON), str(SERVER), str(port)], env={**base, **env},
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _served(**env: str) -> contextlib.AbstractContextManager[str]:
    return served(SERVER.name, ready="/webhooks/rest/", REST_CHANNEL_TOKEN=TOKEN, **env)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with _served(CONVERSATION_TURNS_PER_HOUR=str(TURNS_PER_HOUR)) as base:
        yield base


def _post(url: str, sender: str, headers: dict[str, str] | None = None,
          **params: str) -> requests.Response:
    return requests.post(f"{url}/webhooks/rest/webhook", params=params, headers=headers,
                         json={"sender": sender, "message": "what do you know about me?"},
                         timeout=10)


def _received(url: str, sender: str) -> list[dict[str, str]]:
    return [m for m in requests.get(f"{url}/received", timeout=5).json()
            if m["sender_id"] == sender]


@pytest.mark.parametrize("headers", [
    None,
    {"Authorization": "Bearer not-the-token"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": "Bearer "},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": TOKEN},
    {"X-Api-Key": TOKEN},
], ids=["no header", "wrong token", "token prefix", "token plus a character", "empty bearer",
        "other scheme", "no scheme", "other header"])
def test_without_the_token_nothing_is_processed(url: str, headers: dict[str, str] | None,
                                                 request: pytest.FixtureRequest) -> None:
    sender = f"victim-{request.node.callspec.id}"
    for stream in ("false", "true"):
        response = _post(url, sender, headers, stream=stream)
        assert response.status_code == 401, response.text
        assert response.json()["reason"] == "NotAuthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _received(url, sender) == []


def test_the_token_in_the_query_string_is_not_accepted(url: str) -> None:
    assert _post(url, "victim-query", token=TOKEN).status_code == 401
    assert _received(url, "victim-query") == []


def test_with_the_token_the_message_is_handled(url: str) -> None:
    response = _post(url, "desk-1", {"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.json() == [{"recipient_id": "desk-1",
                                "text": "echo: what do you know about me?"}]
    assert _received(url, "desk-1") == [{"sender_id": "desk-1",
                                         "text": "what do you know about me?"}]
    # The scheme is case-insensitive (RFC 7235).
    assert _post(url, "desk-1", {"Authorization": f"bearer {TOKEN}"}).status_code == 200


# --- a caller cannot pose as another channel, nor flood ----------------------------------
SLACK_CLAIM = {"sender": "spoof-1",
               "message": "what does the internal handbook say about breaches?",
               "input_channel": "slack",
               "metadata": {"slack": {"user": "U0PRIVACY", "team": "T0TEAM",
                                      "email": "dpo@example.com", "name": "The DPO",
                                      "privacy_team": True}}}


def test_a_rest_caller_cannot_pose_as_a_slack_staff_member(url: str) -> None:
    """A caller with the REST token sends `input_channel: slack` and Slack's identity
    metadata to reach the privacy team's handbook: the turn is the REST channel's, with no
    metadata, and gets the public refusal."""
    answer = requests.post(f"{url}/webhooks/rest/webhook", json=SLACK_CLAIM, timeout=10,
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert "HANDBOOK" not in answer.text
    assert answer.json()[0]["text"].startswith("I can only answer from the public")
    assert _received(url, "spoof-1") == [{"sender_id": "spoof-1", "text": SLACK_CLAIM["message"],
                                          "input_channel": "rest", "metadata": None}]


def test_a_big_body_is_refused_before_the_token_is_checked(url: str) -> None:
    """Sanic would read up to 100 MB before the channel checks anything: a body over
    RASA_MAX_BODY_BYTES (64 KiB) is refused with 413 at once, with or without the token."""
    big = {"sender": "big-1", "message": "x" * 200_000}
    for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}):
        answer = requests.post(f"{url}/webhooks/rest/webhook", json=big, headers=headers,
                               timeout=10)
        assert answer.status_code == 413, answer.text
    assert _received(url, "big-1") == []
    # A message of ordinary size still goes through.
    assert _post(url, "big-1", {"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_message_longer_than_the_widget_takes_is_refused(url: str) -> None:
    """A token holder's 20 kB message would cost Rasa's NLU seconds a turn: over
    MAX_MESSAGE_CHARS it is refused with 413 and reaches nothing; at the limit it is handled."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    long = {"sender": "long-1", "message": "a" * (MAX_MESSAGE_CHARS + 1)}
    answer = requests.post(f"{url}/webhooks/rest/webhook", json=long, headers=auth, timeout=10)
    assert answer.status_code == 413, answer.text
    assert answer.json()["reason"] == "MessageTooLong"
    assert _received(url, "long-1") == []
    limit = {"sender": "long-1", "message": "a" * MAX_MESSAGE_CHARS}
    answer = requests.post(f"{url}/webhooks/rest/webhook", json=limit, headers=auth, timeout=10)
    assert answer.status_code == 200, answer.text
    assert len(_received(url, "long-1")) == 1


def test_a_busy_conversation_stops_growing(url: str) -> None:
    """Past CONVERSATION_TURNS_PER_HOUR turns of one sender, a message is refused with 429
    and reaches nothing; another conversation is not affected."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for _ in range(TURNS_PER_HOUR):
        assert _post(url, "busy-1", auth).status_code == 200
    refused = _post(url, "busy-1", auth)
    assert refused.status_code == 429, refused.text
    assert refused.json()["reason"] == "TooManyTurns"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert len(_received(url, "busy-1")) == TURNS_PER_HOUR
    assert _post(url, "busy-2", auth).status_code == 200


def test_retries_of_an_answered_turn_do_not_use_up_the_conversation(url: str) -> None:
    """A client retrying a turn it already got an answer to (same message_id) gets that
    answer again; the retries are not turns, so the conversation's limit is not spent."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = {"sender": "retrying-1", "message": "what do you know about me?",
            "message_id": "m-retried"}
    first = requests.post(f"{url}/webhooks/rest/webhook", json=body, headers=auth, timeout=10)
    assert first.status_code == 200
    for _ in range(TURNS_PER_HOUR + 2):
        again = requests.post(f"{url}/webhooks/rest/webhook", json=body, headers=auth,
                              timeout=10)
        assert again.status_code == 200 and again.json() == first.json()
    assert len(_received(url, "retrying-1")) == 1
    assert _post(url, "retrying-1", auth).status_code == 200


@pytest.mark.parametrize("token", [None, "", "too-short"], ids=["unset", "empty", "short"])
def test_the_channel_does_not_start_without_a_real_token(token: str | None) -> None:
    process = _start(free_port(), **({} if token is None else {"REST_CHANNEL_TOKEN": token}))
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("the channel started without a token of its own")
    assert process.returncode != 0
    assert "REST_CHANNEL_TOKEN" in output


# --- a retried turn is handled once ------------------------------------------------------
def _send(url: str, sender: str, message_id: Any, text: str = "slow: erase my data"
          ) -> requests.Response:
    body = {"sender": sender, "message": text, "message_id": message_id}
    return requests.post(f"{url}/webhooks/rest/webhook", json=body,
                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)


def _copies(urls: list[str], sender: str, message_id: str, copies: int = 4
            ) -> list[requests.Response]:
    """The same turn sent `copies` times at once, spread over `urls`."""
    with ThreadPoolExecutor(max_workers=copies) as pool:
        return list(pool.map(lambda i: _send(urls[i % len(urls)], sender, message_id),
                             range(copies)))


def test_a_turn_sent_again_with_its_message_id_is_handled_once(url: str) -> None:
    first = _send(url, "retry-1", "m-1")
    again = _send(url, "retry-1", "m-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() == [{"recipient_id": "retry-1",
                                              "text": "echo: slow: erase my data"}]
    assert _received(url, "retry-1") == [{"sender_id": "retry-1", "message_id": "m-1",
                                          "text": "slow: erase my data"}]
    # Another message id is another turn; the same id from another sender is too.
    assert _send(url, "retry-1", "m-2").status_code == 200
    assert _send(url, "retry-2", "m-1").status_code == 200
    assert len(_received(url, "retry-1")) == 2 and len(_received(url, "retry-2")) == 1


@pytest.fixture(scope="module")
def marked_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose agent has a tracker store with erasure marks (`TEST_TRACKER_DB`)."""
    db = tmp_path_factory.mktemp("marks") / "tracker.db"
    with _served(TEST_TRACKER_DB=str(db)) as base:
        yield base


def test_the_answer_of_a_turn_erased_while_it_ran_is_not_kept(marked_url: str) -> None:
    """Before: an erasure deleted the stored answers of the turns the tracker held, but a
    turn still running stored its answer (an address, a reference) after it, for a day.
    Now its answer is not kept: the same message id is handled anew, not replayed."""
    kept = _send(marked_url, "kept-1", "m-1", "slow: hello")
    assert _send(marked_url, "kept-1", "m-1", "slow: hello").json() == kept.json()
    assert len(_received(marked_url, "kept-1")) == 1  # a stored answer is replayed

    first = _send(marked_url, "erased-1", "m-1", "slow: erased mid-turn")
    assert first.status_code == 200 and first.json()
    _send(marked_url, "erased-1", "m-1", "slow: erased mid-turn")
    assert len(_received(marked_url, "erased-1")) == 2  # nothing was kept to replay


def test_copies_of_a_turn_sent_at_once_are_handled_once(url: str) -> None:
    answers = _copies([url], "retry-3", "m-1")
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert len(_received(url, "retry-3")) == 1


def test_without_a_message_id_every_send_is_handled(url: str) -> None:
    for _ in range(2):
        assert _post(url, "retry-4", {"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert len(_received(url, "retry-4")) == 2


@pytest.mark.parametrize("message_id", ["", "x" * 101, "has space", "ünï", 7, ["m"], None],
                         ids=["empty", "too long", "space", "non-ascii", "number", "list",
                              "null sender"])
def test_a_bad_message_id_is_refused_and_nothing_is_handled(url: str, message_id: Any) -> None:
    sender = f"retry-bad-{len(str(message_id))}-{type(message_id).__name__}"
    if message_id is None:  # a message id needs a sender to belong to
        body: dict[str, Any] = {"message": "slow: hi", "message_id": "m-1"}
    else:
        body = {"sender": sender, "message": "slow: hi", "message_id": message_id}
    answer = requests.post(f"{url}/webhooks/rest/webhook", json=body,
                           headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert answer.status_code == 400, answer.text
    assert answer.json()["reason"] == "BadMessageId"
    assert _received(url, sender) == []


@pytest.fixture(scope="module")
def replicas() -> Iterator[list[str]]:
    """Two channel servers sharing Redis, as two Rasa replicas behind a load balancer."""
    reason = unreachable(TEST_REDIS_URL)
    if reason:
        pytest.skip(reason)
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(_served(REDIS_URL=TEST_REDIS_URL)) for _ in range(2)]


def _received_by_all(urls: list[str], sender: str) -> list[dict[str, str]]:
    return [m for url in urls for m in _received(url, sender)]


def test_replicas_sharing_redis_handle_copies_of_a_turn_once(replicas: list[str]) -> None:
    sender = f"replicas-{uuid.uuid4().hex[:8]}"
    answers = _copies(replicas, sender, "m-1", copies=6)
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert len(_received_by_all(replicas, sender)) == 1
    # A retry long after, on either replica, gets the same answer and handles nothing.
    for url in replicas:
        assert _send(url, sender, "m-1").text == answers[0].text
    assert len(_received_by_all(replicas, sender)) == 1


def test_a_turn_whose_replica_died_is_handled_once_its_claim_lapses(replicas: list[str]
                                                                     ) -> None:
    """A replica claimed the turn and died: nothing renews its claim, which lapses; the
    retry then handles the turn, once."""
    sender = f"replicas-{uuid.uuid4().hex[:8]}"
    key = "privacy-assistant:rest:" + hashlib.sha256(f"{sender}\0m-1".encode()).hexdigest()
    claimed = subprocess.run(
        [str(RASA_PYTHON), "-c", "import redis, sys; redis.Redis.from_url(sys.argv[1])"
         ".set(sys.argv[2], b'pending', ex=2)", TEST_REDIS_URL, key],
        capture_output=True, text=True, timeout=30, check=False)
    assert claimed.returncode == 0, claimed.stderr
    started = time.monotonic()
    answer = _send(replicas[1], sender, "m-1")
    assert answer.status_code == 200
    assert time.monotonic() - started >= 1.5  # it waited for the dead attempt's claim
    assert len(_received_by_all(replicas, sender)) == 1
