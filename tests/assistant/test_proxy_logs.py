"""What the proxies in front of the assistant log, read from the side of someone who reads
their logs: never the token of a signed link (`/exports/<token>` opens a person's whole
package, `/unsubscribe/<token>` changes their choices) and never a query string.

HAProxy's configuration (deploy/haproxy.cfg, and the one privacy_assistant/haproxy.py writes
for `make run-scaled`) is read section by section; deploy/haproxy.cfg is also run, and the
lines it logs are read. The ingress-nginx controller logs each request line whole, so the
Ingress that routes the signed links turns its access log off."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from privacy_assistant.haproxy import haproxy_binary, haproxy_config
from tests.conftest import PROJECT_ROOT, free_port

HAPROXY = PROJECT_ROOT / "deploy" / "haproxy.cfg"
INGRESS = PROJECT_ROOT / "deploy" / "kubernetes" / "ingress.yaml"
# The public paths whose next segment is a credential.
SIGNED_LINKS = ("/unsubscribe", "/exports")
# Log-format fields that hold the URI, its path or its query (`%r` is the request line).
_URI_FIELDS = re.compile(r"%(\{[^}]*\})?(r|HU|HP|HPO|HQ)\b|%\[(path|pathq|url|query|base)\b")


def sections(config: str) -> dict[str, list[str]]:
    """Each section ("global", "frontend public", ...) and its lines, comments dropped."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for raw in config.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not line.strip():
            continue
        if not line[0].isspace():
            current = found.setdefault(" ".join(line.split()), [])
        else:
            current.append(line.strip())
    return found


def logging_problems(config: str) -> list[str]:
    """Why a frontend of `config` would log a signed link's token or a query (empty: it
    would not). A frontend logs when it, or the defaults, say `log`, and `log global` has a
    target in the global section."""
    parts = sections(config)
    has_target = any(line.startswith("log ") for line in parts.get("global", []))
    defaults = parts.get("defaults", [])
    problems = []
    for name, own in parts.items():
        if not name.startswith(("frontend ", "listen ")):
            continue
        lines = defaults + own
        logs = [line for line in lines if line.startswith("log ")]
        if "no log" in own or not any(line != "log global" or has_target for line in logs):
            continue
        if any(re.match(r"option (http|https)log\b", line) for line in lines):
            problems.append(f"{name}: `option httplog` logs the request line whole")
        formats = [line for line in own if line.startswith("log-format ")] or [
            line for line in defaults if line.startswith("log-format ")]
        if not formats:
            problems.append(f"{name}: logs without a log-format of its own")
        for line in formats:
            if _URI_FIELDS.search(line):
                problems.append(f"{name}: its log-format logs the URI: {line}")
            for var in re.findall(r"%\[var\((txn\.\w+)\)\]", line):
                problems += _variable_problems(name, own, var)
    return problems


def _variable_problems(name: str, lines: list[str], var: str) -> list[str]:
    """A logged variable must hold the bare path, then a fixed text for each signed link."""
    sets = [line for line in lines if line.startswith(f"http-request set-var({var}) ")]
    if not sets or sets[0] != f"http-request set-var({var}) path":
        return [f"{name}: {var} is not set from the bare path first"]
    problems = []
    for prefix in SIGNED_LINKS:
        cut = [line for line in sets[1:] if re.fullmatch(
            rf"http-request set-var\({re.escape(var)}\) str\([^)]*\) if "
            rf"\{{ path_(beg|reg)( -i)? \S*{re.escape(prefix[1:])} \}}", line)]
        if not cut:
            problems.append(f"{name}: {var} keeps the token of {prefix}/<token>")
    return problems


def test_the_checker_finds_a_logged_request_line() -> None:
    """What deploy/haproxy.cfg said before: `option httplog` in the defaults."""
    logged = HAPROXY.read_text("utf-8").replace("    log global\n",
                                                "    log global\n    option httplog\n", 1)
    assert logging_problems(logged)
    uncut = "\n".join(line for line in HAPROXY.read_text("utf-8").splitlines()
                      if "str(/exports/" not in line)
    assert any("/exports/<token>" in problem for problem in logging_problems(uncut))


def test_deploy_haproxy_logs_no_token_and_no_query() -> None:
    config = HAPROXY.read_text("utf-8")
    assert any(line.startswith("log ") for line in sections(config)["global"])  # it logs
    assert logging_problems(config) == []


def test_the_generated_haproxy_logs_no_token_and_no_query() -> None:
    config = haproxy_config("127.0.0.1", "5005", [("rasa-0", "127.0.0.1:5006")])
    assert logging_problems(config) == []


def _wait_for(port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"HAProxy did not listen on {port}")


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.mark.skipif(haproxy_binary() is None, reason="haproxy is not installed")
def test_deploy_haproxy_running_logs_the_path_without_the_token(tmp_path: Path) -> None:
    """deploy/haproxy.cfg on a loopback port, every replica replaced by one loopback server
    that answers 200."""
    replica = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=replica.serve_forever, daemon=True).start()
    port = free_port()
    config = HAPROXY.read_text("utf-8").replace("bind :8080", f"bind 127.0.0.1:{port}")
    config = re.sub(r"server-template (\S+) \d+ \S+ .*",
                    rf"server \1 127.0.0.1:{replica.server_address[1]}", config)
    path = tmp_path / "haproxy.cfg"
    path.write_text(config, "utf-8")
    binary = haproxy_binary()
    assert binary is not None
    proxy = subprocess.Popen([binary, "-db", "-f", str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(port)
        base = f"http://127.0.0.1:{port}"
        for url in ("/exports/SECRETEXPORTTOKEN?format=json", "/unsubscribe/SECRETUNSUB",
                    "/socket.io/?EIO=4&transport=polling&sid=SECRETSID", "/console"):
            httpx.get(base + url, timeout=10)
    finally:
        proxy.terminate()
        output = proxy.communicate(timeout=30)[0]
        replica.shutdown()
        replica.server_close()
    assert '"GET /exports/- HTTP/1.1"' in output and '"GET /unsubscribe/- HTTP/1.1"' in output
    assert '"GET /socket.io/ HTTP/1.1"' in output and '"GET /console HTTP/1.1"' in output
    for secret in ("SECRETEXPORTTOKEN", "SECRETUNSUB", "SECRETSID", "format=json"):
        assert secret not in output


def _ingresses() -> list[dict[str, Any]]:
    with INGRESS.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc and doc["kind"] == "Ingress"]


def test_the_ingress_does_not_log_the_signed_links() -> None:
    routed = set()
    for ingress in _ingresses():
        annotations = ingress["metadata"].get("annotations") or {}
        for rule in ingress["spec"]["rules"]:
            for entry in rule["http"]["paths"]:
                if entry["path"].rstrip("/") in SIGNED_LINKS:
                    routed.add(entry["path"].rstrip("/"))
                    assert annotations.get(
                        "nginx.ingress.kubernetes.io/enable-access-log") == "false", (
                        ingress["metadata"]["name"], entry["path"])
    assert routed == set(SIGNED_LINKS)  # both are still routed
