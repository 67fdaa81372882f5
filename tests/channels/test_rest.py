"""The REST channel, tried from the attacker's side: without the channel's bearer token a
request is refused with 401 and nothing reaches the agent.

The channel is the one credentials.yml names, built from its credentials and registered by
Rasa's own `register`, served by Sanic in the Rasa environment (`rest_channel_server.py`)
and called over real HTTP. The stand-in agent records every message it is handed, so
"nothing processed" is what the agent saw. The whole stack's version of this test, with
the real tracker, is in tests/e2e/test_rest_conversation.py.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import PROJECT_ROOT, free_port

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
SERVER = Path(__file__).with_name("rest_channel_server.py")
TOKEN = "rest-channel-token-for-tests-0123456789"


def _start(port: int, **env: str) -> subprocess.Popen[str]:
    if not RASA_PYTHON.is_file():
        pytest.fail(f"{RASA_PYTHON} is missing: run `make install`")
    base = {k: v for k, v in os.environ.items() if k != "REST_CHANNEL_TOKEN"}
    # credentials.yml names the other channels' settings too (socket.io's secret, Slack's);
    # the server reads the file whole, so each needs a value (those channels are not started).
    base.setdefault("WIDGET_SESSION_SECRET", "widget-session-secret-for-tests-0123456789")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "SLACK_TEAM_ID",
                 "SLACK_PRIVACY_CHANNEL", "REDIS_URL", "BACKEND_URL", "PRIVACY_API_TOKEN"):
        base.setdefault(name, "")
    return subprocess.Popen([str(RASA_PYTHON), str(SERVER), str(port)], env={**base, **env},
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    port = free_port()
    process = _start(port, REST_CHANNEL_TOKEN=TOKEN)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"the channel's server exited:\n{process.communicate()[0]}")
            try:
                # The health route stays open.
                if requests.get(f"{base}/webhooks/rest/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the channel's server did not start"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


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
