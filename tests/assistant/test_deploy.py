"""The deployment files (deploy/): they parse, give each process the whole configuration table
of the README (no supervisor fills in defaults in a cluster), run the commands `make run`
runs (privacy_assistant.stack.build_services), keep the staff token with the backend, and
put the Rasa replicas behind a load balancer that keeps socket.io sessions on their replica."""

from __future__ import annotations

import base64
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from privacy_assistant.config import GENERATED_SECRETS
from privacy_assistant.stack import STAFF_ONLY, Service, build_services
from tests.conftest import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yml"
KUBERNETES = DEPLOY / "kubernetes"
HAPROXY = DEPLOY / "haproxy.cfg"
DOCKERFILE = DEPLOY / "Dockerfile"
# Where deploy/Dockerfile puts the project (its WORKDIR).
IMAGE_ROOT = "/app"
# The three processes of build_services; their compose services and Kubernetes Deployments
# carry the same names.
PROCESSES = ("backend", "actions", "rasa")
# Variables outside the README's table that a deployment gives on purpose: the backend runs
# behind a proxy there, and reads X-Forwarded-For (its right-most untrusted entry) only from
# FORWARDED_ALLOW_IPS (privacy_backend/core/middleware.py, default loopback only).
DEPLOY_ONLY = {"backend": {"FORWARDED_ALLOW_IPS"}}
# What the operator must supply: never a value written in a deployment file.
SECRETS = {*GENERATED_SECRETS, "VERIFICATION_SECRET", "UNSUBSCRIBE_SECRET"}


# --- reading the files ---------------------------------------------------------------------
def readme_variables() -> set[str]:
    """The variables of the README's configuration table, read as tests/assistant/test_config.py
    reads them: every `NAME` in the first column of the section's table rows."""
    readme = (PROJECT_ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yml", ".yaml"})


def load_all(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc is not None]


def compose() -> dict[str, Any]:
    docs = load_all(COMPOSE)
    assert len(docs) == 1
    return dict(docs[0])


_INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: object) -> str:
    """A compose value as compose fills it in when the operator sets nothing optional:
    `${VAR:-default}` is the default; `${VAR:?message}` and `${VAR}` (what the operator
    must set) stay `<VAR>`."""
    def one(match: re.Match[str]) -> str:
        name, operator, default = match.groups()
        return default if operator and operator.endswith("-") else f"<{name}>"

    return "" if value is None else _INTERPOLATION.sub(one, str(value))


def _env_file_names(service: Mapping[str, Any]) -> dict[str, str]:
    files = service.get("env_file") or []
    env: dict[str, str] = {}
    for entry in [files] if isinstance(files, (str, dict)) else files:
        path = DEPLOY / (entry["path"] if isinstance(entry, dict) else entry)
        for line in path.read_text("utf-8").splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                name, value = line.split("=", 1)
                env[name.strip()] = value
    return env


def compose_env(name: str, services: Mapping[str, Any] | None = None) -> dict[str, str]:
    """A compose service's environment: its env_file, then its `environment` (with the
    shared anchor merged in by YAML), values interpolated."""
    service = (services or compose()["services"])[name]
    env = _env_file_names(service)
    given = service.get("environment") or {}
    if isinstance(given, list):
        given = dict(item.split("=", 1) if "=" in item else (item, "") for item in given)
    env.update(given)
    return {key: interpolate(value) for key, value in env.items()}


def compose_command(name: str) -> list[str]:
    command = compose()["services"][name]["command"]
    argv = shlex.split(command) if isinstance(command, str) else command
    return [interpolate(arg) for arg in argv]


def kubernetes_docs() -> list[dict[str, Any]]:
    return [doc for path in sorted(KUBERNETES.glob("*.y*ml")) for doc in load_all(path)]


def kubernetes_data(kind: str) -> dict[str, dict[str, str]]:
    """The key/value pairs of every ConfigMap or Secret, by name."""
    found: dict[str, dict[str, str]] = {}
    for doc in kubernetes_docs():
        if doc["kind"] != kind:
            continue
        data = {key: str(value) for key, value in (doc.get("stringData") or {}).items()}
        for key, value in (doc.get("data") or {}).items():
            data[key] = base64.b64decode(value).decode() if kind == "Secret" else str(value)
        found[doc["metadata"]["name"]] = data
    return found


