"""The running service's access log names method, path and status, never the email in a
query string or the token in an unsubscribe link."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from privacy_backend.core.logs import redact_path
from tests.conftest import PROJECT_ROOT, free_port


def test_redact_path() -> None:
    assert redact_path("/api/v1/requests?email=a%40b.c&type=deletion") == "/api/v1/requests?…"
    assert redact_path("/unsubscribe/eyJhbGciOi.abc") == "/unsubscribe/…"
    assert redact_path("/health") == "/health"


def test_served_access_log_has_no_email_and_no_token(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "VAR_DIR": str(tmp_path), "PRIVACY_STAFF_TOKEN": "t0ken-for-this-test",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "LOG_LEVEL": "INFO"}
    server = subprocess.Popen(
        [sys.executable, "-m", "privacy_backend.cli", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        headers = {"Authorization": "Bearer t0ken-for-this-test"}
        got = httpx.get(f"{base}/api/v1/preferences",
                        params={"email": "secret.person@example.com"}, headers=headers)
        assert got.status_code == 200
        httpx.get(f"{base}/unsubscribe/SECRETTOKENVALUE123")
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert 'GET /api/v1/preferences?… HTTP/1.1" 200' in output
    assert "GET /unsubscribe/… HTTP/1.1" in output
    assert "secret.person" not in output and "SECRETTOKENVALUE123" not in output
    assert "t0ken-for-this-test" not in output
