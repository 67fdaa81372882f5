"""The configuration of the running assistant: defaults, .env, generated secrets."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from actions.settings import ActionSettings
from privacy_assistant.config import GENERATED_SECRETS, StackSettings, resolve
from privacy_assistant.secret_files import SECRET_FILES, STACK_SECRETS
from privacy_assistant.settings import SharedSettings
from privacy_backend.core.settings import Settings as BackendSettings
from tests.conftest import PROJECT_ROOT

EXAMPLE = PROJECT_ROOT / ".env.example"
SETTINGS = [SharedSettings, StackSettings, ActionSettings, BackendSettings]


def _variables() -> set[str]:
    return {name.upper() for cls in SETTINGS for name in cls.model_fields}


def test_every_setting_is_documented_in_env_example() -> None:
    names = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", EXAMPLE.read_text("utf-8"), re.M))
    assert _variables() - names == set()
    assert names - _variables() == set(), "documented, but no process reads it"


@pytest.mark.parametrize("cls", SETTINGS, ids=lambda cls: cls.__name__)
def test_env_example_shows_the_defaults(cls: type[SharedSettings]) -> None:
    """Copying .env.example to .env changes nothing: each value it shows is the default."""
    assert cls.load({}, env_file=EXAMPLE) == cls.load({}, env_file=None)


def test_readme_table_lists_every_variable_and_only_those() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    listed = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    assert _variables() - listed == set()
    assert listed - _variables() == set()


def test_endpoints_yml_reads_only_variables_the_stack_sets(tmp_path: Path) -> None:
    env = resolve({"VAR_DIR": str(tmp_path)}, env_file=None)
    for name in ("endpoints.yml", "credentials.yml"):
        used = re.findall(r"\$\{(\w+)\}", (PROJECT_ROOT / name).read_text("utf-8"))
        assert [var for var in used if var not in env] == [], name


def test_environment_beats_dotenv_beats_defaults(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('RASA_PORT=6000\nBACKEND_PORT="9000"\n# RASA_HOST=x\n')
    env = resolve({"RASA_PORT": "7000", "VAR_DIR": str(tmp_path / "var")},
                  env_file=tmp_path / ".env")
    assert env["RASA_PORT"] == "7000"
    assert env["BACKEND_PORT"] == "9000"
    assert env["RASA_HOST"] == "127.0.0.1"
    assert env["BACKEND_URL"] == "http://127.0.0.1:9000"
    assert env["RASA_URL"] == "http://127.0.0.1:7000"


def test_secrets_are_generated_once_privately_and_reused(tmp_path: Path) -> None:
    first = resolve({"VAR_DIR": str(tmp_path)}, env_file=None)
    second = resolve({"VAR_DIR": str(tmp_path)}, env_file=None)
    for key, filename in GENERATED_SECRETS.items():
        assert len(first[key]) >= max(32, SECRET_FILES[key].min_chars)
        assert first[key] == second[key]
        mode = stat.S_IMODE((tmp_path / filename).stat().st_mode)
        assert mode == 0o600, (filename, oct(mode))
    assert first["RASA_API_TOKEN"] != first["PRIVACY_API_TOKEN"]


def test_every_secret_has_one_file_of_its_own_in_the_table(tmp_path: Path) -> None:
    assert GENERATED_SECRETS == {secret.variable: secret.filename for secret in STACK_SECRETS}
    assert len({secret.filename for secret in SECRET_FILES.values()}) == len(SECRET_FILES)
    # What the shared settings generate lands in the table's files.
    shared = SharedSettings.load({"VAR_DIR": str(tmp_path)}, env_file=None)
    shared.api_token(), shared.staff_token(), shared.rasa_token()
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        SECRET_FILES[name].filename
        for name in ("PRIVACY_API_TOKEN", "PRIVACY_STAFF_TOKEN", "RASA_API_TOKEN"))


def test_given_secret_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    env = resolve({"VAR_DIR": str(tmp_path), "RASA_API_TOKEN": "given"}, env_file=None)
    assert env["RASA_API_TOKEN"] == "given"
    assert not (tmp_path / "rasa_api_token").exists()


def test_relative_paths_resolve_against_the_project() -> None:
    given = {name: name.lower() for name in GENERATED_SECRETS}  # nothing is generated
    env = resolve({"VAR_DIR": "state", **given}, env_file=None)
    assert env["VAR_DIR"] == str(PROJECT_ROOT / "state")
    assert env["TRACKER_STORE_DB"] == str(PROJECT_ROOT / "state" / "rasa_tracker.db")
    assert env["DATABASE_URL"] == f"sqlite:///{PROJECT_ROOT / 'state' / 'privacy.db'}"
    assert env["KNOWLEDGE_DIR"] == str(PROJECT_ROOT / "data" / "knowledge")
    assert not (PROJECT_ROOT / "state").exists()


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
    for name, filename in GENERATED_SECRETS.items():
        assert f"{name}=<set>" in out
        generated = tmp_path / filename
        if generated.exists():
            assert generated.read_text().strip() not in out
    assert "DATABASE_URL=postgresql://app:***@db.internal:5432/privacy" in out
    assert "pa@ss:word" not in out
