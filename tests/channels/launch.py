"""Starting a channel test server (`*_channel_server.py`, run with the Rasa environment's
Python) on a free port and waiting until it answers: what the channel tests share.

credentials.yml names every channel's settings, and a server reads the file whole, so each
setting it names gets a value (empty unless the test gives one). The server's output goes
to a file, shown when it exits early (a pipe nobody reads could fill and stall it).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.conftest import PROJECT_ROOT, free_port

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
HERE = Path(__file__).parent
# What credentials.yml reads from the environment, for the channels a server does not start.
CREDENTIALS = {
    "WIDGET_SESSION_SECRET": "widget-session-secret-for-tests-0123456789",
    "REST_CHANNEL_TOKEN": "rest-channel-token-for-tests-0123456789",
    **{name: "" for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL",
                             "SLACK_TEAM_ID", "SLACK_PRIVACY_CHANNEL", "REDIS_URL",
                             "BACKEND_URL", "PRIVACY_API_TOKEN")},
}


@contextmanager
def served(script: str, ready: str = "/received", **env: str) -> Iterator[str]:
    """The base URL of `script` (in tests/channels/) serving on a free port with `env` over
    this environment (the channels' settings it names replaced), until the block ends."""
    if not RASA_PYTHON.is_file():
        pytest.fail(f"{RASA_PYTHON} is missing: run `make install`")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}
    environment.update({**CREDENTIALS, **env})
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen([str(RASA_PYTHON), str(HERE / script), str(port)],
                                   env=environment, cwd=PROJECT_ROOT, stdout=output,
                                   stderr=subprocess.STDOUT, text=True)
        try:
            _wait_ready(base + ready, process, output)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)


def _wait_ready(url: str, process: subprocess.Popen[str], output: object) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            output.seek(0)  # type: ignore[attr-defined]
            pytest.fail(f"the channel's server exited:\n{output.read()}")  # type: ignore[attr-defined]
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "the channel's server did not start"
        time.sleep(0.2)
