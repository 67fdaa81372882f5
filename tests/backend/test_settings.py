"""Configuration: `.env.example` documents every setting with its real default; health."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from privacy_assistant.secret_files import WeakSecret
from privacy_backend.core.db import make_engine
from privacy_backend.core.settings import Settings
from privacy_backend.main import create_app

from .support import TestClient

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE = PROJECT / ".env.example"


def test_env_example_lists_every_setting() -> None:
    names = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", EXAMPLE.read_text(), re.M))
    expected = {name.upper() for name in Settings.model_fields}
    assert expected - names == set()
    assert {"BACKEND_URL", "BACKEND_TIMEOUT"} <= names  # the client's own


def test_env_example_values_are_the_defaults() -> None:
    assert Settings(_env_file=EXAMPLE) == Settings(_env_file=None)


def test_health_reports_an_unreachable_database(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, var_dir=tmp_path, privacy_api_token="t")
    engine = make_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings, engine=engine)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


# --- weak secrets: the backend refuses to start (issue 22) ----------------------------------
STRONG = "s" * 43  # as long as a generated secret
BACKEND_SECRETS = ("VERIFICATION_SECRET", "UNSUBSCRIBE_SECRET", "PRIVACY_API_TOKEN",
                   "PRIVACY_STAFF_TOKEN")


def _start(tmp_path: Path, **environ: str) -> None:
    """Build the backend from `environ` as a deployment gives it (the API tokens distinct)."""
    given = {"VAR_DIR": str(tmp_path / "var"), "PRIVACY_API_TOKEN": "api-" + STRONG,
             "PRIVACY_STAFF_TOKEN": "staff-" + STRONG, **environ}
    settings = Settings.load(given, env_file=None)
    create_app(settings, engine=make_engine(f"sqlite:///{tmp_path / 'privacy.db'}"))


@pytest.mark.parametrize("variable", BACKEND_SECRETS)
@pytest.mark.parametrize("placeholder", ["REPLACE-ME", "replace-me", " changeme ",
                                         "REPLACE-ME-" + "x" * 32])
def test_a_placeholder_secret_is_refused_naming_the_variable_not_the_value(
        tmp_path: Path, variable: str, placeholder: str) -> None:
    """Whoever read the shipped secrets.yaml knows `REPLACE-ME`: a backend keyed or guarded by
    it must not start."""
    with pytest.raises(WeakSecret) as refused:
        _start(tmp_path, **{variable: placeholder})
    message = str(refused.value)
    assert variable in message and "placeholder" in message
    assert placeholder.strip() not in message


@pytest.mark.parametrize("variable", ["VERIFICATION_SECRET", "UNSUBSCRIBE_SECRET"])
def test_a_short_key_is_refused_and_32_characters_start(tmp_path: Path, variable: str) -> None:
    short = "k7Q" * 10 + "z"  # 31 characters
    with pytest.raises(WeakSecret) as refused:
        _start(tmp_path, **{variable: short})
    assert variable in str(refused.value) and "32" in str(refused.value)
    assert short not in str(refused.value)
    _start(tmp_path, **{variable: short + "z"})


def test_a_weak_secret_in_the_generated_file_is_refused_and_generated_ones_start(
        tmp_path: Path) -> None:
    _start(tmp_path)  # generates both keys (43 characters)
    for name in ("verification_secret", "unsubscribe_secret"):
        assert len((tmp_path / "var" / name).read_text().strip()) >= 43
    (tmp_path / "var" / "verification_secret").write_text("short\n")
    with pytest.raises(WeakSecret, match="VERIFICATION_SECRET .*verification_secret"):
        _start(tmp_path)


def test_the_shipped_kubernetes_secrets_are_refused(tmp_path: Path) -> None:
    """Applying deploy/kubernetes/secrets.yaml unedited gives a backend that does not start."""
    shipped: dict[str, str] = {}
    manifest = PROJECT / "deploy" / "kubernetes" / "secrets.yaml"
    for doc in yaml.safe_load_all(manifest.read_text("utf-8")):
        if doc and doc.get("kind") == "Secret":
            shipped.update({k: str(v) for k, v in (doc.get("stringData") or {}).items()})
    given = {name: shipped[name] for name in BACKEND_SECRETS}
    with pytest.raises(WeakSecret):
        _start(tmp_path, **given)
