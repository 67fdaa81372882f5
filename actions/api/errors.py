"""Exceptions raised by the backend clients; each maps to one polite answer in an action."""

from __future__ import annotations


class BackendError(Exception):
    """Base class. `code` is the backend's machine-readable error code, when there is one."""

    def __init__(self, message: str, *, status_code: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code


class BackendUnavailable(BackendError):
    """Connection refused, time-out, a 5xx, or an answer that is not the expected JSON."""


class Unauthorized(BackendError):
    """401: the action server's token does not match the backend's (a configuration error)."""


class NotFound(BackendError):
    """404: no such request or verification."""


class ValidationFailed(BackendError):
    """400/413/422: the backend refused the input (bad email, too long, unknown field...)."""


class Conflict(BackendError):
    """409: illegal status transition, extension already used, idempotency-key reuse."""


class RateLimited(BackendError):
    """429 `too_many_codes`: no code can be sent now (too many were sent to this address in
    the last hour, or too many wrong codes or lookups were made recently); or
    `too_many_opt_outs`: too many code-free opt-outs for this address or conversation in the
    last hour."""


class VerificationFailed(BackendError):
    """The one-time code was refused.

    `reason`: invalid_code (see `attempts_left`), code_expired, code_superseded,
    too_many_attempts, too_many_failures (too many wrong codes or lookups recently, for this
    address or conversation: try later), already_verified.
    """

    def __init__(self, message: str, *, status_code: int | None = None, code: str = "",
                 attempts_left: int = 0) -> None:
        super().__init__(message, status_code=status_code, code=code)
        self.attempts_left = attempts_left

    @property
    def reason(self) -> str:
        return self.code
