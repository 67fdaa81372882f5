"""Rasa's REST channel behind a bearer token, for server-to-server use and tests.

Rasa 3.6's own REST channel takes a message from anyone who can reach the server, with a
sender id of their choice: whoever knows a visitor's id can write into that conversation.
This channel keeps the name `rest` (so the webhook stays at `/webhooks/rest/webhook`) and
refuses any request to the webhook without `Authorization: Bearer <REST_CHANNEL_TOKEN>`:
401 with a JSON error, before the body is read, so nothing reaches the tracker. The token
is compared in constant time. The health route (`GET /webhooks/rest/`) stays open.

credentials.yml gives the token as `token: ${REST_CHANNEL_TOKEN}`; the channel refuses to
start without one of at least `MIN_TOKEN_CHARS` characters (`make run` generates one into
`var/rest_channel_token`).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

MIN_TOKEN_CHARS = 32


class TokenRestInput(RestInput):
    """The REST channel, answering only callers that send the channel's bearer token."""

    def __init__(self, token: str) -> None:
        if len(token) < MIN_TOKEN_CHARS:
            raise ValueError(f"the REST channel's token (REST_CHANNEL_TOKEN) needs at least "
                             f"{MIN_TOKEN_CHARS} characters; `make run` generates one")
        self._token = token.encode("utf-8")

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TokenRestInput:
        return cls(str((credentials or {}).get("token") or "").strip())

    def authorised(self, request: Request) -> bool:
        """Whether the request carries `Authorization: Bearer <the channel's token>`."""
        scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode("utf-8"), self._token)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        # Blueprint middleware runs for this blueprint's routes only, before the handler:
        # an unauthorised request never reaches Rasa's message handling.
        @webhook.middleware("request")
        async def require_token(request: Request) -> HTTPResponse | None:
            if request.method == "GET" and request.path.rstrip("/").endswith("/rest"):
                return None  # the health route
            if self.authorised(request):
                return None
            return response.json(
                {"status": "failure", "reason": "NotAuthenticated",
                 "message": "Send the REST channel's token as 'Authorization: Bearer <token>'."},
                status=401, headers={"WWW-Authenticate": 'Bearer realm="rasa-rest"'},
            )

        return webhook
