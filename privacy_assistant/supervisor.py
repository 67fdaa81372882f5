"""The running stack: the processes in start order (`build_services`), and `Stack`, which
starts them, waits for their health checks, streams their logs, takes one down for a test's
outage, and stops them all.

Each process runs in its own process group; stopping sends SIGTERM to every group, then
SIGKILL, so no process is left behind, not even a grandchild. The end-to-end tests and the
benchmarks use the same `Stack` on free loopback ports."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from privacy_assistant.config import GENERATED_SECRETS, PROJECT_ROOT
from privacy_assistant.processes import (
    Service,
    StackError,
    actions_service,
    backend_service,
    http_ok,
    rasa_service,
)
from privacy_assistant.scaled import scaled_services


def build_services(env: Mapping[str, str], replicas: int = 1) -> list[Service]:
    """The processes in start order, with the commands and health checks they need: the
    backend, then an action server and a Rasa server (with `replicas` > 1, that many of each
    and HAProxy in front of the Rasa servers)."""
    if replicas > 1:
        return scaled_services(env, replicas)
    return [backend_service(env), actions_service(env), rasa_service(env)]


class Stack:
    """The running processes of the assistant."""

    def __init__(
        self,
        env: Mapping[str, str],
        output: TextIO | None = None,
        services: list[Service] | None = None,
        replicas: int = 1,
    ) -> None:
        self.env = dict(env)
        self.output = output
        self.replicas = replicas
        self.services = (services if services is not None
                         else build_services(self.env, replicas))
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
            if http_ok(service.health_url, service.health_headers()):
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

    @contextmanager
    def killed(self, name: str) -> Iterator[None]:
        """One service killed at once (SIGKILL: no cleanup, as when its machine is lost) for
        the duration of the block, then started again and healthy."""
        service = next(s for s in self.services if s.name == name)
        assert service.process is not None
        _signal_group(service, signal.SIGKILL)
        service.process.wait()
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

    def rasa_names(self) -> list[str]:
        """The Rasa servers' service names: `rasa`, or `rasa-0`, `rasa-1`... for replicas."""
        return [s.name for s in self.services if s.name == "rasa" or s.name.startswith("rasa-")]

    def replica_urls(self) -> list[str]:
        """Each Rasa server's own address (one, or each replica's behind the balancer)."""
        return [s.health_url.removesuffix("/status") for s in self.services
                if s.name in self.rasa_names()]

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
            **({"Action server": self.env["ACTION_SERVER_URL"]} if self.replicas == 1 else {
                f"Rasa replicas behind HAProxy ({self.env['VAR_DIR']}/haproxy.cfg)":
                    "  ".join(self.replica_urls())}),
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
