"""Signing in to the agent console (`/console/api/login`, `/session`, `/logout`): a login
checked against the lockout, the session cookie it sets, and the CSRF token the page echoes
on every POST."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response

from privacy_backend.api.deps import NowDep, SessionDep, SettingsDep
from privacy_backend.console.auth import (
    AgentSessionDep,
    CsrfSessionDep,
    clear_cookie,
    set_cookie,
)
from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import AgentSession
from privacy_backend.schemas.handoffs import AgentOut, LoginIn, SessionOut
from privacy_backend.services import agents

log = logging.getLogger(__name__)
router = APIRouter()


def _session_out(record: AgentSession) -> SessionOut:
    agent = record.agent
    return SessionOut(agent=AgentOut(id=agent.id, name=agent.name, email=agent.email,
                                           role=agent.role),
                      csrf_token=record.csrf_token, expires_at=record.expires_at)


@router.post("/login", response_model=SessionOut)
def login(body: LoginIn, request: Request, response: Response, session: SessionDep,
          settings: SettingsDep, now: NowDep) -> SessionOut:
    # The client's address: behind a proxy, the hop the proxy saw (core.middleware.
    # ForwardedClient), never what the client wrote into X-Forwarded-For.
    client = agents.client_key(request.app.state.code_secret,
                               request.client.host if request.client else None)
    try:
        # Records the attempt (committed) before argon2 runs, outside any transaction.
        agent = agents.authenticate(session, body.email, body.password, settings=settings,
                                    now=now, client=client)
    except agents.LockedOut as locked:
        raise ApiError(429, "locked_out", "Too many failed logins: try again later.",
                       headers={"Retry-After": str(locked.retry_after)},
                       retry_after=locked.retry_after) from None
    except agents.LoginFailed:
        raise ApiError(401, "login_failed", "Wrong email or password.") from None
    new = agents.start_session(session, agent, settings=settings, now=now)
    session.commit()
    set_cookie(response, new.cookie_value, settings=settings,
               max_age=int(settings.agent_session_hours * 3600))
    log.info("agent %s logged in", agent.id)
    return _session_out(new.record)


@router.get("/session", response_model=SessionOut)
def current(record: AgentSessionDep) -> SessionOut:
    return _session_out(record)


@router.post("/logout", status_code=204)
def logout(record: CsrfSessionDep, response: Response, session: SessionDep,
           settings: SettingsDep, now: NowDep) -> Response:
    agents.end_session(record, now=now)
    session.commit()
    clear_cookie(response, settings=settings)
    response.status_code = 204
    return response
