"""Fixtures for the backend: a real migrated database (SQLite file, and PostgreSQL when one is
reachable), the real app through FastAPI's test client, an injectable clock, the real mailer."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from privacy_backend.core.db import make_engine, upgrade
from privacy_backend.core.models import Base
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.main import create_app

from .support import STAFF_TOKEN, TOKEN, Api, FakeClock, TestClient
from .tracker_support import rasa_store

ENV_VARS = [name.upper() for name in Settings.model_fields] + ["BACKEND_URL", "BACKEND_TIMEOUT"]
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


def _postgres_reason() -> str | None:
    url = make_url(POSTGRES_URL)
    host, port = url.host or "127.0.0.1", url.port or 5432
    try:
        with socket.create_connection((host, port), timeout=1):
            pass
    except OSError as exc:
        return f"PostgreSQL not reachable on {host}:{port} ({exc.strerror or exc})"
    return None


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Engine]:
    """A migrated database for the session. PostgreSQL gets a private schema, dropped after."""
    if request.param == "sqlite":
        db = tmp_path_factory.mktemp("db") / "privacy.db"
        eng = make_engine(f"sqlite:///{db}")
        upgrade(engine=eng)
        yield eng
        eng.dispose()
        return
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    schema = f"pb_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} refused us: {exc}")
    eng = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine=eng)
    yield eng
    eng.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db(engine: Engine) -> Iterator[Engine]:
    """The engine, with every table emptied after the test (tests commit for real, like the
    service does), children before parents, so that no test sees another's rows."""
    yield engine
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def settings(var_dir: Path) -> Settings:
    return Settings(_env_file=None, var_dir=var_dir, privacy_api_token=TOKEN,
                    privacy_staff_token=STAFF_TOKEN,
                    verification_secret="test-secret-" + "v" * 24)


@pytest.fixture
def api(db: Engine, settings: Settings, clock: FakeClock) -> Iterator[Api]:
    app = create_app(settings, engine=db, clock=clock)
    with TestClient(app) as client:
        yield Api(client=client, engine=db, settings=settings, clock=clock)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TrackerStore]:
    """An empty tracker store shaped like Rasa's, in a SQLite file of the test's own."""
    tracker = rasa_store(tmp_path)
    yield tracker
    tracker.close()


@pytest.fixture
def store_api(db: Engine, settings: Settings, clock: FakeClock, store: TrackerStore
              ) -> Iterator[Api]:
    """The app reading and erasing conversations in `store`."""
    yield from api_over(store, db, settings, clock)


def api_over(store: TrackerStore, db: Engine, settings: Settings, clock: FakeClock
             ) -> Iterator[Api]:
    """The app with `store` as Rasa's tracker store, for as long as the caller needs it."""
    app = create_app(settings, engine=db, clock=clock, tracker_store=store)
    with TestClient(app) as client:
        yield Api(client=client, engine=db, settings=settings, clock=clock)
