"""The scaled profile (`make run-scaled REPLICAS=N`): N pairs of action server and Rasa server
behind HAProxy, sharing PostgreSQL (`DATABASE_URL`, `TRACKER_STORE_URL`) and Redis
(`REDIS_URL`: the conversation locks, the socket.io rooms, the Slack events taken). Here: the
stores it needs and the check that they answer, its processes, and a throw-away PostgreSQL
database for the benchmarks and tests that run it."""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from privacy_assistant.haproxy import haproxy_binary, haproxy_config
from privacy_assistant.processes import (
    Service,
    StackError,
    actions_service,
    backend_service,
    free_port,
    loopback,
    rasa_service,
)
from privacy_assistant.secret_files import CREDENTIALS

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
    problems = [f"{name}={hide_password(scaled[name])}: {why}" for name in SCALED_DEFAULTS
                if (why := unreachable(scaled[name]))]
    if haproxy_binary() is None:
        problems.append("HAProxy is not installed (Debian: apt-get install haproxy)")
    if problems:
        raise StackError("the scaled profile needs PostgreSQL, Redis and HAProxy:\n  "
                         + "\n  ".join(problems))
    return scaled


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


def hide_password(value: str) -> str:
    """`postgresql://rasa:secret@db/rasa` → `postgresql://rasa:***@db/rasa`."""
    return re.sub(r"(://[^:/@]+:)[^/]*@", r"\1***@", value)


def scaled_services(env: Mapping[str, str], replicas: int) -> list[Service]:
    """The backend, `replicas` pairs of action server and Rasa server on free ports, and
    HAProxy on the public Rasa port in front of the Rasa servers (its configuration is
    written to `VAR_DIR/haproxy.cfg`)."""
    pairs = [(str(free_port()), str(free_port())) for _ in range(replicas)]
    actions = [actions_service(env, f"actions-{i}", port) for i, (port, _) in enumerate(pairs)]
    rasas = [rasa_service(env, f"rasa-{i}", rasa_port,
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
        hidden_env=frozenset(CREDENTIALS),  # HAProxy reads no credential
    )
    return [backend_service(env), *actions, *rasas, balancer]


@contextmanager
def temporary_database(server: str, prefix: str = "pa_tmp") -> Iterator[str]:
    """A database of its own on the PostgreSQL `server` (a URL), named `<prefix>_<random>`,
    dropped afterwards (with its connections). Yields its URL, password included."""
    url = make_url(server)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(drivername="postgresql+psycopg2"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
