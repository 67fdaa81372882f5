"""The backend's client for Rasa's HTTP API: read a conversation, add an agent's message to
it (sent to the visitor's widget at once), pause and resume the bot, trigger an intent.

Every call carries a fresh short-lived JWT in its `Authorization` header, signed with
`RASA_API_TOKEN` (`privacy_assistant.rasa_auth`); the secret itself never leaves this
process, and nothing goes in the query string, where proxies and access logs keep it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from privacy_assistant.rasa_auth import rasa_api_headers
from privacy_backend.core.settings import Settings

OUTPUT_CHANNEL = "socketio"
# The username in the backend's tokens; Rasa checks only their admin role.
USERNAME = "privacy-backend"


class RasaUnavailable(Exception):
    """Rasa did not answer, refused the token, or answered with an error."""


class RasaApi:
    def __init__(self, base_url: str, secret: str, timeout: float = 10.0,
                 *, transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                                  transport=transport)
        self._secret = secret

    @classmethod
    def from_settings(cls, settings: Settings) -> RasaApi:
        return cls(settings.rasa_base_url, settings.rasa_token(), timeout=settings.rasa_timeout)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, *, json: Any = None,
              params: dict[str, str] | None = None) -> Any:
        headers = rasa_api_headers(self._secret, username=USERNAME)
        try:
            response = self._http.request(method, path, params=params, json=json,
                                          headers=headers)
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"Rasa did not answer ({type(exc).__name__})") from exc
        if not response.is_success:
            raise RasaUnavailable(f"Rasa answered {response.status_code} to {method} "
                                  f"{path.split('?')[0]}")
        try:
            return response.json()
        except ValueError as exc:
            raise RasaUnavailable("Rasa answered with invalid JSON") from exc

    @staticmethod
    def _path(conversation_id: str, rest: str) -> str:
        return f"/conversations/{quote(conversation_id, safe='')}/{rest}"

    def events(self, conversation_id: str) -> list[dict[str, Any]]:
        tracker = self._call("GET", self._path(conversation_id, "tracker"))
        events = tracker.get("events") or []
        return [e for e in events if isinstance(e, dict)]

    def is_paused(self, conversation_id: str) -> bool:
        """Whether the bot is paused in the conversation (a handoff paused it)."""
        tracker = self._call("GET", self._path(conversation_id, "tracker"))
        return bool(tracker.get("paused"))

    def append(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        """Add events; bot messages among them go out on the visitor's channel now."""
        self._call("POST", self._path(conversation_id, "tracker/events"), json=events,
                   params={"output_channel": OUTPUT_CHANNEL, "execute_side_effects": "true"})

    def say(self, conversation_id: str, text: str, agent: str) -> None:
        self.append(conversation_id, [{"event": "bot", "text": text,
                                       "metadata": {"agent": agent}}])

    def pause(self, conversation_id: str) -> None:
        self.append(conversation_id, [{"event": "pause"}])

    def resume(self, conversation_id: str) -> None:
        self.append(conversation_id, [{"event": "resume"}])

    def trigger_intent(self, conversation_id: str, name: str) -> None:
        self._call("POST", self._path(conversation_id, "trigger_intent"), json={"name": name},
                   params={"output_channel": OUTPUT_CHANNEL})
