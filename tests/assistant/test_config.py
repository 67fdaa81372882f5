"""The configuration of the running assistant: defaults, .env, generated secrets."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from privacy_assistant.config import DEFAULTS, GENERATED_SECRETS, resolve
from tests.conftest import PROJECT_ROOT


def test_every_setting_is_documented_in_env_example() -> None:
    example = (PROJECT_ROOT / ".env.example").read_text("utf-8")
    names = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.M))
    assert set(DEFAULTS) | set(GENERATED_SECRETS) <= names


def test_endpoints_yml_reads_only_variables_the_stack_sets(tmp_path: Path) -> None:
    env = resolve({"VAR_DIR": str(tmp_path)}, root=tmp_path)
    for name in ("endpoints.yml", "credentials.yml"):
        used = re.findall(r"\$\{(\w+)\}", (PROJECT_ROOT / name).read_text("utf-8"))
        assert [var for var in used if var not in env] == [], name


def test_environment_beats_dotenv_beats_defaults(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('RASA_PORT=6000\nBACKEND_PORT="9000"\n# RASA_HOST=x\n')
    env = resolve({"RASA_PORT": "7000", "VAR_DIR": str(tmp_path / "var")}, root=tmp_path)
    assert env["RASA_PORT"] == "7000"
    assert env["BACKEND_PORT"] == "9000"
    assert env["RASA_HOST"] == "127.0.0.1"
    assert env["BACKEND_URL"] == "http://127.0.0.1:9000"
    assert env["RASA_URL"] == "http://127.0.0.1:7000"


def test_secrets_are_generated_once_privately_and_reused(tmp_path: Path) -> None:
    first = resolve({"VAR_DIR": str(tmp_path)}, root=tmp_path)
    second = resolve({"VAR_DIR": str(tmp_path)}, root=tmp_path)
    for key, filename in GENERATED_SECRETS.items():
        assert len(first[key]) >= 32 and first[key] == second[key]
        mode = stat.S_IMODE((tmp_path / filename).stat().st_mode)
        assert mode == 0o600, (filename, oct(mode))
    assert first["RASA_API_TOKEN"] != first["PRIVACY_API_TOKEN"]


def test_given_secret_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    env = resolve({"VAR_DIR": str(tmp_path), "RASA_API_TOKEN": "given"}, root=tmp_path)
    assert env["RASA_API_TOKEN"] == "given"
    assert not (tmp_path / "rasa_api_token").exists()


def test_relative_paths_resolve_against_the_project(tmp_path: Path) -> None:
    env = resolve({"VAR_DIR": "state"}, root=tmp_path)
    assert env["VAR_DIR"] == str(tmp_path / "state")
    assert env["TRACKER_STORE_DB"] == str(tmp_path / "state" / "rasa_tracker.db")
    assert env["DATABASE_URL"] == f"sqlite:///{tmp_path / 'state' / 'privacy.db'}"


def test_printed_configuration_hides_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    from privacy_assistant.stack import main

    old = dict(os.environ)
    os.environ.update({"VAR_DIR": str(tmp_path), "RASA_API_TOKEN": "tok-visible-nowhere",
                       "DATABASE_URL": "postgresql://app:pa@ss:word@db.internal:5432/privacy"})
    try:
        main(["env"])
    finally:
        os.environ.clear()
        os.environ.update(old)
    out = capsys.readouterr().out
    assert "RASA_API_TOKEN=<set>" in out and "tok-visible-nowhere" not in out
    assert "DATABASE_URL=postgresql://app:***@db.internal:5432/privacy" in out
    assert "pa@ss:word" not in out
