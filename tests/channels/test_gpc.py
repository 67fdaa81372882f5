"""Global Privacy Control in the widget's socket.io channel: a browser that sends `Sec-GPC: 1`
on the handshake, or `gpc: true` in its session request, has the opt-out of sale and sharing
recorded for its conversation (source `gpc`) by the real backend over real HTTP; any other
header value records nothing; and with the backend hanging the chat goes on at once.

The channel is served from the Rasa environment (`socketio_channel_server.py`, with the echo
agent), pointed at a backend started with `privacy-backend serve` on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.backend.support import wait_until_healthy
from tests.channels.launch import served
from tests.channels.test_socketio import SERVER, Widget, _wait
from tests.conftest import PROJECT_ROOT, free_port

TOKEN = "gpc-test-assistant-token-0123456789abcdef"
STAFF = "gpc-test-staff-token-0123456789abcdefghij"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    var = tmp_path_factory.mktemp("var")
    port = free_port()
    env = {**os.environ, "VAR_DIR": str(var), "PRIVACY_API_TOKEN": TOKEN,
           "PRIVACY_STAFF_TOKEN": STAFF, "DATABASE_URL": f"sqlite:///{var / 'db.sqlite'}",
           "TRACKER_STORE_URL": "", "TRACKER_STORE_DB": str(var / "tracker.db"),
           "REDIS_URL": ""}
    server = subprocess.Popen(
        [sys.executable, "-m", "privacy_backend.cli", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _channel(backend_url: str) -> Iterator[str]:
    with served(SERVER.name, RASA_PROXIES_COUNT="1", BACKEND_URL=backend_url,
                PRIVACY_API_TOKEN=TOKEN, WIDGET_SESSIONS_PER_IP_PER_MINUTE="0",
                WIDGET_MESSAGES_PER_IP_PER_MINUTE="0") as base:
        yield base


@pytest.fixture(scope="module")
def channel(backend: str) -> Iterator[str]:
    yield from _channel(backend)


@pytest.fixture(scope="module")
def channel_without_backend() -> Iterator[str]:
    """The backend hangs: its port takes connections and never answers."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)
        yield from _channel(f"http://127.0.0.1:{hung.getsockname()[1]}")


def _opt_outs(backend: str) -> dict[str, dict[str, Any]]:
    listed = httpx.get(f"{backend}/api/v1/opt-outs", headers={
        "Authorization": f"Bearer {STAFF}"}, timeout=10).json()
    return {o["conversation_id"]: o for o in listed}


def test_the_signal_is_recorded_for_the_conversation(channel: str, backend: str) -> None:
    quiet = [Widget(channel, f"10.9.0.{i}", headers) for i, headers in enumerate(
        [None, {"Sec-GPC": "0"}, {"Sec-GPC": "true"}, {"Sec-GPC": "yes"}], start=1)]
    header = Widget(channel, "10.9.0.10", {"Sec-GPC": "1"})
    script = Widget(channel, "10.9.0.11")
    try:
        unsignalled = [w.session() for w in quiet] + [quiet[0].session(gpc=False),
                                                      quiet[1].session(gpc="true")]
        assert [c["gpc"] for c in unsignalled] == [False] * 6
        by_header = header.session()
        by_script = script.session(gpc=True)
        assert by_header["gpc"] is by_script["gpc"] is True
        _wait(lambda: {by_header["session_id"], by_script["session_id"]} <= set(
            _opt_outs(backend)))
        recorded = _opt_outs(backend)
        for confirmed in (by_header, by_script):
            opt_out = recorded[confirmed["session_id"]]
            assert (opt_out["kind"], opt_out["source"], opt_out["email"]) == (
                "sale_sharing", "gpc", None)
        assert not {c["session_id"] for c in unsignalled} & set(recorded)
        # A reload resumes the conversation: the signal again, still one record.
        again = header.session(session_token=by_header["session_token"])
        assert again["session_id"] == by_header["session_id"]
        time.sleep(0.5)
        assert len(_opt_outs(backend)) == 2
    finally:
        for widget in [*quiet, header, script]:
            widget.close()


def test_the_chat_goes_on_when_the_backend_hangs(channel_without_backend: str) -> None:
    widget = Widget(channel_without_backend, "10.9.1.1", {"Sec-GPC": "1"})
    try:
        started = time.monotonic()
        confirmed = widget.session()
        assert confirmed["gpc"] is True
        widget.said_and_answered("hello")
        assert widget.bot[-1]["text"] == "echo: hello"
        assert time.monotonic() - started < 5
    finally:
        widget.close()
