"""Helpers for the handoff and console tests: agents, logins, clean tables, and the app
with Rasa's HTTP API played by a loopback stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import Engine

from privacy_backend.core.models import (
    Agent,
    AgentRole,
    AgentSession,
    Handoff,
    LoginAttempt,
    TranscriptRead,
)
from privacy_backend.core.settings import Settings
from privacy_backend.main import create_app
from privacy_backend.services import agents

from .rasa_standin import RasaStandIn
from .support import Api, FakeClock, TestClient

CONSOLE_TABLES = (TranscriptRead, Handoff, AgentSession, LoginAttempt, Agent)  # children first
PASSWORD = "correct horse battery staple"


def clean(engine: Engine) -> None:
    with engine.begin() as conn:
        for model in CONSOLE_TABLES:
            conn.execute(model.__table__.delete())


def make_agent(api: Api, email: str = "sam@example.com", name: str = "Sam",
               role: AgentRole = AgentRole.AGENT) -> int:
    with api.client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        agent: Agent = agents.create_agent(session, email, name, PASSWORD, now=api.clock(),
                                           role=role)
        session.commit()
        return agent.id


class Console:
    """One agent's browser: its own cookie jar (a test client per agent) and CSRF token."""

    def __init__(self, api: Api, email: str = "sam@example.com",
                 client: tuple[str, int] = ("testclient", 50000)) -> None:
        from .support import TestClient

        self.api = api
        self.email = email
        # The browser reaches the console at the public address: over https when the
        # deployment is (its session cookie is then `Secure`, sent over https only).
        secure = api.client.app.state.settings.public_url.startswith("https://")
        self.client = TestClient(api.client.app, client=client,
                                 base_url="https://testserver" if secure else "http://testserver")
        self.csrf = ""

    def login(self, password: str = PASSWORD) -> httpx.Response:
        response = self.client.post("/console/api/login",
                                    json={"email": self.email, "password": password})
        if response.status_code == 200:
            self.csrf = response.json()["csrf_token"]
        return response

    def get(self, path: str) -> httpx.Response:
        return self.client.get(f"/console/api{path}")

    def post(self, path: str, json: Any = None, *, csrf: bool = True) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return self.client.post(f"/console/api{path}", json=json, headers=headers)


def logged_in(api: Api, email: str, name: str, role: AgentRole = AgentRole.AGENT) -> Console:
    """A new agent (`role`), logged in to the console in a browser of their own."""
    make_agent(api, email=email, name=name, role=role)
    console = Console(api, email=email)
    assert console.login().status_code == 200
    return console


def rasa_standin(secret: str, conversation: str, events: list[dict[str, Any]]
                 ) -> Iterator[RasaStandIn]:
    """Rasa's HTTP API on a loopback port, checking callers' JWTs against `secret`, holding
    one conversation's `events` (a fixture yields from it)."""
    standin = RasaStandIn(secret=secret)
    standin.start()
    standin.conversations[conversation] = events
    yield standin
    standin.stop()


def console_api(db: Engine, settings: Settings, clock: FakeClock, rasa: RasaStandIn,
                secret: str) -> Iterator[Api]:
    """The real app, calling the stand-in `rasa` with `secret`, under a test client; the
    console's tables are emptied afterwards (a fixture yields from it)."""
    settings = settings.model_copy(update={"rasa_url": rasa.url,
                                           "rasa_api_token": SecretStr(secret)})
    with TestClient(create_app(settings, engine=db, clock=clock)) as client:
        yield Api(client=client, engine=db, settings=settings, clock=clock)
    clean(db)
