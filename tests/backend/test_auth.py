"""Bearer-token authentication on every /api/ route; the generated token file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine

from privacy_assistant.settings import load_or_create_secret
from privacy_backend.core.settings import Settings
from privacy_backend.main import create_app

from .support import Api, TestClient


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer"},
])
def test_api_routes_need_the_token(api: Api, headers: dict[str, str]) -> None:
    for method, url in [("POST", "/api/v1/requests"), ("GET", "/api/v1/requests"),
                        ("GET", "/api/v1/requests/PR-2222-2222"),
                        ("POST", "/api/v1/verifications")]:
        response = api.client.request(method, url, headers=headers,
                                      json={"type": "access", "email": "a@example.com"})
        assert response.status_code == 401, (method, url)
        assert response.json()["error"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    assert api.counts()["privacy_requests"] == 0


def test_generated_token_is_private_and_reused(db: Engine, var_dir: Path) -> None:
    settings = Settings(_env_file=None, var_dir=var_dir)
    create_app(settings, engine=db)
    token_file = var_dir / "api_token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert len(token) >= 32
    app = create_app(settings, engine=db)
    assert token_file.read_text().strip() == token
    with TestClient(app) as client:
        ok = client.get("/api/v1/requests", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200


def test_env_token_wins_and_no_file_is_written(db: Engine, var_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_API_TOKEN", "from-the-environment")
    app = create_app(Settings(_env_file=None, var_dir=var_dir), engine=db)
    assert not (var_dir / "api_token").exists()
    with TestClient(app) as client:
        headers = {"Authorization": "Bearer from-the-environment"}
        assert client.get("/api/v1/requests", headers=headers).status_code == 200


def test_secret_file_with_loose_permissions_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("abc\n")
    path.chmod(0o644)
    assert load_or_create_secret(path) == "abc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
