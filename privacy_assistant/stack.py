"""Start the whole assistant in the foreground: backend, action server, Rasa server.

`make run` calls `privacy-assistant run`. `make run-scaled REPLICAS=N` calls
`privacy-assistant run --replicas N`: N action servers and N Rasa servers (each Rasa server
with its own action server) on free loopback ports, behind HAProxy on `RASA_HOST:RASA_PORT`,
sharing PostgreSQL (`DATABASE_URL`, `TRACKER_STORE_URL`) and Redis (`REDIS_URL`: the
conversation locks, the socket.io rooms, the Slack events taken); see `scaled_env`.

Each process runs in its own process group; the supervisor waits until each answers its
health check, prints the URLs, streams the logs with a name prefix, and on Ctrl-C (or when
any process dies) stops every process group, first with SIGTERM, then SIGKILL, so no
process is left behind. The end-to-end tests use the same `Stack` on free loopback ports.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
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
from urllib.parse import urlsplit

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


def build_services(env: Mapping[str, str], replicas: int = 1) -> list[Service]:
    """The processes in start order, with the commands and health checks they need: the
    backend, then an action server and a Rasa server (with `replicas` > 1, that many of each
    and HAProxy in front of the Rasa servers)."""
    if replicas > 1:
        return _scaled_services(env, replicas)
    return [_backend(env), _actions(env), _rasa(env)]


def _backend(env: Mapping[str, str]) -> Service:
    return Service(
            name="backend",
            argv=[
                sys.executable, "-m", "privacy_backend.cli", "serve",
                "--host", env["BACKEND_HOST"], "--port", env["BACKEND_PORT"],
            ],
            health_url=f"{env['BACKEND_URL']}/health",
            ready_timeout=60,
        )


def _actions(env: Mapping[str, str], name: str = "actions", port: str | None = None) -> Service:
    port = port or env["ACTION_SERVER_PORT"]
    return Service(
            name=name,
            argv=[
                sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", port,
            ],
            # rasa-sdk 3.6 takes its listening address from SANIC_HOST only.
            extra_env={"SANIC_HOST": env["ACTION_SERVER_HOST"]},
            hidden_env=STAFF_ONLY,
            health_url=f"http://{env['ACTION_SERVER_HOST']}:{port}/health",
            ready_timeout=60,
        )


def _rasa(env: Mapping[str, str], name: str = "rasa", port: str | None = None,
          action_server_url: str | None = None) -> Service:
    port = port or env["RASA_PORT"]
    url = env["RASA_URL"] if port == env["RASA_PORT"] else loopback(env["RASA_HOST"], port)
    return Service(
            name=name,
            # scripts/rasa_run.py passes the API token to Rasa from the environment, so it
            # never appears on a command line.
            argv=[
                str(RASA_PYTHON), str(PROJECT_ROOT / "scripts" / "rasa_run.py"),
                "--model", env["RASA_MODEL"],
                "--interface", env["RASA_HOST"], "--port", port,
                "--endpoints", str(PROJECT_ROOT / "endpoints.yml"),
                "--credentials", str(PROJECT_ROOT / "credentials.yml"),
                "--cors", env["RASA_CORS"],
            ],
            extra_env={"ACTION_SERVER_URL": action_server_url} if action_server_url else {},
            # /status answers once the model is loaded; it takes a JWT signed with the API
            # secret (privacy_assistant/rasa_auth.py), in a header.
            health_url=f"{url}/status",
            health_headers=partial(rasa_api_headers, env["RASA_API_TOKEN"],
                                   username="supervisor"),
            ready_timeout=240,
            hidden_env=STAFF_ONLY,
        )


def loopback(host: str, port: str) -> str:
    """The address at which a client on this machine reaches a server bound to `host`."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"


# --- the scaled profile ----------------------------------------------------------------------
# What several Rasa replicas must share, and the servers `make run-scaled` uses on this
# machine when the environment names none.
SCALED_DEFAULTS = {
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "TRACKER_STORE_URL": "postgresql://postgres@127.0.0.1:5432/test",
    "DATABASE_URL": "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
}


