"""The privacy team's Slack channel: each website handoff is one message there, posted when
it is queued and updated when an agent takes it, hands it back or closes it, or when it
times out.

Slack is called after the commit, from a small pool of threads (`HandoffNotifier.notify`),
so a slow or broken Slack never holds a database transaction, delays an API answer or fails
it. Every post or update first claims the handoff's row with a conditional UPDATE that sets
a lease (`slack_lease_until`; `core.leases`, as the mail outbox does): of several backends
sharing one database, only one talks to Slack about a handoff at a time, so each handoff is
posted once. A call that fails (an error answer, a 5xx, a time-out, Slack down) leaves
`slack_state` as it was, and the handoff sweep (`HandoffNotifier.sync_pending`) retries
every handoff of the last RETRY_WINDOW whose `slack_state` differs from its status. A 429
is waited out (its Retry-After, up to MAX_RETRY_AFTER seconds) by the Web API client
(`slack_api`).

What the message says is built in `slack_messages`: never the visitor's summary,
conversation id or address. Nothing here calls Slack unless SLACK_BOT_TOKEN and
SLACK_PRIVACY_CHANNEL are both set.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import ColumnElement, case, null, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from privacy_backend.core.clock import Clock
from privacy_backend.core.leases import LeasedWorker, claim, lease_free, write_if_held
from privacy_backend.core.models import Handoff
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.slack_api import (
    MAX_RETRY_AFTER,
    TIMEOUT,
    Message,
    SlackApi,
    SlackUnavailable,
)
from privacy_backend.integrations.slack_messages import handoff_message

__all__ = ["HandoffNotifier", "Message", "NotifierDep", "Outcome", "SlackApi",
           "SlackUnavailable", "get_notifier", "handoff_message"]

log = logging.getLogger(__name__)

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


class HandoffNotifier(LeasedWorker):
    """Posts and updates the handoffs' messages in SLACK_PRIVACY_CHANNEL (see the module
    docstring). Inert, and never calls Slack, while Slack is off."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, clock: Clock, *,
                 workers: int = 2) -> None:
        # SlackUnavailable is logged where it happens; any other failure here.
        super().__init__(factory, clock, workers=workers, thread_name="slack", log=log,
                         failure="Slack notification failed", quiet=(SlackUnavailable,))
        self._settings = settings
        self._channel = settings.slack_privacy_channel.strip()
        self.enabled = settings.slack_enabled and bool(self._channel)

    # -- from the routes, after their commit ----------------------------------------------
    def notify(self, handoff_id: int) -> None:
        """Bring the handoff's message up to date in the background; returns at once."""
        if not self.enabled:
            return
        self._submit(self._sync_in_background, handoff_id)

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
        due = (select(Handoff.id)
               .where(Handoff.created_at >= now - RETRY_WINDOW, _behind(),
                      lease_free(Handoff.slack_lease_until, now))
               .order_by(Handoff.id).limit(SWEEP_BATCH))
        outcomes = self.sweep(due, self.sync, stop_on=(SlackUnavailable,))
        return sum(outcome is Outcome.SHOWN for outcome in outcomes)

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
            claimed = claim(session, Handoff, handoff_id, Handoff.slack_lease_until, lease,
                            now, _behind())
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
            write_if_held(session, Handoff, held.id, Handoff.slack_lease_until, held.lease,
                          slack_lease_until=None)
            session.commit()


def _behind() -> ColumnElement[bool]:
    """The handoffs whose message does not show their status (or was never posted)."""
    return or_(Handoff.slack_state.is_(None), Handoff.slack_state != Handoff.status)


def get_notifier(request: Request) -> HandoffNotifier:
    notifier: HandoffNotifier = request.app.state.slack
    return notifier


NotifierDep = Annotated[HandoffNotifier, Depends(get_notifier)]
