"""The backend as the Rasa process's channels call it: its base URL and the assistant's token
(credentials.yml's `backend_url` and `backend_token`), one POST with a time-out. The widget's
channel uses it to erase a conversation ("Delete chat") and to record a browser's Global
Privacy Control signal. Runs in the Rasa environment (aiohttp, as Rasa's own channels)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

# What a call that did not reach the backend, or got no answer in time, raises.
UNREACHABLE = (aiohttp.ClientError, asyncio.TimeoutError)


class Backend:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    @property
    def configured(self) -> bool:
        return bool(self.url and self.token)

    async def post(self, path: str, *, json: Any = None, timeout: float) -> int:
        """POST `path` with the assistant's token; the answer's status. Raises one of
        `UNREACHABLE` when the backend cannot be reached in `timeout` seconds."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            async with http.post(f"{self.url}{path}", json=json, headers={
                    "Authorization": f"Bearer {self.token}"}) as answer:
                return answer.status
