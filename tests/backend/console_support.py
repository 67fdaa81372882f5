"""Helpers for the handoff and console tests: agents, logins, and clean tables."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import Engine

from privacy_backend.core.models import (
    Agent,
    AgentRole,
    AgentSession,
    Handoff,
    LoginAttempt,
    TranscriptRead,
)
from privacy_backend.services import agents

from .support import Api

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
        self.client = TestClient(api.client.app, client=client)
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
