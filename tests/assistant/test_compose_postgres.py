"""Compose's PostgreSQL init script (deploy/compose.yml, `configs.create-rasa-database`) run on
a real, throw-away PostgreSQL server, from the attacker's side: the `rasa` role that Rasa's
tracker store logs in with is no superuser and cannot even connect to the backend's
`privacy` database, and no other role may connect to `rasa`'s.

The server is the machine's own PostgreSQL build (`initdb`, `pg_ctl`) in a temporary
directory, listening on a socket there only, run as the `postgres` system user (the server
refuses to run as root), bootstrapped the way the postgres image does with POSTGRES_USER and
POSTGRES_DB `privacy`. The script is taken from the compose file itself, `$$` unescaped as
compose does, and run twice (it is also the upgrade path for an older volume).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "deploy" / "compose.yml"
BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _missing() -> str | None:
    if not BIN or not Path(BIN[-1], "initdb").exists():
        return "PostgreSQL's server binaries (initdb, pg_ctl) are not installed"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "needs root and runuser to start a server as the postgres system user"
    try:
        import pwd
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres system user"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


def _as_postgres(args: list[str], env: dict[str, str] | None = None,
                 check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True,
                          text=True, timeout=60, check=check,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def server() -> Iterator[dict[str, str]]:
    """A fresh server as the image bootstraps one: superuser and database `privacy`."""
    root = Path(tempfile.mkdtemp(prefix="compose-pg-"))
    shutil.chown(root, "postgres")
    data = root / "data"
    tools = BIN[-1]
    _as_postgres([f"{tools}/initdb", "-D", str(data), "-U", "privacy", "--auth=trust"])
    _as_postgres([f"{tools}/pg_ctl", "-D", str(data), "-w", "-l", str(root / "log"),
                  "-o", f"-k {root} -c listen_addresses='' -p 5499", "start"])
    env = {"PGHOST": str(root), "PGPORT": "5499"}
    try:
        _as_postgres(["createdb", "-U", "privacy", "privacy"], env)
        yield env
    finally:
        _as_postgres([f"{tools}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
                     check=False)
        shutil.rmtree(root, ignore_errors=True)


def _init_script() -> str:
    config = yaml.safe_load(COMPOSE.read_text("utf-8"))["configs"]["create-rasa-database"]
    return str(config["content"]).replace("$$", "$")


def _psql(env: dict[str, str], user: str, database: str, sql: str
          ) -> subprocess.CompletedProcess[str]:
    return _as_postgres(["psql", "-v", "ON_ERROR_STOP=1", "-At", "-U", user, "-d", database,
                         "-c", sql], env, check=False)


def test_the_init_script_gives_rasa_its_own_database_and_nothing_else(
    server: dict[str, str],
) -> None:
    env = {**server, "POSTGRES_USER": "privacy", "POSTGRES_DB": "privacy",
           "RASA_DB_PASSWORD": "a-test-password"}
    for _ in range(2):  # on an empty volume, and again by hand to upgrade
        done = _as_postgres(["bash", "-c", _init_script()], env, check=False)
        assert done.returncode == 0, done.stderr

    own = _psql(server, "rasa", "rasa", "CREATE TABLE events (id int); INSERT INTO events "
                                        "VALUES (1); SELECT count(*) FROM events")
    assert own.returncode == 0 and own.stdout.splitlines()[-1] == "1", own.stderr
    assert _psql(server, "rasa", "rasa", "SELECT rolsuper OR rolcreatedb OR rolcreaterole "
                                         "FROM pg_roles WHERE rolname = current_user"
                 ).stdout.strip() == "f"
    # The attacker holds Rasa's credential: the backend's database is out of reach.
    other = _psql(server, "rasa", "privacy", "SELECT 1")
    assert other.returncode != 0 and "permission denied" in other.stderr, other
    # Any other role that may log in cannot open Rasa's database either.
    assert _psql(server, "privacy", "privacy", "CREATE ROLE visitor LOGIN").returncode == 0
    stranger = _psql(server, "visitor", "rasa", "SELECT 1")
    assert stranger.returncode != 0 and "permission denied" in stranger.stderr, stranger
