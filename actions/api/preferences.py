"""Typed client for the backend's marketing-preference API (`/api/v1/preferences`).

Transport, configuration and error mapping come from `actions.api.base.BackendClient`:
synchronous httpx with an explicit time-out, dataclasses out, and the same exceptions
(`BackendUnavailable`, `ValidationFailed`, ...).
The chat verifies the address first with `PrivacyRequestsClient.start_verification(...,
purpose="preferences")`; this client only reads and writes the choices. Build one with
`from_env()`; nothing happens at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from actions.api.base import BackendClient, parse_datetime
from actions.api.errors import (
    BackendError,
    BackendUnavailable,
    Conflict,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from privacy_assistant.contract import PreferenceSource

__all__ = [
    "BackendError",
    "BackendUnavailable",
    "Conflict",
    "MarketingPreferences",
    "MarketingPreferencesClient",
    "NotFound",
    "PreferenceChange",
    "PreferenceSource",
    "Unauthorized",
    "UnsubscribeLink",
    "ValidationFailed",
    "from_env",
]

PATH = "/api/v1/preferences"


@dataclass(frozen=True)
class MarketingPreferences:
    """`updated_at is None`: nothing recorded, these are the defaults (nothing subscribed)."""

    email: str
    global_opt_out: bool
    channels: dict[str, dict[str, bool]]
    updated_at: datetime | None

    def subscribed(self, channel: str, topic: str) -> bool:
        """Whether marketing on `topic` may be sent by `channel` (the opt-out wins)."""
        return not self.global_opt_out and self.channels.get(channel, {}).get(topic, False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MarketingPreferences:
        return cls(email=data["email"], global_opt_out=bool(data["global_opt_out"]),
                   channels={c: {t: bool(v) for t, v in topics.items()}
                             for c, topics in data["channels"].items()},
                   updated_at=parse_datetime(data.get("updated_at")))


@dataclass(frozen=True)
class PreferenceChange:
    """One recorded change: only the settings that changed (`channels.email.promotions`...)."""

    id: int
    source: PreferenceSource
    actor: str | None
    conversation_id: str | None
    before: dict[str, bool]
    after: dict[str, bool]
    created_at: datetime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PreferenceChange:
        created = parse_datetime(data["created_at"])
        assert created is not None
        return cls(id=int(data["id"]), source=PreferenceSource(data["source"]),
                   actor=data.get("actor"), conversation_id=data.get("conversation_id"),
                   before=dict(data["before"]), after=dict(data["after"]), created_at=created)


@dataclass(frozen=True)
class UnsubscribeLink:
    url: str
    scope: str
    expires_at: datetime
    headers: dict[str, str]  # List-Unsubscribe, List-Unsubscribe-Post


class MarketingPreferencesClient(BackendClient):
    def get(self, email: str) -> MarketingPreferences:
        return MarketingPreferences.from_json(self._call("GET", PATH, params={"email": email}))

    def update(self, email: str, changes: Mapping[str, Any],
               source: PreferenceSource | str = PreferenceSource.CHAT,
               conversation_id: str | None = None, idempotency_key: str | None = None, *,
               actor: str | None = None) -> MarketingPreferences:
        """PATCH: `changes` holds `global_opt_out` and/or `channels`, e.g.
        `{"channels": {"email": {"promotions": False}}}` or `{"channels": {"sms": False}}`.
        Pass a stable `idempotency_key` (conversation id + turn) so that a retry after a
        time-out records the change once."""
        return self._write("PATCH", email, dict(changes), source, conversation_id,
                           idempotency_key, actor)

    def replace(self, email: str, global_opt_out: bool, channels: Mapping[str, Any],
                source: PreferenceSource | str = PreferenceSource.CHAT,
                conversation_id: str | None = None, idempotency_key: str | None = None, *,
                actor: str | None = None) -> MarketingPreferences:
        """PUT: the full set of choices; topics not listed become `False`."""
        return self._write("PUT", email,
                           {"global_opt_out": global_opt_out, "channels": dict(channels)},
                           source, conversation_id, idempotency_key, actor)

    def _write(self, method: str, email: str, body: dict[str, Any],
               source: PreferenceSource | str, conversation_id: str | None,
               idempotency_key: str | None, actor: str | None) -> MarketingPreferences:
        payload = {**body, "source": PreferenceSource(source).value,
                   "conversation_id": conversation_id, "actor": actor}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return MarketingPreferences.from_json(
            self._call(method, PATH, params={"email": email}, json=payload,
                       headers=headers))

    def history(self, email: str) -> list[PreferenceChange]:
        return [PreferenceChange.from_json(item)
                for item in self._call("GET", f"{PATH}/history", params={"email": email})]

    def unsubscribe_link(self, email: str, scope: str = "all") -> UnsubscribeLink:
        """A signed one-click link for marketing mail; scope `all`, `<channel>` or
        `<channel>:<topic>`."""
        data = self._call("POST", f"{PATH}/unsubscribe-links",
                          json={"email": email, "scope": scope})
        expires = parse_datetime(data["expires_at"])
        assert expires is not None
        return UnsubscribeLink(url=data["url"], scope=data["scope"], expires_at=expires,
                               headers=dict(data["headers"]))


def from_env(timeout: float | None = None) -> MarketingPreferencesClient:
    """Client for `BACKEND_URL` with `PRIVACY_API_TOKEN` (or the backend's var/api_token)."""
    return MarketingPreferencesClient.from_env(timeout)
