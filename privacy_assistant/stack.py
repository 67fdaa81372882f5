"""Start the whole assistant in the foreground: backend, action server, Rasa server.

`make run` calls `privacy-assistant run`. Each process runs in its own process group; the
supervisor waits until each answers its health check, prints the URLs, streams the logs
with a name prefix, and on Ctrl-C (or when any process dies) stops every process group,
first with SIGTERM, then SIGKILL, so no process is left behind. The end-to-end tests use
the same `Stack` on free loopback ports.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TextIO

from privacy_assistant.config import GENERATED_SECRETS, PROJECT_ROOT, StackSettings, resolve
from privacy_assistant.rasa_auth import rasa_api_headers

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"


class StackError(RuntimeError):
    """A process of the stack failed to start or died."""


@dataclass
class Service:
    name: str
    argv: list[str]
    health_url: str
    ready_timeout: float
    extra_env: dict[str, str] = field(default_factory=dict)
    # Variables this process must not see (the staff token: only the backend holds it).
    hidden_env: frozenset[str] = frozenset()
    # The headers of each health check (built per check: they may hold a short-lived token).
    health_headers: Callable[[], dict[str, str]] = dict
    process: subprocess.Popen[str] | None = None
    log_tail: list[str] = field(default_factory=list)


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http_ok(url: str, headers: Mapping[str, str] | None = None, timeout: float = 2.0) -> bool:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


# The staff's credential: the backend checks it; the action server and Rasa never get it.
STAFF_ONLY = frozenset({"PRIVACY_STAFF_TOKEN"})


def build_services(env: Mapping[str, str]) -> list[Service]:
    """The three processes, in start order, with the commands and health checks they need."""
    python = sys.executable
    return [
        Service(
            name="backend",
            argv=[
                python, "-m", "privacy_backend.cli", "serve",
                "--host", env["BACKEND_HOST"], "--port", env["BACKEND_PORT"],
            ],
            health_url=f"{env['BACKEND_URL']}/health",
            ready_timeout=60,
        ),
        Service(
            name="actions",
            argv=[
                python, "-m", "rasa_sdk", "--actions", "actions",
                "--port", env["ACTION_SERVER_PORT"],
            ],
            # rasa-sdk 3.6 takes its listening address from SANIC_HOST only.
            extra_env={"SANIC_HOST": env["ACTION_SERVER_HOST"]},
            hidden_env=STAFF_ONLY,
            health_url=f"http://{env['ACTION_SERVER_HOST']}:{env['ACTION_SERVER_PORT']}/health",
            ready_timeout=60,
        ),
        Service(
            name="rasa",
            # scripts/rasa_run.py passes the API token to Rasa from the environment, so it
            # never appears on a command line.
            argv=[
                str(RASA_PYTHON), str(PROJECT_ROOT / "scripts" / "rasa_run.py"),
                "--model", env["RASA_MODEL"],
                "--interface", env["RASA_HOST"], "--port", env["RASA_PORT"],
                "--endpoints", str(PROJECT_ROOT / "endpoints.yml"),
                "--credentials", str(PROJECT_ROOT / "credentials.yml"),
                "--cors", env["RASA_CORS"],
            ],
            # /status answers once the model is loaded; it takes a JWT signed with the API
            # secret (privacy_assistant/rasa_auth.py), in a header.
            health_url=f"{env['RASA_URL']}/status",
            health_headers=partial(rasa_api_headers, env["RASA_API_TOKEN"],
                                   username="supervisor"),
            ready_timeout=240,
            hidden_env=STAFF_ONLY,
        ),
    ]


class Stack:
    """The running processes of the assistant."""

    def __init__(
        self,
        env: Mapping[str, str],
        output: TextIO | None = None,
        services: list[Service] | None = None,
    ) -> None:
        self.env = dict(env)
        self.output = output
        self.services = services if services is not None else build_services(self.env)
        # Seconds from start() until each service answered its health check.
        self.ready_after: dict[str, float] = {}
        self._lock = threading.Lock()

    # -- starting -------------------------------------------------------------------------
    def start(self) -> None:
        """Start every service and wait until all are healthy; stop all on any failure."""
        Path(self.env["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        try:
            for service in self.services:
                self._spawn(service)
            for service in self.services:
                self._wait_ready(service)
                self.ready_after[service.name] = round(time.monotonic() - started, 1)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, service: Service) -> None:
        service.process = subprocess.Popen(
            service.argv,
            cwd=PROJECT_ROOT,
            env={**{k: v for k, v in self.env.items() if k not in service.hidden_env},
                 **service.extra_env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, args=(service,), daemon=True).start()

    def _pump(self, service: Service) -> None:
        assert service.process is not None and service.process.stdout is not None
        for line in service.process.stdout:
            service.log_tail.append(line)
            del service.log_tail[:-200]
            if self.output is not None:
                with self._lock:
                    self.output.write(f"{service.name:>8} | {line}")
                    self.output.flush()

    def _wait_ready(self, service: Service) -> None:
        deadline = time.monotonic() + service.ready_timeout
        while time.monotonic() < deadline:
            assert service.process is not None
            if service.process.poll() is not None:
                raise StackError(
                    f"{service.name} exited with code {service.process.returncode} while "
                    f"starting. Its last lines:\n{''.join(service.log_tail[-30:])}"
                )
            if _http_ok(service.health_url, service.health_headers()):
                return
            time.sleep(0.25)
        raise StackError(
            f"{service.name} was not ready after {service.ready_timeout:.0f} s. "
            f"Its last lines:\n{''.join(service.log_tail[-30:])}"
        )

    @contextmanager
    def stopped(self, name: str) -> Iterator[None]:
        """One service down for the duration of the block (an outage), then started again
        and healthy before the block's caller goes on."""
        service = next(s for s in self.services if s.name == name)
        self._stop_services([service])
        try:
            yield
        finally:
            self._spawn(service)
            self._wait_ready(service)

    def restart(self, name: str) -> None:
        """Stop one service and start it again (what a crash and a restart look like)."""
        with self.stopped(name):
            pass

    # -- running --------------------------------------------------------------------------
    def dead_service(self) -> Service | None:
        for service in self.services:
            if service.process is not None and service.process.poll() is not None:
                return service
        return None

    def secret_source(self, name: str) -> str:
        """Where an operator finds a secret without it being printed: its file in `var/`
        when it was generated there, else the variable that gave it."""
        path = Path(self.env["VAR_DIR"]) / GENERATED_SECRETS[name]
        try:
            if path.read_text(encoding="utf-8").strip() == self.env[name]:
                return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(
                    PROJECT_ROOT) else str(path)
        except OSError:
            pass
        return f"${name}"

    def urls(self) -> dict[str, str]:
        rest_token = self.secret_source("REST_CHANNEL_TOKEN")
        api_secret = self.secret_source("RASA_API_TOKEN")
        slack = ({"Slack events and buttons (the app's Request URL, via your public https "
                  "address)": f"{self.env['RASA_URL']}/webhooks/slack/webhook"}
                 if self.env.get("SLACK_BOT_TOKEN", "").strip() else {})
        return {
            f"Chat over REST (token in {rest_token})":
                f"{self.env['RASA_URL']}/webhooks/rest/webhook",
            "Chat over socket.io": f"{self.env['RASA_URL']}/socket.io",
            **slack,
            f"Rasa HTTP API (JWT secret in {api_secret})": self.env["RASA_URL"],
            "Demo page with the chat widget": f"{self.env['BACKEND_URL']}/",
            "Agent console": f"{self.env['BACKEND_URL']}/console",
            "Backend API docs": f"{self.env['BACKEND_URL']}/docs",
            "Backend health": f"{self.env['BACKEND_URL']}/health",
            "Action server": self.env["ACTION_SERVER_URL"],
        }

    # -- stopping -------------------------------------------------------------------------
    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM every process group (last started first), then SIGKILL what remains."""
        self._stop_services(list(reversed(self.services)), grace)

    def _stop_services(self, services: list[Service], grace: float = 10.0) -> None:
        running = [s for s in services if s.process is not None]
        for service in running:
            _signal_group(service, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for service in running:
            assert service.process is not None
            try:
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            # The group may hold children of the main process: kill whatever is left.
            _signal_group(service, signal.SIGKILL)
            service.process.wait()

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(service: Service, sig: signal.Signals) -> None:
    assert service.process is not None
    try:
        os.killpg(service.process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run(
    env: Mapping[str, str], out: TextIO = sys.stdout, services: list[Service] | None = None
) -> int:
    """Run the stack in the foreground until Ctrl-C or until a process dies."""
    stack = Stack(env, output=out, services=services)
    stopping = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print("Starting the backend, the action server and the Rasa server...", file=out, flush=True)
    try:
        stack.start()
    except StackError as error:
        print(f"\nCould not start the assistant: {error}", file=out, flush=True)
        return 1
    print("\nThe privacy assistant is ready:", file=out)
    urls = stack.urls()
    width = max(len(label) for label in urls)
    for label, url in urls.items():
        print(f"  {label:<{width}}  {url}", file=out)
    token = stack.secret_source("REST_CHANNEL_TOKEN")
    token = token if token.startswith("$") else f"$(cat {token})"
    print(
        f'\nTry: curl -s -X POST -H "Authorization: Bearer {token}" '
        '-H "Content-Type: application/json" '
        f"-d '{{\"sender\": \"me\", \"message\": \"what data do you collect?\"}}' "
        f"{env['RASA_URL']}/webhooks/rest/webhook\nPress Ctrl-C to stop.\n",
        file=out,
        flush=True,
    )
    code = 0
    while not stopping.wait(0.5):
        dead = stack.dead_service()
        if dead is not None:
            assert dead.process is not None
            print(f"\n{dead.name} stopped (exit code {dead.process.returncode}).", file=out)
            code = 1
            break
    print("\nStopping...", file=out, flush=True)
    stack.stop()
    print("All processes stopped.", file=out, flush=True)
    return code


def main(argv: list[str] | None = None, run_stack: Callable[..., int] = run) -> None:
    parser = argparse.ArgumentParser(prog="privacy-assistant", description=__doc__)
    parser.add_argument("command", choices=["run", "env"], help="run the stack, or print config")
    args = parser.parse_args(argv)
    env = resolve()
    if args.command == "env":
        for key in sorted(_DOCUMENTED & set(env)):
            value = "<set>" if key in _SECRETS else _hide_password(env[key])
            print(f"{key}={value}")
        return
    sys.exit(run_stack(env))


def _hide_password(value: str) -> str:
    """`postgresql://rasa:secret@db/rasa` → `postgresql://rasa:***@db/rasa`."""
    return re.sub(r"(://[^:/@]+:)[^/]*@", r"\1***@", value)


# What `privacy-assistant env` prints: the supervisor's settings and where the backend keeps
# its data; secrets only as "<set>".
_DOCUMENTED = {name.upper() for name in StackSettings.model_fields} | {
    "BACKEND_URL", "RASA_URL", "SITE_URL", "ACTION_SERVER_URL", "DATABASE_URL",
    "MAIL_BACKEND", "MAIL_DIR", "SMTP_PASSWORD"}
_SECRETS = {*GENERATED_SECRETS, "SMTP_PASSWORD"}


if __name__ == "__main__":
    main()
