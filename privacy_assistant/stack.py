"""`privacy-assistant`: start the whole assistant in the foreground (backend, action server,
Rasa server), or print its configuration.

`make run` calls `privacy-assistant run`. `make run-scaled REPLICAS=N` calls
`privacy-assistant run --replicas N`: N action servers and N Rasa servers (each Rasa server
with its own action server) on free loopback ports, behind HAProxy on `RASA_HOST:RASA_PORT`,
sharing PostgreSQL (`DATABASE_URL`, `TRACKER_STORE_URL`) and Redis (`REDIS_URL`: the
conversation locks, the socket.io rooms, the Slack events taken); see `scaled_env`.

The supervisor waits until each process answers its health check, prints the URLs, streams
the logs with a name prefix, and on Ctrl-C (or when any process dies) stops every process
group, first with SIGTERM, then SIGKILL, so no process is left behind. The end-to-end tests
use the same `Stack` on free loopback ports.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from typing import TextIO

from privacy_assistant.config import GENERATED_SECRETS, StackSettings, resolve
from privacy_assistant.haproxy import haproxy_binary, haproxy_config
from privacy_assistant.processes import (
    RASA_PYTHON,
    STAFF_ONLY,
    Service,
    StackError,
    free_port,
    http_ok,
    loopback,
)
from privacy_assistant.scaled import SCALED_DEFAULTS, hide_password, scaled_env, unreachable
from privacy_assistant.supervisor import Stack, build_services

# The processes and their commands live in processes.py, the scaled profile in scaled.py and
# haproxy.py, the running Stack in supervisor.py; the names other code imports from this
# module stay importable from here.

__all__ = [
    "RASA_PYTHON", "SCALED_DEFAULTS", "STAFF_ONLY", "Service", "Stack", "StackError",
    "build_services", "free_port", "haproxy_binary", "haproxy_config", "http_ok", "loopback",
    "main", "run", "scaled_env", "unreachable",
]


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
              + ", ".join(f"{name}={hide_password(env[name])}" for name in SCALED_DEFAULTS),
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
            value = "<set>" if key in _SECRETS else hide_password(env[key])
            print(f"{key}={value}")
        return
    sys.exit(run_stack(env, replicas=args.replicas))


# What `privacy-assistant env` prints: the supervisor's settings and where the backend keeps
# its data; secrets only as "<set>".
_DOCUMENTED = {name.upper() for name in StackSettings.model_fields} | {
    "BACKEND_URL", "RASA_URL", "SITE_URL", "ACTION_SERVER_URL", "DATABASE_URL",
    "MAIL_BACKEND", "MAIL_DIR", "SMTP_PASSWORD"}
_SECRETS = {*GENERATED_SECRETS, "SMTP_PASSWORD"}


if __name__ == "__main__":
    main()
