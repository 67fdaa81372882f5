"""What every backend client shares: configuration, transport and error mapping.

Synchronous (httpx.Client) with an explicit time-out: calls are short, and an async action can
run them with `call_off_loop` so that the event loop is not blocked. A client subclasses
`BackendClient`, adds its resource methods, and is built with `<Client>.from_env()`; nothing
happens at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import httpx

from actions.api import errors
from actions.api.errors import BackendError, BackendUnavailable
from actions.settings import ActionSettings, settings

__all__ = ["DEFAULT_TIMEOUT", "BackendClient", "api_token", "backend_url", "call_off_loop",
           "parse_datetime"]

DEFAULT_TIMEOUT = ActionSettings.model_fields["backend_timeout"].default
_VERIFICATION_CODES = {"invalid_code", "code_expired", "code_superseded", "too_many_attempts",
                       "too_many_failures", "already_verified"}
_ERRORS: dict[int, type[BackendError]] = {
    400: errors.ValidationFailed, 401: errors.Unauthorized, 403: errors.Unauthorized,
    404: errors.NotFound, 409: errors.Conflict, 413: errors.ValidationFailed,
    422: errors.ValidationFailed, 429: errors.RateLimited,
}

_C = TypeVar("_C", bound="BackendClient")
_T = TypeVar("_T")
_Client = TypeVar("_Client", bound="BackendClient")


def backend_url() -> str:
    """`BACKEND_URL`, else `http://BACKEND_HOST:BACKEND_PORT` (a wildcard host means loopback)."""
    return settings().backend_base_url


def api_token() -> str:
    """`PRIVACY_API_TOKEN`, else the token the backend wrote to `<VAR_DIR>/api_token`."""
    config = settings()
    token = config.stored_api_token()
    if token is None:
        raise BackendUnavailable(f"no PRIVACY_API_TOKEN and no token file at "
                                 f"{config.var_dir / 'api_token'}; start the backend first")
    return token


def parse_datetime(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp from the backend's JSON (`Z` accepted); `None` stays `None`."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class BackendClient:
    """One authenticated httpx client; `_call` turns every failure into a `BackendError`."""

    def __init__(self, base_url: str, token: str, timeout: float = DEFAULT_TIMEOUT,
                 *, transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )

    @classmethod
    def from_env(cls: type[_Client], timeout: float | None = None) -> _Client:
        """Client for `backend_url()` with `api_token()`; time-out from `BACKEND_TIMEOUT`."""
        config = settings()
        token = api_token()
        return cls(config.backend_base_url, token, timeout=timeout or config.backend_timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self: _Client) -> _Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, *, json: Any = None,
              params: Mapping[str, Any] | None = None,
              headers: Mapping[str, str] | None = None) -> Any:
        """The decoded JSON body of a 2xx answer; anything else raises a `BackendError`."""
        try:
            response = self._http.request(method, path, json=json, params=params,
                                          headers=headers)
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


def _error_for(response: httpx.Response) -> BackendError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("error", ""))
    message = str(body.get("message") or f"HTTP {status}")
    if code in _VERIFICATION_CODES:
        return errors.VerificationFailed(message, status_code=status, code=code,
                                         attempts_left=int(body.get("attempts_left") or 0))
    if status >= 500:
        return BackendUnavailable(message, status_code=status, code=code)
    return _ERRORS.get(status, BackendError)(message, status_code=status, code=code)


async def call_off_loop(make_client: Callable[[], _C], method: Callable[[_C], _T]) -> _T:
    """Run one call of a fresh client in a worker thread, so the action server's event loop
    keeps serving other conversations while it waits; the client is closed afterwards."""

    def run() -> _T:
        with make_client() as client:
            return method(client)

    return await asyncio.to_thread(run)
