"""The privacy team's Slack channel: each website handoff is one message there, posted when
it is queued and updated when an agent takes it, hands it back or closes it, or when it
times out.

Slack is called after the commit, from a small pool of threads (`HandoffNotifier.notify`),
so a slow or broken Slack never holds a database transaction, delays an API answer or fails
it. Every post or update first claims the handoff's row with a conditional UPDATE that sets
a lease (`slack_lease_until`), as the mail outbox does: of several backends sharing one
database, only one talks to Slack about a handoff at a time, so each handoff is posted once.
A call that fails (an error answer, a 5xx, a time-out, Slack down) leaves `slack_state` as
it was, and the handoff sweep (`HandoffNotifier.sync_pending`) retries every handoff of the
last RETRY_WINDOW whose `slack_state` differs from its status. A 429 is waited out (its
Retry-After, up to MAX_RETRY_AFTER seconds) by slack_sdk's RateLimitErrorRetryHandler.

The message says why the visitor wanted a person, on which channel, since when and what
became of it, and links to the handoff in the console. It never carries the visitor's
summary, conversation id or address. Nothing here calls Slack unless SLACK_BOT_TOKEN and
SLACK_PRIVACY_CHANNEL are both set.
"""

from __future__ import annotations

import enum
import http.client
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import Depends, Request
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryState,
)
from sqlalchemy import ColumnElement, case, null, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from privacy_backend.core.clock import Clock
from privacy_backend.core.models import Handoff, HandoffStatus
from privacy_backend.core.settings import Settings

log = logging.getLogger(__name__)

# Seconds before one Slack call counts as failed (slack_sdk's `timeout=`).
TIMEOUT = 5
# The longest Retry-After a call waits out; a longer one fails the call, and the sweep
# tries again later.
MAX_RETRY_AFTER = 10
# A call may take at most two attempts of TIMEOUT each, plus one Retry-After, and an update
# whose message is gone becomes a post: the lease outlasts all of that, so it runs out only
# when its holder is gone.
LEASE = timedelta(seconds=4 * TIMEOUT + 2 * (MAX_RETRY_AFTER + 1) + 60)
# The sweep brings handoffs this recent up to date; older ones are left as they are.
RETRY_WINDOW = timedelta(days=2)
SWEEP_BATCH = 100
# Posts and updates one `sync` makes at most: a handoff that keeps changing while Slack is
# called is left to the next notification or sweep.
ROUNDS = 4
# Answers to chat.update that mean the message is no longer there to update: post anew.
MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message"})
# Error answers that say Slack itself is in trouble, not this message.
SLACK_TROUBLE = frozenset({"internal_error", "fatal_error", "service_unavailable",
                           "request_timeout", "ratelimited"})

CHANNEL_LABELS = {"web": "website chat", "socketio": "website chat",
                  "rest": "support desk (REST)"}


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


# -- what the message says ---------------------------------------------------------------

def _escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as markup: they are sent escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_date(moment: datetime) -> str:
    """A time Slack shows in each reader's own time zone, with a UTC fallback."""
    utc = moment.astimezone(timezone.utc)
    return (f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}"
            f"|{utc:%Y-%m-%d %H:%M} UTC>")


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)


def console_link(settings: Settings, handoff_id: int) -> str:
    return f"{settings.public_url}/console#handoff-{handoff_id}"


def _outcome(handoff: Handoff) -> tuple[str, str | None]:
    """What became of the handoff, as a headline and the line saying when (None while it
    waits). Agents are staff: the one who took it is named."""
    agent = _escape(handoff.agent.name) if handoff.agent else None
    if handoff.status is HandoffStatus.WAITING:
        return "waiting for an agent", None
    if handoff.status is HandoffStatus.ACTIVE:
        taken = slack_date(handoff.taken_at or handoff.created_at)
        return f"taken by {agent or 'an agent'}", f"*Taken by {agent or 'an agent'}* {taken}"
    closed = slack_date(handoff.closed_at or handoff.created_at)
    if handoff.close_reason == "handed_back":
        return "handed back to the bot", f"*Handed back to the bot* by {agent or 'an agent'} " \
                                         f"{closed}"
    if handoff.close_reason == "timed_out":
        return "closed: nobody took it in time", f"*Timed out* {closed}: nobody took it"
    by = f" by {agent}" if agent and handoff.taken_at else ""
    return "closed", f"*Closed*{by} {closed}"


