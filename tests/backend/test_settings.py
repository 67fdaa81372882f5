"""Configuration: `.env.example` documents every setting with its real default; health."""

from __future__ import annotations

import re
from pathlib import Path

from privacy_backend.core.db import make_engine
from privacy_backend.core.settings import Settings
from privacy_backend.main import create_app

from .support import TestClient

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


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
