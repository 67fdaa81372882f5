"""Typed client for the backend's human-handoff API (`/api/v1/handoffs`).

Same transport rules as `actions.api.requests`: synchronous httpx with an explicit time-out,
dataclasses out, and the same exceptions (`BackendUnavailable`, `ValidationFailed`, ...).
Creating a handoff for a conversation that already has an open one returns that one.
Build one with `HandoffsClient.from_env()`; nothing happens at import time.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from actions.api.errors import (
    BackendError,
    BackendUnavailable,
    Conflict,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from actions.api.requests import DEFAULT_TIMEOUT, _default_token_file, _error_for, backend_url

__all__ = [
    "BackendError",
    "BackendUnavailable",
    "Conflict",
    "Handoff",
    "HandoffStatus",
    "HandoffsClient",
    "NotFound",
    "Unauthorized",
    "ValidationFailed",
]

PATH = "/api/v1/handoffs"


class HandoffStatus(str, enum.Enum):
    WAITING = "waiting"
    ACTIVE = "active"
    CLOSED = "closed"


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


@dataclass(frozen=True)
class Handoff:
    """`agents_online`: agents with a live console session right now (0: nobody to take it)."""

    id: int
    conversation_id: str
    channel: str
    reason: str
    summary: str | None
    status: HandoffStatus
    agent_name: str | None
    agents_online: int
    created_at: datetime
    taken_at: datetime | None
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status is not HandoffStatus.CLOSED

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Handoff:
        created = _dt(data["created_at"])
        assert created is not None
        return cls(id=int(data["id"]), conversation_id=str(data["conversation_id"]),
                   channel=str(data["channel"]), reason=str(data["reason"]),
                   summary=data.get("summary"), status=HandoffStatus(data["status"]),
                   agent_name=data.get("agent_name"),
                   agents_online=int(data.get("agents_online") or 0), created_at=created,
                   taken_at=_dt(data.get("taken_at")), closed_at=_dt(data.get("closed_at")))


class HandoffsClient:
    def __init__(self, base_url: str, token: str, timeout: float = DEFAULT_TIMEOUT,
                 *, transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )

    @classmethod
    def from_env(cls, timeout: float | None = None) -> HandoffsClient:
        """Client for `BACKEND_URL` with `PRIVACY_API_TOKEN` (or the backend's var/api_token)."""
        token = os.environ.get("PRIVACY_API_TOKEN", "").strip()
        if not token:
            path = _default_token_file()
            try:
                token = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise BackendUnavailable(
                    f"no PRIVACY_API_TOKEN and no token file at {path}; start the backend first"
                ) from exc
        if timeout is None:
            timeout = float(os.environ.get("BACKEND_TIMEOUT") or DEFAULT_TIMEOUT)
        return cls(backend_url(), token, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HandoffsClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, *, json: Any = None,
              params: dict[str, str] | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.TimeoutException as exc:
            raise BackendUnavailable(f"the backend did not answer in time ({method} {path})"
                                     ) from exc
        except httpx.TransportError as exc:
            raise BackendUnavailable(f"cannot reach the backend: {type(exc).__name__}") from exc
        if response.is_success:
            try:
                return response.json()
            except ValueError as exc:
                raise BackendUnavailable("the backend answered with invalid JSON",
                                         status_code=response.status_code) from exc
        raise _error_for(response)

    def create(self, conversation_id: str, channel: str, reason: str,
               summary: str | None = None) -> Handoff:
        """Queue the conversation for an agent (or return its handoff that is still open)."""
        body = {"conversation_id": conversation_id, "channel": channel, "reason": reason,
                "summary": summary}
        return Handoff.from_json(self._call("POST", PATH, json=body))

    def get(self, handoff_id: int) -> Handoff:
        return Handoff.from_json(self._call("GET", f"{PATH}/{int(handoff_id)}"))

    def open_for(self, conversation_id: str) -> Handoff | None:
        """The conversation's waiting or active handoff, if it has one."""
        found = self._call("GET", PATH, params={"conversation_id": conversation_id,
                                                "open": "true"})
        return Handoff.from_json(found[0]) if found else None
