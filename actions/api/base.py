"""What every backend client shares: configuration, transport and error mapping.

Synchronous (httpx) with an explicit time-out: calls are short, and an async action can run
them with `call_off_loop` so that the event loop is not blocked. A client subclasses
`BackendClient`, adds its resource methods, and is built with `<Client>.from_env()`, which
borrows the process's one connection pool to the backend (`shared_http`) instead of opening
a connection per call; nothing happens at import time.

Answers are read with the models the backend publishes (`privacy_assistant.api_models`), and
bodies are written with them: the client does not validate what it sends (`send_body`), so
the backend stays the one judge of its input and its refusals (422 with its message, 413)
reach the caller as they are.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from actions.api import errors
from actions.api.errors import BackendError, BackendUnavailable
from actions.settings import ActionSettings, settings

__all__ = ["DEFAULT_TIMEOUT", "BackendClient", "api_token", "backend_url", "call_off_loop",
           "close_shared_http", "read_body", "send_body", "shared_http"]

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
_M = TypeVar("_M", bound=BaseModel)
_Client = TypeVar("_Client", bound="BackendClient")

# The process's connection pools to the backend, by (base URL, token, time-out): one in a
# running action server, whose settings do not change.
_POOLS: dict[tuple[str, str, float], httpx.Client] = {}
_POOLS_LOCK = threading.Lock()


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


def _new_http(base_url: str, token: str, timeout: float,
              transport: httpx.BaseTransport | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )


def shared_http(base_url: str, token: str, timeout: float) -> httpx.Client:
    """The process's pooled client for this backend, token and time-out, made on first use.
    httpx's client is safe to share between the worker threads of `call_off_loop`."""
    key = (base_url.rstrip("/"), token, timeout)
    with _POOLS_LOCK:
        http = _POOLS.get(key)
        if http is None or http.is_closed:
            http = _POOLS[key] = _new_http(*key)
        return http


def close_shared_http() -> None:
    """Close every pooled client (the next `from_env()` opens a new pool)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for http in pools:
        http.close()


def read_body(model: type[_M], data: Any) -> _M:
    """The backend's JSON answer as `model`; an answer that is not that body is the backend
    failing (`BackendUnavailable`), like invalid JSON."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BackendUnavailable(f"the backend's answer is not a {model.__name__}: "
                                 f"{exc.error_count()} field(s) wrong") from exc


def send_body(model: type[BaseModel], **fields: Any) -> dict[str, Any]:
    """The JSON of `model` with exactly the given fields, not validated here (see above); a
    field the model does not know is sent as it is, for the backend to refuse."""
    body = model.model_construct(**fields).model_dump(mode="json", exclude_unset=True)
    return {**{k: v for k, v in fields.items() if k not in model.model_fields}, **body}


class BackendClient:
    """One authenticated httpx client; `_call` turns every failure into a `BackendError`.

    Built with a URL and token it owns its connections (`close()` closes them); built by
    `from_env()` it borrows the process's pool, which `close()` leaves open."""

    def __init__(self, base_url: str, token: str, timeout: float = DEFAULT_TIMEOUT,
                 *, transport: httpx.BaseTransport | None = None,
                 http: httpx.Client | None = None) -> None:
        self._owns_http = http is None
        self._http = http or _new_http(base_url, token, timeout, transport)

    @classmethod
    def from_env(cls: type[_Client], timeout: float | None = None) -> _Client:
        """Client for `backend_url()` with `api_token()`; time-out from `BACKEND_TIMEOUT`."""
        config = settings()
        token = api_token()
        seconds = timeout or config.backend_timeout
        return cls(config.backend_base_url, token, seconds,
                   http=shared_http(config.backend_base_url, token, seconds))

    def close(self) -> None:
        if self._owns_http:
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

    def _read(self, model: type[_M], method: str, path: str, *, json: Any = None,
              params: Mapping[str, Any] | None = None,
              headers: Mapping[str, str] | None = None) -> _M:
        """`_call`, its answer read as `model`; `params` that are `None` are not sent."""
        sent = {k: v for k, v in params.items() if v is not None} if params else None
        return read_body(model, self._call(method, path, json=json, params=sent,
                                           headers=headers))


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
    """Run one call of a client in a worker thread, so the action server's event loop keeps
    serving other conversations while it waits; the client is closed afterwards (a pooled
    one keeps its connections for the next call)."""

    def run() -> _T:
        with make_client() as client:
            return method(client)

    return await asyncio.to_thread(run)
