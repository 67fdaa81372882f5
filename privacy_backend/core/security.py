"""Bearer-token authentication of the API (`PRIVACY_API_TOKEN`, else `var/api_token`)."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from privacy_backend.core.errors import ApiError

log = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False, description="PRIVACY_API_TOKEN or the var/api_token file")


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected: str = request.app.state.api_token
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "Missing bearer token: send 'Authorization: Bearer "
                       "<token>' (PRIVACY_API_TOKEN or the var/api_token file).",
                       headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "Invalid bearer token.",
                       headers={"WWW-Authenticate": "Bearer"})
