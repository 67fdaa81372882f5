"""The supervisor behind `make run`: it waits for health checks, prints the URLs, and on
Ctrl-C leaves no process behind — not even a grandchild."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from privacy_assistant.config import resolve
from privacy_assistant.scaled import hide_password, temporary_database
from privacy_assistant.stack import Stack, StackError, build_services, scaled_env
from tests.assistant.stack_support import environments_seen
from tests.conftest import PROJECT_ROOT, free_port, unreachable

# Each fake service serves /health over HTTP and starts a grandchild that would outlive a
# naive supervisor (it ignores SIGTERM); both write their pid to a file.
FAKE_SERVICE = textwrap.dedent(
    """
    import http.server, os, subprocess, sys
    port, pid_dir = int(sys.argv[1]), sys.argv[2]
    child = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
    open(os.path.join(pid_dir, f"{port}.pids"), "w").write(f"{os.getpid()} {child.pid}")
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
        def log_message(self, *args): pass
    http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
    """
)

SUPERVISOR = textwrap.dedent(
    """
    import sys
    from privacy_assistant.config import resolve
    from privacy_assistant.stack import Service, run
    pid_dir, script, ports = sys.argv[1], sys.argv[2], sys.argv[3:]
    services = [
        Service(name=f"fake{i}", argv=[sys.executable, script, port, pid_dir],
                health_url=f"http://127.0.0.1:{port}/health", ready_timeout=30)
        for i, port in enumerate(ports)
    ]
    env = resolve({"VAR_DIR": pid_dir + "/var", "PATH": ""})
    sys.exit(run(env, services=services))
    """
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def start_supervisor(tmp_path: Path) -> tuple[subprocess.Popen[str], list[str], list[str]]:
    """The supervisor running two fake services, once it says it is ready: the process, the
    services' ports, and the lines it printed until then."""
    script = tmp_path / "fake_service.py"
    script.write_text(FAKE_SERVICE)
    ports = [str(free_port()), str(free_port())]
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, str(tmp_path), str(script), *ports],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert supervisor.stdout is not None
    lines = []
    for line in supervisor.stdout:
        lines.append(line)
        if "Press Ctrl-C to stop" in line:
            break
    return supervisor, ports, lines


def test_ctrl_c_stops_every_process_and_grandchild(tmp_path: Path) -> None:
    supervisor, _, lines = start_supervisor(tmp_path)
    assert any("The privacy assistant is ready" in line for line in lines), lines
    pids = [int(p) for f in tmp_path.glob("*.pids") for p in f.read_text().split()]
    assert len(pids) == 4 and all(alive(pid) for pid in pids)

    supervisor.send_signal(signal.SIGINT)
    rest = supervisor.communicate(timeout=30)[0]
    assert supervisor.returncode == 0, rest
    assert "All processes stopped." in rest
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in pids if alive(pid)] == []


def test_a_service_that_dies_stops_the_others_and_fails(tmp_path: Path) -> None:
    supervisor, ports, _ = start_supervisor(tmp_path)
    first = int((tmp_path / f"{ports[0]}.pids").read_text().split()[0])
    os.kill(first, signal.SIGKILL)
    rest = supervisor.communicate(timeout=30)[0]
    assert supervisor.returncode == 1
    assert "fake0 stopped" in rest
    pids = [int(p) for f in tmp_path.glob("*.pids") for p in f.read_text().split()]
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in pids if alive(pid)] == []


