"""The processes the supervisor starts: what each one runs, the environment it gets and the
health check that says it is ready (the backend, an action server, a Rasa server), and the
small network helpers they share (a free port, a loopback address, an HTTP probe)."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

from privacy_assistant.config import PROJECT_ROOT
from privacy_assistant.rasa_auth import rasa_api_headers
from privacy_assistant.secret_files import ACTIONS, BACKEND, RASA, hidden_from

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"

# The staff's credential: the backend checks it; the action server and Rasa never get it.
STAFF_ONLY = frozenset({"PRIVACY_STAFF_TOKEN"})
# Each process is started without the credentials it does not read (`secret_files.CREDENTIALS`):
# the action server holds the assistant's token only; Rasa none of the backend's (its
# database, keys, mail password, the staff's token); the backend none of Rasa's channels'.
HIDDEN_FROM_BACKEND = hidden_from(BACKEND)
HIDDEN_FROM_ACTIONS = hidden_from(ACTIONS)
HIDDEN_FROM_RASA = hidden_from(RASA)


class StackError(RuntimeError):
    """A process of the stack failed to start or died."""


@dataclass
class Service:
    name: str
    argv: list[str]
    health_url: str
    ready_timeout: float
    extra_env: dict[str, str] = field(default_factory=dict)
    # Variables this process must not see (the credentials it does not read).
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


def http_ok(url: str, headers: Mapping[str, str] | None = None, timeout: float = 2.0) -> bool:
    """Whether a GET of `url` answers with a 2xx status (a refusal or time-out is False)."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def loopback(host: str, port: str) -> str:
    """The address at which a client on this machine reaches a server bound to `host`."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"


def backend_service(env: Mapping[str, str]) -> Service:
    """The backend (`privacy-backend serve`), ready once `/health` answers."""
    return Service(
        name="backend",
        argv=[
            sys.executable, "-m", "privacy_backend.cli", "serve",
            "--host", env["BACKEND_HOST"], "--port", env["BACKEND_PORT"],
        ],
        health_url=f"{env['BACKEND_URL']}/health",
        ready_timeout=60,
        hidden_env=HIDDEN_FROM_BACKEND,
    )


def actions_service(env: Mapping[str, str], name: str = "actions",
                    port: str | None = None) -> Service:
    """An action server on `port` (default ACTION_SERVER_PORT), with the assistant's token as
    its only credential."""
    port = port or env["ACTION_SERVER_PORT"]
    return Service(
        name=name,
        argv=[
            sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", port,
        ],
        # rasa-sdk 3.6 takes its listening address from SANIC_HOST only.
        extra_env={"SANIC_HOST": env["ACTION_SERVER_HOST"]},
        hidden_env=HIDDEN_FROM_ACTIONS,
        health_url=f"http://{env['ACTION_SERVER_HOST']}:{port}/health",
        ready_timeout=60,
    )


def rasa_service(env: Mapping[str, str], name: str = "rasa", port: str | None = None,
                 action_server_url: str | None = None) -> Service:
    """A Rasa server on `port` (default RASA_PORT), calling `action_server_url` when given
    (default: ACTION_SERVER_URL from the environment), without the backend's credentials."""
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
        hidden_env=HIDDEN_FROM_RASA,
    )