def scaled_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment of the scaled profile: the shared stores from the environment (or
    this machine's PostgreSQL and Redis), each checked to answer. Raises StackError naming
    what is missing: replicas on SQLite files or in-memory stores would corrupt each other's
    conversations and lose agent replies."""
    scaled = dict(env)
    for name, default in SCALED_DEFAULTS.items():
        if not scaled.get(name, "").strip() or scaled[name].startswith("sqlite"):
            scaled[name] = default
    problems = [f"{name}={_hide_password(scaled[name])}: {why}" for name in SCALED_DEFAULTS
                if (why := unreachable(scaled[name]))]
    if haproxy_binary() is None:
        problems.append("HAProxy is not installed (Debian: apt-get install haproxy)")
    if problems:
        raise StackError("the scaled profile needs PostgreSQL, Redis and HAProxy:\n  "
                         + "\n  ".join(problems))
    return scaled


def haproxy_binary() -> str | None:
    """HAProxy's executable (Debian puts it in /usr/sbin, which a user's PATH may lack)."""
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")


def unreachable(url: str) -> str | None:
    """Why the server of a URL (redis://, postgresql://...) does not answer, or None."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (6379 if scheme.startswith("redis") else 5432)
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as exc:
        return f"nothing answers on {host}:{port} ({exc.strerror or exc})"


def _scaled_services(env: Mapping[str, str], replicas: int) -> list[Service]:
    """The backend, `replicas` pairs of action server and Rasa server on free ports, and
    HAProxy on the public Rasa port in front of the Rasa servers."""
    pairs = [(str(free_port()), str(free_port())) for _ in range(replicas)]
    actions = [_actions(env, f"actions-{i}", port) for i, (port, _) in enumerate(pairs)]
    rasas = [_rasa(env, f"rasa-{i}", rasa_port,
                   f"{loopback(env['ACTION_SERVER_HOST'], action_port)}/webhook")
             for i, (action_port, rasa_port) in enumerate(pairs)]
    config = Path(env["VAR_DIR"]) / "haproxy.cfg"
    config.parent.mkdir(parents=True, exist_ok=True)
    servers = [(f"rasa-{i}", loopback(env["RASA_HOST"], rasa_port).split("//", 1)[1])
               for i, (_, rasa_port) in enumerate(pairs)]
    config.write_text(haproxy_config(env["RASA_HOST"], env["RASA_PORT"], servers),
                      encoding="utf-8")
    balancer = Service(
        name="balancer",
        argv=[haproxy_binary() or "haproxy", "-db", "-f", str(config)],
        health_url=f"{env['RASA_URL']}/",
        ready_timeout=30,
        hidden_env=STAFF_ONLY,
    )
    return [_backend(env), *actions, *rasas, balancer]


def haproxy_config(host: str, port: str, servers: list[tuple[str, str]]) -> str:
    """HAProxy in front of the Rasa replicas.

    REST turns and the HTTP API go round robin; a replica that refuses the connection (it
    died) is skipped and the request goes to another (`retries`, `option redispatch`), so a
    turn is never sent to a dead replica. socket.io is hashed on the client's address: a
    long-polling client's requests must all reach the replica that holds its engine.io
    session (a websocket is one connection and needs nothing). Rasa answers `GET /` once it
    runs; a replica that fails three checks in a row gets no traffic until it answers twice.
    A check waits up to 5 s: a replica whose event loop is busy with a heavy message is
    slow, not dead, and marking it down would move its long-polling clients to a replica
    that does not know their sessions. A dead replica refuses connections at once, and the
    request that met the refusal goes to another replica meanwhile.
    """
    lines = "\n".join(f"    server {name} {address} check inter 2s fall 3 rise 2"
                      for name, address in servers)
    return f"""# Written by privacy_assistant/stack.py for `make run-scaled`; edits are overwritten.
global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout check 5s
    timeout client 5m
    timeout server 5m
    timeout tunnel 1h
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend public
    bind {host}:{port}
    acl socketio path_beg /socket.io
    use_backend socketio if socketio
    default_backend rasa

backend rasa
    balance roundrobin
    option httpchk GET /
{lines}

backend socketio
    balance source
    hash-type consistent
    option httpchk GET /
{lines}
"""


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


def run(
    env: Mapping[str, str], out: TextIO = sys.stdout, services: list[Service] | None = None,
    replicas: int = 1,
) -> int:
    """Run the stack in the foreground until Ctrl-C or until a process dies."""
    if replicas > 1:
        try:
            env = scaled_env(env)
        except StackError as error:
            print(f"Could not start {replicas} replicas: {error}", file=out, flush=True)
            return 1
        print(f"{replicas} Rasa replicas behind HAProxy, sharing "
              + ", ".join(f"{name}={_hide_password(env[name])}" for name in SCALED_DEFAULTS),
              file=out, flush=True)
    stack = Stack(env, output=out, services=services, replicas=replicas)
    stopping = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print("Starting the backend, the action server and the Rasa server"
          + (f" ({replicas} of each and HAProxy)" if replicas > 1 else "") + "...",
          file=out, flush=True)
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
    parser.add_argument("--replicas", type=int, default=1,
                        help="Rasa servers (each with its own action server) behind HAProxy; "
                             "more than 1 needs PostgreSQL and Redis (make run-scaled)")
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    env = resolve()
    if args.command == "env":
        for key in sorted(_DOCUMENTED & set(env)):
            value = "<set>" if key in _SECRETS else _hide_password(env[key])
            print(f"{key}={value}")
        return
    sys.exit(run_stack(env, replicas=args.replicas))


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
