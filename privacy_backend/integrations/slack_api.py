"""The backend's client of Slack's Web API: the two methods it uses (`chat.postMessage`,
`chat.update`), through slack_sdk's WebClient with an explicit time-out, one retry on a
dropped connection, and 429s waited out for at most MAX_RETRY_AFTER seconds. Every failure
becomes `SlackUnavailable`, saying whether Slack itself is in trouble (`transient`) so that
a sweep stops early instead of waiting on each handoff in turn.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryState,
)

from privacy_backend.core.settings import Settings

# Seconds before one Slack call counts as failed (slack_sdk's `timeout=`).
TIMEOUT = 5
# The longest Retry-After a call waits out; a longer one fails the call, and the sweep
# tries again later.
MAX_RETRY_AFTER = 10
# Error answers that say Slack itself is in trouble, not this message.
SLACK_TROUBLE = frozenset({"internal_error", "fatal_error", "service_unavailable",
                           "request_timeout", "ratelimited"})


class SlackUnavailable(Exception):
    """Slack did not answer, answered with an error, or kept rate limiting.

    `error` is Slack's error code (`channel_not_found`, `ratelimited`, ...), or None when no
    answer came at all; `transient` says whether the next handoff would likely fail alike
    (Slack down or slow, a 5xx, a 429), so a sweep stops early instead of waiting on each."""

    def __init__(self, message: str, *, error: str | None = None, transient: bool) -> None:
        super().__init__(message)
        self.error = error
        self.transient = transient


class _BoundedRateLimitHandler(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (sleeps for Retry-After, then tries once more), but only for a
    Retry-After of at most MAX_RETRY_AFTER seconds: a worker thread never sleeps for long."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest,
                   response: HttpResponse | None = None, error: Exception | None = None
                   ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response,
                                  error=error) or response is None:
            return False
        for name, values in response.headers.items():
            if name.lower() == "retry-after":
                value = values[0] if isinstance(values, list) else values
                try:
                    return int(value) <= MAX_RETRY_AFTER
                except ValueError:
                    return False
        return True  # no Retry-After: the handler waits about a second


@dataclass(frozen=True)
class Message:
    """A Slack message: Block Kit blocks and the plain-text fallback for notifications."""

    text: str
    blocks: list[dict[str, Any]]


class SlackApi:
    """The two Web API methods the backend uses, with slack_sdk's WebClient: explicit
    time-out, one retry on a dropped connection, 429s waited out (Retry-After)."""

    def __init__(self, token: str, base_url: str, *, timeout: int = TIMEOUT) -> None:
        self._client = WebClient(
            token=token, base_url=base_url, timeout=timeout,
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1),
                            _BoundedRateLimitHandler(max_retry_count=1)])

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackApi:
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
        return cls(token.strip(), settings.slack_api_url, timeout=TIMEOUT)

    def post(self, channel: str, message: Message) -> str:
        """Post to `channel`; the new message's `ts`, which names it for updates."""
        response = self._call("chat.postMessage", channel=channel, text=message.text,
                              blocks=message.blocks, unfurl_links=False, unfurl_media=False)
        ts = response.get("ts")
        if not isinstance(ts, str) or not ts:
            raise SlackUnavailable("chat.postMessage answered without a ts", transient=False)
        return ts

    def update(self, channel: str, ts: str, message: Message) -> None:
        self._call("chat.update", channel=channel, ts=ts, text=message.text,
                   blocks=message.blocks)

    def _call(self, method: str, **args: Any) -> dict[str, Any]:
        try:
            response = self._client.api_call(method, json=args)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
            raise SlackUnavailable(f"Slack answered {status} to {method}: {error or 'error'}",
                                   error=str(error) if error else None,
                                   transient=status == 429 or status >= 500
                                   or error in SLACK_TROUBLE) from None
        except (SlackClientError, OSError, http.client.HTTPException) as exc:
            # OSError covers urllib's URLError (refused, unreachable) and time-outs.
            raise SlackUnavailable(f"Slack did not answer {method} ({type(exc).__name__})",
                                   transient=True) from None
        data = response.data
        return data if isinstance(data, dict) else {}

