"""Typed client for the backend's marketing-preference API (`/api/v1/preferences`).

Transport, configuration and error mapping come from `actions.api.base.BackendClient`
(the exceptions are those of `actions.api.errors`); the bodies are the backend's own
(`privacy_assistant.api_models.preferences`).
Opting out needs only the address and the choice (`opt_out`, no code; its answer says what
was recorded and nothing of the address's other choices). To read the choices or change them
otherwise (`get`, `update`, `replace`), the chat verifies the address first (any one-time code
confirmed for it in this conversation, e.g.
`PrivacyRequestsClient.start_verification(..., purpose="preferences")`) and passes that
verification's id: the backend checks it (403 otherwise), also for an update that only turns
things off. Histories and unsubscribe links are staff operations, not the assistant's. Build
one with `from_env()`; nothing happens at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actions.api.base import BackendClient, send_body
from privacy_assistant.api_models.opt_outs import MarketingOptOutIn, MarketingOptOutOut
from privacy_assistant.api_models.preferences import (
    PreferencesOut,
    PreferencesPatch,
    PreferencesReplace,
)
from privacy_assistant.contract import PreferenceSource

__all__ = ["MarketingOptOut", "MarketingPreferences", "MarketingPreferencesClient",
           "PreferenceSource", "from_env"]

PATH = "/api/v1/preferences"

# One address's choices; `updated_at is None`: nothing recorded, these are the defaults
# (nothing subscribed).
MarketingPreferences = PreferencesOut
# What a code-free opt-out recorded (`scope`: everything, channel or topic) and when.
MarketingOptOut = MarketingOptOutOut


class MarketingPreferencesClient(BackendClient):
    """Every call but `opt_out` names `verification_id`: the confirmed code that proves
    `email`."""

    def opt_out(self, email: str, *, conversation_id: str, channel: str | None = None,
                topic: str | None = None) -> MarketingOptOut:
        """Opt `email` out without a code: everything (neither `channel` nor `topic`), every
        topic of `channel`, or `topic` on `channel` (on every channel without one). Recorded
        at once with source `chat` and the conversation. `RateLimited` (429
        `too_many_opt_outs`) past the hourly bounds per address and per conversation: the
        visitor may verify the address and `update` instead."""
        body = send_body(MarketingOptOutIn, email=email, conversation_id=conversation_id,
                         channel=channel, topic=topic)
        return self._read(MarketingOptOut, "POST", f"{PATH}/opt-out", json=body)

    def get(self, email: str, *, verification_id: str | None,
            conversation_id: str | None = None) -> MarketingPreferences:
        return self._read(MarketingPreferences, "GET", PATH, params={
            "email": email, "verification_id": verification_id,
            "conversation_id": conversation_id})

    def update(self, email: str, changes: Mapping[str, Any],
               source: PreferenceSource | str = PreferenceSource.CHAT,
               conversation_id: str | None = None, idempotency_key: str | None = None, *,
               verification_id: str | None) -> MarketingPreferences:
        """PATCH: `changes` holds `global_opt_out` and/or `channels`, e.g.
        `{"channels": {"email": {"promotions": False}}}` or `{"channels": {"sms": False}}`.
        Pass a stable `idempotency_key` (conversation id + turn) so that a retry after a
        time-out records the change once."""
        body = send_body(PreferencesPatch, **{
            **changes, "source": PreferenceSource(source), "conversation_id": conversation_id,
            "verification_id": verification_id})
        return self._write("PATCH", email, body, idempotency_key)

    def replace(self, email: str, global_opt_out: bool, channels: Mapping[str, Any],
                source: PreferenceSource | str = PreferenceSource.CHAT,
                conversation_id: str | None = None, idempotency_key: str | None = None, *,
                verification_id: str | None) -> MarketingPreferences:
        """PUT: the full set of choices; topics not listed become `False`."""
        body = send_body(PreferencesReplace, global_opt_out=global_opt_out,
                         channels=dict(channels), source=PreferenceSource(source),
                         conversation_id=conversation_id, verification_id=verification_id)
        return self._write("PUT", email, body, idempotency_key)

    def _write(self, method: str, email: str, body: dict[str, Any],
               idempotency_key: str | None) -> MarketingPreferences:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._read(MarketingPreferences, method, PATH, params={"email": email},
                          json=body, headers=headers)


def from_env(timeout: float | None = None) -> MarketingPreferencesClient:
    """Client for `BACKEND_URL` with `PRIVACY_API_TOKEN` (or the backend's var/api_token)."""
    return MarketingPreferencesClient.from_env(timeout)