def test_a_service_that_cannot_start_is_reported_with_its_output(tmp_path: Path) -> None:
    supervisor = subprocess.run(
        [sys.executable, "-c", SUPERVISOR, str(tmp_path), "/nonexistent/service.py",
         str(free_port())],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert supervisor.returncode == 1
    assert "Could not start the assistant: fake0 exited with code 2" in supervisor.stdout
    assert "No such file or directory" in supervisor.stdout


def test_only_the_backend_gets_the_staff_token(tmp_path: Path) -> None:
    """The action server and Rasa run without PRIVACY_STAFF_TOKEN: the assistant's processes
    hold the assistant's credential only."""
    env = resolve({"VAR_DIR": str(tmp_path / "var"), "PATH": os.environ.get("PATH", "")},
                  env_file=None)
    assert env["PRIVACY_STAFF_TOKEN"] and env["PRIVACY_STAFF_TOKEN"] != env["PRIVACY_API_TOKEN"]
    hidden = {s.name: s.hidden_env for s in build_services(env)}
    assert {name for name, names in hidden.items() if "PRIVACY_STAFF_TOKEN" in names} == {
        "actions", "rasa"}
    seen = environments_seen(env, tmp_path / "seen")
    backend, actions, rasa = seen["backend"], seen["actions"], seen["rasa"]
    assert "PRIVACY_STAFF_TOKEN" in backend
    assert "PRIVACY_STAFF_TOKEN" not in actions | rasa
    assert "PRIVACY_API_TOKEN" in actions


def test_the_slack_webhook_is_printed_only_when_slack_is_on(tmp_path: Path) -> None:
    off = Stack(resolve({"VAR_DIR": str(tmp_path)}, env_file=None), services=[])
    assert not any("slack" in url for url in off.urls().values())
    on = Stack(resolve({"VAR_DIR": str(tmp_path), "SLACK_BOT_TOKEN": "xoxb-1"}, env_file=None),
               services=[])
    assert f"{on.env['RASA_URL']}/webhooks/slack/webhook" in on.urls().values()


def test_the_scaled_profile_pairs_each_rasa_replica_with_its_own_action_server(
        tmp_path: Path) -> None:
    env = resolve({"VAR_DIR": str(tmp_path / "var"), "PATH": os.environ.get("PATH", "")},
                  env_file=None)
    services = {s.name: s for s in build_services(env, replicas=2)}
    assert list(services) == ["backend", "actions-0", "actions-1", "rasa-0", "rasa-1",
                              "balancer"]
    ports = {name: s.argv[s.argv.index("--port") + 1] for name, s in services.items()
             if "--port" in s.argv}
    assert len(set(ports.values())) == len(ports)  # nobody shares a port
    for i in (0, 1):
        assert services[f"rasa-{i}"].extra_env["ACTION_SERVER_URL"].endswith(
            f":{ports[f'actions-{i}']}/webhook")
    assert all("PRIVACY_STAFF_TOKEN" in services[n].hidden_env
               for n in services if n != "backend")
    # HAProxy listens on the public Rasa port and sends to both replicas.
    config = (tmp_path / "var" / "haproxy.cfg").read_text()
    assert f"bind {env['RASA_HOST']}:{env['RASA_PORT']}" in config
    for i in (0, 1):
        assert f"server rasa-{i} 127.0.0.1:{ports[f'rasa-{i}']} check" in config
    socketio = config.split("backend socketio", 1)[1]
    assert "balance source" in socketio  # long-polling needs one replica per client
    assert services["balancer"].health_url == f"{env['RASA_URL']}/"


def test_the_scaled_profile_names_the_store_that_does_not_answer(tmp_path: Path) -> None:
    env = resolve({"VAR_DIR": str(tmp_path / "var"), "PATH": os.environ.get("PATH", ""),
                   "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}, env_file=None)
    with pytest.raises(StackError) as raised:
        scaled_env(env)
    assert "REDIS_URL=redis://127.0.0.1:" in str(raised.value)
    assert "nothing answers" in str(raised.value)


def test_make_run_scaled_fails_clearly_without_its_stores(tmp_path: Path) -> None:
    dead = f"127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "privacy_assistant.stack", "run", "--replicas", "2"],
        env={**os.environ, "VAR_DIR": str(tmp_path / "var"), "REDIS_URL": f"redis://{dead}/0",
             "TRACKER_STORE_URL": f"postgresql://u@{dead}/db",
             "DATABASE_URL": f"postgresql+psycopg2://u:secret@{dead}/db"},
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "Could not start 2 replicas" in done.stdout
    assert "TRACKER_STORE_URL=postgresql://u@" in done.stdout
    assert "secret" not in done.stdout  # the password is hidden


def test_a_temporary_database_exists_for_its_block_only() -> None:
    server = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    if reason := unreachable(server):
        pytest.skip(f"PostgreSQL: {reason}")
    with temporary_database(server, "pa_unit") as url:
        name = make_url(url).database
        assert name is not None and name.startswith("pa_unit_")
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar() == name
        engine.dispose()
    admin = create_engine(server)
    with admin.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM pg_database WHERE datname = :name"),
                            {"name": name}).scalar()
    admin.dispose()
    assert left == 0


def test_a_printed_store_url_hides_its_password() -> None:
    assert hide_password("postgresql+psycopg2://rasa:s3cret@db:5432/rasa") == \
        "postgresql+psycopg2://rasa:***@db:5432/rasa"
    assert hide_password("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
