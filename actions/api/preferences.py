"""Typed client for the backend's marketing-preference API (`/api/v1/preferences`).

Transport, configuration and error mapping come from `actions.api.base.BackendClient`:
synchronous httpx with an explicit time-out, dataclasses out, and the same exceptions
(`BackendUnavailable`, `ValidationFailed`, ...).
The chat verifies the address first (any one-time code confirmed for it in this conversation,
e.g. `PrivacyRequestsClient.start_verification(..., purpose="preferences")`) and passes that
verification's id with every read and write: the backend checks it (403 otherwise). Histories
and unsubscribe links are staff operations, not the assistant's. Build one with `from_env()`;
nothing happens at import time.
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
    "PreferenceSource",
    "Unauthorized",
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


class MarketingPreferencesClient(BackendClient):
    """Every call names `verification_id`: the confirmed code that proves `email`."""

    def get(self, email: str, *, verification_id: str | None,
            conversation_id: str | None = None) -> MarketingPreferences:
        params = {"email": email, "verification_id": verification_id,
                  "conversation_id": conversation_id}
        return MarketingPreferences.from_json(self._call(
            "GET", PATH, params={k: v for k, v in params.items() if v is not None}))

    def update(self, email: str, changes: Mapping[str, Any],
               source: PreferenceSource | str = PreferenceSource.CHAT,
               conversation_id: str | None = None, idempotency_key: str | None = None, *,
               verification_id: str | None) -> MarketingPreferences:
        """PATCH: `changes` holds `global_opt_out` and/or `channels`, e.g.
        `{"channels": {"email": {"promotions": False}}}` or `{"channels": {"sms": False}}`.
        Pass a stable `idempotency_key` (conversation id + turn) so that a retry after a
        time-out records the change once."""
        return self._write("PATCH", email, dict(changes), source, conversation_id,
                           idempotency_key, verification_id)

    def replace(self, email: str, global_opt_out: bool, channels: Mapping[str, Any],
                source: PreferenceSource | str = PreferenceSource.CHAT,
                conversation_id: str | None = None, idempotency_key: str | None = None, *,
                verification_id: str | None) -> MarketingPreferences:
        """PUT: the full set of choices; topics not listed become `False`."""
        return self._write("PUT", email,
                           {"global_opt_out": global_opt_out, "channels": dict(channels)},
                           source, conversation_id, idempotency_key, verification_id)

    def _write(self, method: str, email: str, body: dict[str, Any],
               source: PreferenceSource | str, conversation_id: str | None,
               idempotency_key: str | None, verification_id: str | None
               ) -> MarketingPreferences:
        payload = {**body, "source": PreferenceSource(source).value,
                   "conversation_id": conversation_id, "verification_id": verification_id}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return MarketingPreferences.from_json(
            self._call(method, PATH, params={"email": email}, json=payload,
                       headers=headers))


def from_env(timeout: float | None = None) -> MarketingPreferencesClient:
    """Client for `BACKEND_URL` with `PRIVACY_API_TOKEN` (or the backend's var/api_token)."""
    return MarketingPreferencesClient.from_env(timeout)
