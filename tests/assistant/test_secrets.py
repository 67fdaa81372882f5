"""Each process holds only the credentials it reads (issue 22): the supervisor, compose and
Kubernetes give Rasa and the action server none of the backend's (its database, keys, mail
password, the staff's token); each database has its own role; Redis asks for a password.

What each process reads is the table `privacy_assistant.secret_files.CREDENTIALS`; the tests
pin its backend-only part, then hold the supervisor and the deployment files to it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from privacy_assistant.config import resolve
from privacy_assistant.processes import free_port
from privacy_assistant.secret_files import ACTIONS, BACKEND, CREDENTIALS, RASA, hidden_from
from tests.assistant.stack_support import environments_seen
from tests.assistant.test_deploy import (
    compose,
    compose_env,
    container_env,
    deployment,
    interpolate,
    kubernetes_data,
    workloads,
)
from tests.conftest import PROJECT_ROOT

# What only the backend may hold: whoever gets one reads or forges every person's data.
BACKEND_ONLY = {"DATABASE_URL", "VERIFICATION_SECRET", "UNSUBSCRIBE_SECRET", "SMTP_PASSWORD",
                "PRIVACY_STAFF_TOKEN"}


def readable_by(process: str) -> set[str]:
    return {name for name, readers in CREDENTIALS.items() if process in readers}


def test_the_table_keeps_the_backends_credentials_to_the_backend() -> None:
    assert {name for name, readers in CREDENTIALS.items() if readers == {BACKEND}} == BACKEND_ONLY
    assert readable_by(ACTIONS) == {"PRIVACY_API_TOKEN"}
    assert BACKEND_ONLY <= hidden_from(RASA) and BACKEND_ONLY <= hidden_from(ACTIONS)
    assert hidden_from("balancer") == set(CREDENTIALS)


def test_rasa_reads_only_credentials_it_is_given() -> None:
    """Rasa fills in `${VAR}` in endpoints.yml and credentials.yml from its environment and
    fails on a missing one: each credential it names must be one it is given."""
    used = {var for name in ("endpoints.yml", "credentials.yml")
            for var in re.findall(r"\$\{(\w+)\}", (PROJECT_ROOT / name).read_text("utf-8"))}
    assert used & set(CREDENTIALS) <= readable_by(RASA)
    assert "RASA_API_TOKEN" in readable_by(RASA)  # scripts/rasa_run.py


def test_the_supervisor_starts_rasa_and_the_actions_without_the_backends_credentials(
        tmp_path: Path) -> None:
    environ = {"VAR_DIR": str(tmp_path / "var"), "PATH": os.environ.get("PATH", ""),
               "DATABASE_URL": "postgresql+psycopg2://privacy:pw@db.internal/privacy",
               "VERIFICATION_SECRET": "v" * 43, "UNSUBSCRIBE_SECRET": "u" * 43,
               "SMTP_PASSWORD": "smtp-password", "REDIS_URL": "redis://:pw@redis.internal/0",
               "TRACKER_STORE_URL": "postgresql://rasa:pw@db.internal/rasa",
               "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "signing"}
    env = resolve(environ, env_file=None)
    assert set(CREDENTIALS) <= set(env)
    got = environments_seen(env, tmp_path / "seen")
    for process in (BACKEND, ACTIONS, RASA):
        assert got[process] & set(CREDENTIALS) == readable_by(process), process
    assert not got[RASA] & BACKEND_ONLY and not got[ACTIONS] & BACKEND_ONLY


# --- compose -----------------------------------------------------------------------------------
def test_compose_gives_each_process_only_the_credentials_it_reads() -> None:
    services = compose()["services"]
    for process in (BACKEND, ACTIONS, RASA):
        given = set(compose_env(process, services)) & set(CREDENTIALS)
        assert given == readable_by(process), process
    for process in (ACTIONS, RASA):
        assert not set(compose_env(process, services)) & BACKEND_ONLY, process
    # The migration reads the database and nothing else secret.
    assert set(compose_env("migrate", services)) & set(CREDENTIALS) == {"DATABASE_URL"}


def _user_and_password(url: str) -> tuple[str | None, str | None]:
    parts = urlsplit(url)
    return parts.username, parts.password


def test_compose_gives_each_database_its_own_role() -> None:
    services = compose()["services"]
    backend, rasa = compose_env(BACKEND, services), compose_env(RASA, services)
    database = urlsplit(backend["DATABASE_URL"])
    tracker = urlsplit(rasa["TRACKER_STORE_URL"])
    assert (database.username, database.path) == ("privacy", "/privacy")
    assert (tracker.username, tracker.path) == ("rasa", "/rasa")
    # Two passwords from two variables, each one the operator must set.
    assert database.password == "<POSTGRES_PASSWORD>"
    assert tracker.password == "<RASA_DB_PASSWORD>"
    assert backend["TRACKER_STORE_URL"] == rasa["TRACKER_STORE_URL"]
    # Nothing Rasa holds names the backend's role or its password.
    for value in rasa.values():
        assert "privacy:" not in value and "<POSTGRES_PASSWORD>" not in value
    # The init script makes the `rasa` role (not a superuser) owner of its database, with its
    # own password, and lets no other role connect to either database.
    postgres = services["postgres"]
    assert postgres["environment"]["POSTGRES_USER"] == "privacy"
    assert interpolate(postgres["environment"]["RASA_DB_PASSWORD"]) == "<RASA_DB_PASSWORD>"
    [mount] = postgres["configs"]
    assert mount["target"].startswith("/docker-entrypoint-initdb.d/")
    script = compose()["configs"][mount["source"]]["content"]
    assert '--set rasa_password="$${RASA_DB_PASSWORD}"' in script
    for statement in ("ALTER ROLE rasa WITH LOGIN NOSUPERUSER", "PASSWORD :'rasa_password'",
                      "CREATE DATABASE rasa OWNER rasa", "REVOKE ALL ON DATABASE rasa FROM PUBLIC",
                      "REVOKE ALL ON DATABASE privacy FROM PUBLIC"):
        assert statement in script, statement


def _redis_password(config: str) -> str:
    match = re.search(r"^requirepass (\S+)$", config, re.M)
    assert match, "redis has no requirepass"
    return match.group(1)


def test_compose_redis_asks_for_the_password_the_processes_are_given() -> None:
    services = compose()["services"]
    redis = services["redis"]
    [mount] = redis["configs"]
    assert redis["command"] == ["redis-server", mount["target"]]
    config = interpolate(compose()["configs"][mount["source"]]["content"])
    assert _redis_password(config) == "<REDIS_PASSWORD>"
    assert interpolate(redis["environment"]["REDISCLI_AUTH"]) == "<REDIS_PASSWORD>"
    for process in (BACKEND, RASA):
        url = urlsplit(compose_env(process, services)["REDIS_URL"])
        assert (url.hostname, url.password) == ("redis", "<REDIS_PASSWORD>"), process


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_compose_redis_refuses_a_client_without_the_password(tmp_path: Path) -> None:
    """A real redis-server with compose's configuration (its password filled in): a client
    that does not send it gets nothing; Rasa, with its REDIS_URL, gets in."""
    import redis

    password = "Zq3" * 14
    compose_file = compose()
    mount = compose_file["services"]["redis"]["configs"][0]
    config = compose_file["configs"][mount["source"]]["content"].replace(
        "${REDIS_PASSWORD:?set me}", password)
    port = free_port()
    conf = tmp_path / "redis.conf"
    conf.write_text(config + f"port {port}\nbind 127.0.0.1\nsave \"\"\ndir {tmp_path}\n")
    server = subprocess.Popen(["redis-server", str(conf)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        stranger = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
        deadline = time.monotonic() + 10
        while True:
            try:
                stranger.ping()
                refused = False
                break
            except redis.AuthenticationError:
                refused = True
                break
            except redis.ResponseError as exc:
                refused = "NOAUTH" in str(exc)
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        assert refused, "Redis answered a client without the password"
        url = compose_env(RASA)["REDIS_URL"].replace("<REDIS_PASSWORD>", password)
        url = url.replace("@redis:6379", f"@127.0.0.1:{port}")
        assert redis.Redis.from_url(url, socket_timeout=2).ping() is True
    finally:
        server.terminate()
        server.wait(timeout=10)


# --- Kubernetes --------------------------------------------------------------------------------
def test_kubernetes_gives_each_workload_only_the_credentials_it_reads() -> None:
    for process in (BACKEND, ACTIONS, RASA):
        given = set(container_env(deployment(process))) & set(CREDENTIALS)
        assert given == readable_by(process), process
    for workload, container in workloads():
        env = set(container_env(container))
        if workload == "backend-migrate":
            assert env & set(CREDENTIALS) == {"DATABASE_URL"}
        elif workload != BACKEND:
            assert not env & BACKEND_ONLY, workload
    # No Secret that Rasa or the action server mounts whole holds a backend-only key.
    secrets = kubernetes_data("Secret")
    for process in (ACTIONS, RASA):
        for source in deployment(process).get("envFrom", []):
            if "secretRef" in source:
                assert not set(secrets[source["secretRef"]["name"]]) & BACKEND_ONLY, process


def test_kubernetes_gives_each_database_its_own_role() -> None:
    secrets = kubernetes_data("Secret")
    holder = {key: name for name, data in secrets.items() for key in data}
    database = urlsplit(secrets[holder["DATABASE_URL"]]["DATABASE_URL"])
    tracker = urlsplit(secrets[holder["TRACKER_STORE_URL"]]["TRACKER_STORE_URL"])
    assert database.username != tracker.username
    assert (tracker.username, tracker.path) == ("rasa", "/rasa")
    assert holder["DATABASE_URL"] != holder["TRACKER_STORE_URL"]
    rasa = container_env(deployment(RASA))
    assert all(f"{database.username}:" not in value for value in rasa.values())
