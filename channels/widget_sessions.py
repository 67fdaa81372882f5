"""The widget's sessions on the socket.io channel (`channels/socketio.py`): the signed tokens
the server issues, the conversations ended with "End chat" (whose tokens are refused from
then on), the client metadata check and the client's address. Runs in the Rasa environment.
"""

from __future__ import annotations

import json
import time
from typing import Any

import jwt

from channels.claims import ClaimStore

MAX_METADATA_CHARS = 4096
# How long a widget may resume its conversation after its last session. The token lives in
# the tab's sessionStorage, so a day covers every reload of an open tab; a copied token is
# worth no more than that.
SESSION_DAYS = 1
_ALGORITHM = "HS256"
_AUDIENCE = "privacy-assistant-widget"


def issue_token(secret: str, session_id: str, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    return jwt.encode({"sub": session_id, "aud": _AUDIENCE, "iat": issued,
                       "exp": issued + SESSION_DAYS * 86400}, secret, algorithm=_ALGORITHM)


def session_of(secret: str, token: object) -> str | None:
    """The conversation id a token was issued for, or None if it is not one of ours."""
    if not isinstance(token, str) or not token or len(token) > 1024:
        return None
    try:
        claims = jwt.decode(token, secret, algorithms=[_ALGORITHM], audience=_AUDIENCE,
                            options={"require": ["sub", "exp"]})
    except jwt.PyJWTError:
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) and subject else None


class EndedSessions(ClaimStore):
    """Conversations ended with "End chat" or "Delete chat": every token issued for one is
    refused from then on, on every replica (Redis), for as long as such a token could
    live. The conversation id is random and never issued again, so the key is that id."""

    def __init__(self, redis_url: str = "") -> None:
        super().__init__(redis_url, prefix="privacy-assistant:widget-ended:")

    async def end(self, session_id: str) -> None:
        # `claim`, not `put`: an in-process store then drops its expired keys when full.
        await self.claim(session_id, SESSION_DAYS * 86400)

    async def ended(self, session_id: str) -> bool:
        return await self.has(session_id)


def checked_metadata(raw: object) -> dict[str, Any] | None:
    """Client metadata as a dict, or None when it is not a small JSON object."""
    if raw is None:
        return {}
    if isinstance(raw, str):
        if len(raw) > MAX_METADATA_CHARS:
            return None
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    if not isinstance(raw, dict):
        return None
    try:
        if len(json.dumps(raw)) > MAX_METADATA_CHARS:
            return None
    except (TypeError, ValueError):
        return None
    return raw


def client_address(environ: Any) -> str:
    """The client's address for the per-address limits: Sanic's, which takes the last
    `RASA_PROXIES_COUNT` X-Forwarded-For entries when proxies are trusted, else the peer."""
    request = environ.get("sanic.request") if isinstance(environ, dict) else None
    if request is None:
        return "unknown"
    try:
        return str(request.remote_addr or request.ip or "unknown")
    except Exception:  # a request whose headers Sanic cannot parse
        return "unknown"