def _expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` in a command or an env value, from the container's environment."""
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), value)


def workloads() -> Iterator[tuple[str, dict[str, Any]]]:
    """(workload name, container) for every container of every pod template."""
    for doc in kubernetes_docs():
        if doc["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
            pod = doc["spec"]["template"]["spec"]
            for container in pod.get("initContainers", []) + pod["containers"]:
                yield doc["metadata"]["name"], container


def container_env(container: Mapping[str, Any]) -> dict[str, str]:
    """What a container's environment holds: its envFrom sources, then its env entries."""
    sources = {"configMapRef": kubernetes_data("ConfigMap"), "secretRef": kubernetes_data("Secret")}
    keyed = {"configMapKeyRef": sources["configMapRef"], "secretKeyRef": sources["secretRef"]}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        for ref, data in sources.items():
            if ref in source:
                env.update(data[source[ref]["name"]])
    for item in container.get("env", []):
        value = item.get("value", "")
        for ref, data in keyed.items():
            if ref in item.get("valueFrom", {}):
                key = item["valueFrom"][ref]
                value = data[key["name"]][key["key"]]
        env[item["name"]] = _expand(str(value), env)
    return env


def deployment(name: str) -> dict[str, Any]:
    containers = [container for workload, container in workloads() if workload == name]
    assert len(containers) == 1, f"one container in the Deployment {name!r}"
    return containers[0]


class _Env(dict[str, str]):
    """An environment that names what it lacks instead of raising KeyError."""

    def __missing__(self, key: str) -> str:
        return f"<missing {key}>"


def processes(env: Mapping[str, str] | None = None) -> dict[str, Service]:
    return {service.name: service for service in build_services(_Env(env or {}))}


def relative(argv: list[str]) -> list[str]:
    """An argv with its paths relative to the project (PROJECT_ROOT here, /app in the image),
    and this interpreter as the `.venv` one, as `make run` starts it."""
    argv = [str(PROJECT_ROOT / ".venv" / "bin" / "python") if arg == sys.executable else arg
            for arg in argv]
    for root in (str(PROJECT_ROOT), IMAGE_ROOT):
        argv = [arg[len(root) + 1:] if arg.startswith(root + "/") else arg for arg in argv]
    return argv


def assert_names(process: Service, given: set[str], where: str) -> None:
    """`given` is the whole table but what the supervisor hides from this process, plus the
    variables the supervisor and the deployment add on purpose."""
    expected = readme_variables() - process.hidden_env
    extra = set(process.extra_env) | DEPLOY_ONLY.get(process.name, set())
    assert expected - given == set(), f"{where}: {process.name} lacks these"
    assert given - extra - expected == set(), f"{where}: {process.name} gets these unlisted"


# --- (a) everything parses ------------------------------------------------------------------
def test_every_yaml_file_under_deploy_parses() -> None:
    files = yaml_files()
    assert COMPOSE in files and any(p.parent == KUBERNETES for p in files)
    for path in files:
        docs = load_all(path)
        assert docs and all(isinstance(doc, dict) for doc in docs), path
    for doc in kubernetes_docs():
        assert {"apiVersion", "kind", "metadata"} <= set(doc), doc
        assert doc["metadata"].get("name"), doc


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_haproxy_accepts_its_configuration() -> None:
    result = subprocess.run(["haproxy", "-c", "-f", str(HAPROXY)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_holds_both_environments_the_project_and_the_model() -> None:
    dockerfile = DOCKERFILE.read_text("utf-8")
    assert re.search(r"^FROM python:3\.10-slim\b", dockerfile, re.M)
    assert re.search(rf"^WORKDIR {IMAGE_ROOT}$", dockerfile, re.M)
    for needed in ("requirements/rasa.lock", "requirements/app.lock", "-m venv .venv-rasa",
                   "-m venv .venv ", "models/privacy-assistant.tar.gz"):
        assert needed in dockerfile, needed
    ignored = (PROJECT_ROOT / ".dockerignore").read_text("utf-8").splitlines()
    for excluded in (".venv", ".venv-rasa", "var", ".env", ".git"):
        assert excluded in ignored, excluded
    assert "!models/privacy-assistant.tar.gz" in ignored


# --- (b) compose: the whole table, to each process ----------------------------------------
def test_compose_gives_each_process_every_variable_of_the_readme_table() -> None:
    services = compose()["services"]
    given: set[str] = set()
    for name, process in processes().items():
        names = set(compose_env(name, services))
        assert_names(process, names, "compose")
        given |= names - set(process.extra_env) - DEPLOY_ONLY.get(name, set())
    assert given == readme_variables()


def test_compose_takes_every_secret_from_the_operator() -> None:
    raw = compose()["services"]
    for name in PROCESSES:
        environment = raw[name].get("environment") or {}
        for secret in SECRETS & set(environment):
            assert re.fullmatch(rf"\$\{{{secret}:\?[^}}]*\}}", str(environment[secret])), (
                name, secret)


# --- (c) Kubernetes: the whole table, in the ConfigMap and the Secrets -------------------
def test_kubernetes_config_and_secrets_name_every_variable_of_the_readme_table() -> None:
    config = {key for data in kubernetes_data("ConfigMap").values() for key in data}
    secret = {key for data in kubernetes_data("Secret").values() for key in data}
    assert config | secret == readme_variables()
    assert SECRETS <= secret and not SECRETS & config


def test_kubernetes_gives_each_process_every_variable_of_the_readme_table() -> None:
    for name, process in processes().items():
        assert_names(process, set(container_env(deployment(name))), "kubernetes")


def test_kubernetes_probes_the_health_routes() -> None:
    paths = {"backend": "/health", "actions": "/health", "rasa": "/"}
    for name, path in paths.items():
        probe = deployment(name)["readinessProbe"]["httpGet"]
        assert probe["path"] == path, name


# --- (d) the commands of `make run` ----------------------------------------------------------
@pytest.mark.parametrize("name", PROCESSES)
def test_compose_runs_the_commands_of_make_run(name: str) -> None:
    env = compose_env(name)
    process = processes(env)[name]
    assert relative(compose_command(name)) == relative(process.argv)
    assert {key: env.get(key) for key in process.extra_env} == process.extra_env


@pytest.mark.parametrize("name", PROCESSES)
def test_kubernetes_runs_the_commands_of_make_run(name: str) -> None:
    container = deployment(name)
    env = container_env(container)
    process = processes(env)[name]
    command = [_expand(arg, env) for arg in container["command"] + container.get("args", [])]
    assert relative(command) == relative(process.argv)
    assert {key: env.get(key) for key in process.extra_env} == process.extra_env


# --- (e) the staff token, with the backend only; the action server, unpublished ------------
def test_only_the_backend_gets_the_staff_token() -> None:
    hidden_from = {name for name, process in processes().items()
                   if STAFF_ONLY <= process.hidden_env}
    assert hidden_from == set(PROCESSES) - {"backend"}
    services = compose()["services"]
    in_compose = {name for name in services if STAFF_ONLY & set(compose_env(name, services))}
    assert in_compose == {"backend"}
    in_kubernetes = {name for name, container in workloads()
                     if STAFF_ONLY & set(container_env(container))}
    assert in_kubernetes == {"backend"}
    assert not STAFF_ONLY & {key for data in kubernetes_data("ConfigMap").values() for key in data}


def test_only_the_load_balancer_is_published() -> None:
    services = compose()["services"]
    assert {name for name, service in services.items() if service.get("ports")} == {"haproxy"}
    services_k8s = [doc for doc in kubernetes_docs() if doc["kind"] == "Service"]
    assert all(doc["spec"].get("type", "ClusterIP") == "ClusterIP" for doc in services_k8s)
    routed = {path["backend"]["service"]["name"]
              for doc in kubernetes_docs() if doc["kind"] == "Ingress"
              for rule in doc["spec"]["rules"] for path in rule["http"]["paths"]}
    assert "actions" not in routed and routed == {"backend", "rasa"}


# --- (f) the load balancer -------------------------------------------------------------------
def haproxy_sections() -> dict[str, list[str]]:
    """Each section of haproxy.cfg ("backend rasa_rest", "defaults"...), its lines without
    comments."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for raw in HAPROXY.read_text("utf-8").splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not line[0].isspace():
            current = sections.setdefault(" ".join(line.split()), [])
        else:
            current.append(" ".join(line.split()))
    return sections


def _serves_rasa(lines: list[str]) -> bool:
    port = compose_env("rasa")["RASA_PORT"]
    return any(re.match(rf"server(-template)? \S+ (\d+ )?rasa:{port}\b", line) for line in lines)


def test_haproxy_balances_the_rasa_replicas_and_checks_them() -> None:
    sections = haproxy_sections()
    rasa = {name: lines for name, lines in sections.items()
            if name.startswith("backend ") and _serves_rasa(lines)}
    assert rasa, "no backend section serves the rasa replicas"
    for name, lines in rasa.items():
        # Rasa answers GET / with 200 once it serves its model.
        assert "http-check send meth GET uri /" in lines or "option httpchk GET /" in lines, name
    defaults = sections.get("defaults", [])
    assert "mode http" in defaults


def test_haproxy_keeps_socketio_sessions_on_their_replica() -> None:
    sections = haproxy_sections()
    frontends = [lines for name, lines in sections.items() if name.startswith("frontend ")]
    acls = {line.split()[1] for lines in frontends for line in lines
            if re.match(r"acl \S+ path_beg /socket\.io", line)}
    assert acls, "no acl matches /socket.io"
    targets = {match.group(1) for lines in frontends for line in lines
               if (match := re.match(r"use_backend (\S+) if (\S+)$", line))
               and match.group(2) in acls}
    assert targets, "no use_backend for the socket.io acl"
    for target in targets:
        lines = sections[f"backend {target}"]
        assert _serves_rasa(lines), target
        sticky = ("balance source" in lines or any(line.startswith(("cookie ", "stick "))
                                                    for line in lines))
        assert sticky, f"backend {target} has no stickiness for long-polling"
    # The upgraded websocket stays open while idle.
    assert any(line.startswith("timeout tunnel ")
               for name, lines in sections.items() if name == "defaults"
               or name.startswith("backend ") and name[8:] in targets for line in lines)
