"""Unverified requests close after 7 days (the backend's loop, at start-up and hourly, or
the CLI); migrations."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from privacy_backend import cli
from privacy_backend.core.db import make_engine
from privacy_backend.core.models import Base
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.main import create_app

from .support import Api, FakeClock, TestClient


def test_unverified_requests_close_after_seven_days(api: Api) -> None:
    ref = api.create()["reference"]
    verified = api.create(email="b@example.com")["reference"]
    api.verify(verified)
    api.clock.advance(days=6, hours=23)
    assert api.close_unverified() == 0
    assert api.staff.get(f"/api/v1/requests/{ref}").json()["status"] == "pending_verification"
    api.clock.advance(hours=1)
    # Reading does not close a request: the close step does.
    assert api.staff.get(f"/api/v1/requests/{ref}").json()["status"] == "pending_verification"
    assert api.close_unverified() == 1
    listed = {r["reference"]: r["status"] for r in api.staff.get("/api/v1/requests").json()}
    assert listed == {ref: "closed_unverified", verified: "verified"}
    last = api.staff.get(f"/api/v1/requests/{ref}/audit").json()[-1]
    assert (last["actor"], last["after"]) == ("system", {"status": "closed_unverified"})
    assert "7 days" in last["note"]
    late = api.post(f"/api/v1/requests/{ref}/resend-code")
    assert late.status_code == 409


def test_serve_closes_unverified_requests_at_start_up(db: Engine, settings: Settings,
                                                      store: TrackerStore) -> None:
    clock = FakeClock()
    with TestClient(create_app(settings, engine=db, clock=clock, tracker_store=store)) as client:
        ref = Api(client=client, engine=db, settings=settings, clock=clock).create()["reference"]
    clock.advance(days=settings.unverified_close_days, seconds=1)
    app = create_app(settings, engine=db, clock=clock, tracker_store=store, background=True)
    with TestClient(app) as client:
        api = Api(client=client, engine=db, settings=settings, clock=clock).staff
        deadline = time.monotonic() + 10
        while api.get(f"/api/v1/requests/{ref}").json()["status"] != "closed_unverified":
            assert time.monotonic() < deadline, "not closed at start-up"
            time.sleep(0.05)


def test_cli_migrate_and_close_unverified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    var = tmp_path / "var"
    monkeypatch.setenv("VAR_DIR", str(var))
    assert cli.main(["migrate"]) == 0
    assert (var / "privacy.db").exists()
    settings = Settings(_env_file=None)
    engine = make_engine(settings.sqlalchemy_url)
    clock = FakeClock()  # 2025: long before the real "now" the CLI uses
    with TestClient(create_app(settings, engine=engine, clock=clock)) as client:
        token = (var / "api_token").read_text().strip()
        created = client.post("/api/v1/requests", headers={"Authorization": f"Bearer {token}"},
                              json={"type": "access", "email": "a@example.com"})
        assert created.status_code == 201
    engine.dispose()
    assert cli.main(["close-unverified"]) == 0
    assert "closed 1 unverified request(s)" in capsys.readouterr().out


def test_models_match_the_migrations(db: Engine) -> None:
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_cli_serve_parses_host_and_port() -> None:
    args = cli.build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9000"])
    assert (args.host, args.port, args.no_migrate) == ("0.0.0.0", 9000, False)
