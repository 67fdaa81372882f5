"""Agent-console authentication: the session cookie, the CSRF token every state-changing
console call must echo in the `X-CSRF-Token` header, and the privacy-admin role that the
fulfilment workbench needs."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Response

from privacy_backend.api.deps import NowDep, SessionDep
from privacy_backend.core.errors import ApiError
from privacy_backend.core.middleware import https_deployment
from privacy_backend.core.models import AgentRole, AgentSession
from privacy_backend.core.settings import Settings
from privacy_backend.services import agents

COOKIE = "console_session"
COOKIE_PATH = "/console"
CSRF_HEADER = "X-CSRF-Token"


def set_cookie(response: Response, value: str, *, settings: Settings, max_age: int) -> None:
    """The session cookie; `Secure` whenever the public address (PUBLIC_BASE_URL) is https,
    whatever a proxy says about the request's scheme."""
    response.set_cookie(COOKIE, value, max_age=max_age, path=COOKIE_PATH, httponly=True,
                        samesite="strict", secure=https_deployment(settings.public_url))


def clear_cookie(response: Response, *, settings: Settings) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict",
                           secure=https_deployment(settings.public_url))


def current_session(request: Request, session: SessionDep, now: NowDep) -> AgentSession:
    value = request.cookies.get(COOKIE)
    record = agents.live_session(session, value, now=now) if value else None
    if record is None:
        raise ApiError(401, "login_required",
                       "Log in to the console (your session is missing or has expired).")
    return record


def csrf_checked(request: Request, record: Annotated[AgentSession, Depends(current_session)]
                 ) -> AgentSession:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), record.csrf_token.encode()):
        raise ApiError(403, "csrf_failed",
                       f"Missing or wrong {CSRF_HEADER} header; reload the console.")
    return record


def _require_privacy_admin(record: AgentSession) -> AgentSession:
    if record.agent.role is not AgentRole.PRIVACY_ADMIN:
        raise ApiError(403, "privacy_admin_only",
                       "Only a privacy admin works privacy requests in the console.")
    return record


def privacy_admin(record: Annotated[AgentSession, Depends(current_session)]) -> AgentSession:
    """A privacy admin's session (403 `privacy_admin_only` for an agent)."""
    return _require_privacy_admin(record)


def privacy_admin_csrf(record: Annotated[AgentSession, Depends(csrf_checked)]) -> AgentSession:
    """A privacy admin's session whose call carries its CSRF token (checked first)."""
    return _require_privacy_admin(record)


AgentSessionDep = Annotated[AgentSession, Depends(current_session)]
CsrfSessionDep = Annotated[AgentSession, Depends(csrf_checked)]
PrivacyAdminDep = Annotated[AgentSession, Depends(privacy_admin)]
PrivacyAdminCsrfDep = Annotated[AgentSession, Depends(privacy_admin_csrf)]
