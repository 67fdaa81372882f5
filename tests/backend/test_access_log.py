"""The running service's access log names method, path and status, never the email in a
query string or the credential in a path: the token of an unsubscribe or export link, a
confirmed code's id, a conversation's id."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from privacy_backend.core.logs import redact_path
from tests.backend.support import wait_until_healthy
from tests.conftest import PROJECT_ROOT, free_port


def test_redact_path() -> None:
    assert redact_path("/api/v1/requests?email=a%40b.c&type=deletion") == "/api/v1/requests?…"
    assert redact_path("/unsubscribe/eyJhbGciOi.abc") == "/unsubscribe/…"
    assert redact_path("/health") == "/health"
    assert redact_path("/exports/gAAAAABn.x-y_z?format=json") == "/exports/…?…"
    assert redact_path("//exports/gAAAAABn") == "//exports/…"
    assert redact_path("/api/v1/verifications/0b9c1d2e/confirm") == (
        "/api/v1/verifications/…/confirm")
    assert redact_path("/api/v1/conversations/visitor-42/erase") == (
        "/api/v1/conversations/…/erase")
    assert redact_path("/api/v1/requests/PR-2222-2222") == "/api/v1/requests/PR-2222-2222"


def test_served_access_log_has_no_email_and_no_token(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "VAR_DIR": str(tmp_path), "PRIVACY_STAFF_TOKEN": "t0ken-for-this-test",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "LOG_LEVEL": "INFO"}
    server = subprocess.Popen(
        [sys.executable, "-m", "privacy_backend.cli", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base)
        headers = {"Authorization": "Bearer t0ken-for-this-test"}
        got = httpx.get(f"{base}/api/v1/preferences",
                        params={"email": "secret.person@example.com"}, headers=headers)
        assert got.status_code == 200
        httpx.get(f"{base}/unsubscribe/SECRETTOKENVALUE123")
        # An export link is the credential to a person's whole package (a made-up one is
        # refused, but it is logged on the same line as a real one would be).
        assert httpx.get(f"{base}/exports/SECRETEXPORTTOKEN456").status_code == 403
        httpx.get(f"{base}/exports/SECRETEXPORTTOKEN789", params={"format": "json"})
        httpx.post(f"{base}/api/v1/verifications/SECRETVERIFICATION0/confirm",
                   headers=headers, json={"code": "000000"})
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert 'GET /api/v1/preferences?… HTTP/1.1" 200' in output
    assert "GET /unsubscribe/… HTTP/1.1" in output
    assert 'GET /exports/… HTTP/1.1" 403' in output
    assert "GET /exports/…?… HTTP/1.1" in output
    assert "POST /api/v1/verifications/…/confirm HTTP/1.1" in output
    assert "secret.person" not in output and "SECRETTOKENVALUE123" not in output
    for token in ("SECRETEXPORTTOKEN456", "SECRETEXPORTTOKEN789", "SECRETVERIFICATION0"):
        assert token not in output
    assert "t0ken-for-this-test" not in output