def handoff_message(handoff: Handoff, settings: Settings) -> Message:
    """The message for a handoff as it is now: reason, channel, waiting since, what became
    of it, and the console link. No summary, conversation id or address."""
    headline, outcome = _outcome(handoff)
    reason, label = _escape(handoff.reason), _escape(channel_label(handoff.channel))
    link = console_link(settings, handoff.id)
    since = slack_date(handoff.created_at)
    fields = [f"*Reason*\n{reason}", f"*Channel*\n{label}", f"*Waiting since*\n{since}"]
    blocks: list[dict[str, Any]] = [
        {"type": "section",
         "text": {"type": "mrkdwn", "text": f"*Handoff #{handoff.id}*: {headline}"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if outcome:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": outcome}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"<{link}|Open handoff #{handoff.id} in the console>"}]})
    text = (f"Handoff #{handoff.id} from the {label}, {headline}: {reason} "
            f"(waiting since {since}). {link}")
    return Message(text=text, blocks=blocks)


# -- keeping each handoff's message up to date ----------------------------------------------

class Outcome(enum.Enum):
    SKIPPED = "skipped"  # up to date already, or another process holds the lease
    SHOWN = "shown"  # Slack now shows the status the row had when it was claimed
    FAILED = "failed"  # Slack refused; slack_state is as it was


@dataclass(frozen=True)
class _Held:
    """A handoff this process claimed: the lease, the status it will show, the message
    saying so, and the `ts` of the message posted for it before, if any."""

    id: int
    lease: datetime
    status: str
    ts: str | None
    message: Message


class HandoffNotifier:
    """Posts and updates the handoffs' messages in SLACK_PRIVACY_CHANNEL (see the module
    docstring). Inert, and never calls Slack, while Slack is off."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, clock: Clock, *,
                 workers: int = 2) -> None:
        self._factory = factory
        self._settings = settings
        self._clock = clock
        self._channel = settings.slack_privacy_channel.strip()
        self.enabled = settings.slack_enabled and bool(self._channel)
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None  # started by the first notify
        self._pool_lock = threading.Lock()
        self._pending: set[Future[None]] = set()

    # -- from the routes, after their commit ----------------------------------------------
    def notify(self, handoff_id: int) -> None:
        """Bring the handoff's message up to date in the background; returns at once."""
        if not self.enabled:
            return
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._workers,
                                                thread_name_prefix="slack")
            future = self._pool.submit(self._sync_in_background, handoff_id)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        future.add_done_callback(_log_failure)

    def _sync_in_background(self, handoff_id: int) -> None:
        try:
            self.sync(handoff_id)
        except SlackUnavailable:
            pass  # logged by _sync_once; the sweep retries it

    # -- from the sweep, or a worker thread -------------------------------------------------
    def sync(self, handoff_id: int) -> Outcome:
        """Post or update the handoff's message, if it is behind and this process wins its
        lease. The status may change while Slack is being called: the next round shows it.
        Raises SlackUnavailable when Slack is down or slow (the lease is given back)."""
        outcome = Outcome.SKIPPED
        for _ in range(ROUNDS):
            step = self._sync_once(handoff_id)
            if step is not Outcome.SHOWN:
                return outcome if step is Outcome.SKIPPED else step
            outcome = step
        return outcome

    def sync_pending(self) -> int:
        """Bring up to date every handoff of the last RETRY_WINDOW whose message is behind
        and not leased; how many were shown. Stops at the first failure that says Slack is
        down or slow, so that a sweep does not wait on each handoff in turn."""
        if not self.enabled:
            return 0
        now = self._clock()
        with self._factory() as session:
            ids = list(session.scalars(
                select(Handoff.id)
                .where(Handoff.created_at >= now - RETRY_WINDOW, _behind(),
                       or_(Handoff.slack_lease_until.is_(None),
                           Handoff.slack_lease_until < now))
                .order_by(Handoff.id).limit(SWEEP_BATCH)))
            session.rollback()
        shown = 0
        for handoff_id in ids:
            try:
                outcome = self.sync(handoff_id)
            except SlackUnavailable:
                break
            shown += outcome is Outcome.SHOWN
        return shown

    def drain(self, timeout: float = 30) -> None:
        """Wait for the posts and updates under way (tests read the channel after this)."""
        wait(list(self._pending), timeout=timeout)

    def close(self) -> None:
        """Stop: calls not yet started are dropped (the sweep retries them), the ones under
        way finish. A notify after this starts a new pool (the app can start again)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- helpers --------------------------------------------------------------------------
    def _sync_once(self, handoff_id: int) -> Outcome:
        """One claim, one call to Slack, one record of what it shows. A failure that says
        Slack is down or slow is raised (after the lease is given back), others returned."""
        held = self._claim(handoff_id)
        if held is None:
            return Outcome.SKIPPED
        api = SlackApi.from_settings(self._settings)
        try:
            ts = self._show(api, held)
        except SlackUnavailable as exc:
            self._release(held)
            log.warning("Slack message of handoff %s not brought up to date: %s", held.id, exc)
            if exc.transient:
                raise
            return Outcome.FAILED
        self._record(held, ts)
        return Outcome.SHOWN

    def _claim(self, handoff_id: int) -> _Held | None:
        """Lease the handoff if its message is behind and no other process holds it; what
        to show, read under that lease."""
        now = self._clock()
        lease = now + LEASE
        with self._factory() as session:
            claimed = session.execute(
                update(Handoff)
                .where(Handoff.id == handoff_id, _behind(),
                       or_(Handoff.slack_lease_until.is_(None),
                           Handoff.slack_lease_until < now))
                .values(slack_lease_until=lease)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            handoff = session.get(Handoff, handoff_id) if claimed else None
            if handoff is None:
                session.rollback()
                return None
            held = _Held(handoff.id, lease, handoff.status.value, handoff.slack_ts,
                         handoff_message(handoff, self._settings))
            session.commit()  # no transaction stays open while Slack is called
            return held

    def _show(self, api: SlackApi, held: _Held) -> str:
        """Post the message, or update the one posted before; the `ts` that shows it."""
        if held.ts is None:
            return api.post(self._channel, held.message)
        try:
            api.update(self._channel, held.ts, held.message)
        except SlackUnavailable as exc:
            if exc.error not in MESSAGE_GONE:
                raise
            return api.post(self._channel, held.message)  # deleted in Slack: post it again
        return held.ts

    def _record(self, held: _Held, ts: str) -> None:
        """What Slack shows now, recorded even if the lease ran out meanwhile (the message
        is out there); the lease is given back only if it is still this process's."""
        with self._factory() as session:
            session.execute(
                update(Handoff).where(Handoff.id == held.id)
                .values(slack_ts=ts, slack_state=held.status,
                        slack_lease_until=case(
                            (Handoff.slack_lease_until == held.lease, null()),
                            else_=Handoff.slack_lease_until))
                .execution_options(synchronize_session=False))
            session.commit()

    def _release(self, held: _Held) -> None:
        """Give the lease back after a failure, so the next sweep may retry at once."""
        with self._factory() as session:
            session.execute(
                update(Handoff)
                .where(Handoff.id == held.id, Handoff.slack_lease_until == held.lease)
                .values(slack_lease_until=None)
                .execution_options(synchronize_session=False))
            session.commit()


def _behind() -> ColumnElement[bool]:
    """The handoffs whose message does not show their status (or was never posted)."""
    return or_(Handoff.slack_state.is_(None), Handoff.slack_state != Handoff.status)


def _log_failure(future: Future[None]) -> None:
    if future.cancelled():
        return
    error = future.exception()
    if error is not None and not isinstance(error, SlackUnavailable):  # those are logged
        log.error("Slack notification failed", exc_info=error)


def get_notifier(request: Request) -> HandoffNotifier:
    notifier: HandoffNotifier = request.app.state.slack
    return notifier


NotifierDep = Annotated[HandoffNotifier, Depends(get_notifier)]
