"""Bearer-token authentication on every /api/ route; the generated token files; the two
credentials are distinct."""

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


@pytest.mark.parametrize(("filename", "staff"), [("api_token", False), ("staff_token", True)])
def test_generated_tokens_are_private_and_reused(db: Engine, var_dir: Path, filename: str,
                                                 staff: bool) -> None:
    settings = Settings(_env_file=None, var_dir=var_dir)
    create_app(settings, engine=db)
    token_file = var_dir / filename
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert len(token) >= 32
    app = create_app(settings, engine=db)
    assert token_file.read_text().strip() == token
    with TestClient(app) as client:
        listed = client.get("/api/v1/requests", headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == (200 if staff else 403)
        filed = client.post("/api/v1/requests", headers={"Authorization": f"Bearer {token}"},
                            json={"type": "access", "email": "a@example.com"})
        assert filed.status_code == 201


def test_env_tokens_win_and_no_file_is_written(db: Engine, var_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_API_TOKEN", "assistant-from-the-environment")
    monkeypatch.setenv("PRIVACY_STAFF_TOKEN", "staff-from-the-environment")
    app = create_app(Settings(_env_file=None, var_dir=var_dir), engine=db)
    assert not (var_dir / "api_token").exists() and not (var_dir / "staff_token").exists()
    with TestClient(app) as client:
        staff = {"Authorization": "Bearer staff-from-the-environment"}
        assistant = {"Authorization": "Bearer assistant-from-the-environment"}
        assert client.get("/api/v1/requests", headers=staff).status_code == 200
        assert client.get("/api/v1/requests", headers=assistant).status_code == 403


def test_one_token_cannot_be_both_credentials(db: Engine, var_dir: Path) -> None:
    settings = Settings(_env_file=None, var_dir=var_dir, privacy_api_token="same-token",
                        privacy_staff_token="same-token")
    with pytest.raises(ValueError, match="must differ"):
        create_app(settings, engine=db)


def test_secret_file_with_loose_permissions_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("abc\n")
    path.chmod(0o644)
    assert load_or_create_secret(path) == "abc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
