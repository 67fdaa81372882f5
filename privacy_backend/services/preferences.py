"""Marketing preferences: defaults, validation against the configured channels and topics,
serialised read-modify-write, and one history row per effective change.

Defaults (an address with no row): `global_opt_out` false and every topic false, i.e. no
marketing consent on record and no opt-out either. Nothing is sent on a `false`. The defaults
are fixed on purpose: if they were configurable, changing them would silently re-subscribe
everyone who unsubscribed while the defaults already said "not subscribed".

Concurrent writers on one address are serialised: PostgreSQL locks the row (`SELECT ... FOR
UPDATE`), SQLite takes its write lock when the transaction begins (`BEGIN IMMEDIATE`, see
`db.py`). Two first writes for a new address collide on the unique email; the loser retries
against the winner's row.

A marketing opt-out needs nothing but the address and the choice (CAN-SPAM; `opt_out`): the
assistant records it without proof, under `assistant:unverified`. So that neither its answer
nor its limits say anything about the address's choices, every such opt-out is recorded,
one that changes nothing too (empty before and after), and the limits count those records:
per address and per conversation and hour, 429 `too_many_opt_outs` beyond.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from privacy_backend.core import limits
from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import (
    MarketingPreference,
    PreferenceChange,
    PreferenceSource,
    Suppression,
)
from privacy_backend.core.sealing import SUPPRESSION_HASH, keyed_hash
from privacy_backend.core.settings import Settings

log = logging.getLogger(__name__)

ChannelChoices = Mapping[str, "bool | Mapping[str, bool]"]


@dataclass(frozen=True)
class Preferences:
    global_opt_out: bool
    channels: dict[str, dict[str, bool]]

    def flat(self) -> dict[str, bool]:
        """`{"global_opt_out": ..., "channels.email.promotions": ..., ...}`"""
        out = {"global_opt_out": self.global_opt_out}
        for channel, topics in self.channels.items():
            for topic, value in topics.items():
                out[f"channels.{channel}.{topic}"] = value
        return out


@dataclass(frozen=True)
class WriteResult:
    email: str
    preferences: Preferences
    updated_at: datetime | None
    change: PreferenceChange | None  # None: nothing changed (or an idempotent replay)
    replayed: bool = False


def defaults(settings: Settings) -> Preferences:
    return Preferences(
        global_opt_out=False,
        channels={c: dict.fromkeys(settings.preference_topics, False)
                  for c in settings.preference_channels},
    )


def state_of(row: MarketingPreference | None, settings: Settings) -> Preferences:
    """The stored choices over the defaults, for the channels and topics configured now."""
    base = defaults(settings)
    if row is None:
        return base
    stored = row.channels or {}
    channels = {
        channel: {topic: bool(stored.get(channel, {}).get(topic, value))
                  for topic, value in topics.items()}
        for channel, topics in base.channels.items()
    }
    return Preferences(global_opt_out=bool(row.global_opt_out), channels=channels)


def check_names(choices: ChannelChoices, settings: Settings) -> None:
    """422 naming every unknown channel or topic (nothing is written)."""
    details: list[dict[str, str]] = []
    for channel, value in choices.items():
        if channel not in settings.preference_channels:
            details.append({"field": f"body.channels.{channel}", "type": "unknown_channel",
                            "message": f"unknown channel '{channel}'"})
            continue
        if isinstance(value, Mapping):
            details.extend(
                {"field": f"body.channels.{channel}.{topic}", "type": "unknown_topic",
                 "message": f"unknown topic '{topic}' on channel '{channel}'"}
                for topic in value if topic not in settings.preference_topics
            )
    if details:
        names = ", ".join(d["message"] for d in details)
        raise ApiError(
            422, "validation_failed",
            f"Unknown {names}. Channels: {', '.join(settings.preference_channels)}; topics: "
            f"{', '.join(settings.preference_topics)}.",
            details=details,
        )


def merged(base: Preferences, *, global_opt_out: bool | None,
           choices: ChannelChoices | None) -> Preferences:
    channels = {c: dict(t) for c, t in base.channels.items()}
    for channel, value in (choices or {}).items():
        if isinstance(value, Mapping):
            channels[channel].update({t: bool(v) for t, v in value.items()})
        else:
            channels[channel] = dict.fromkeys(channels[channel], bool(value))
    return Preferences(
        global_opt_out=base.global_opt_out if global_opt_out is None else global_opt_out,
        channels=channels,
    )


def diff(before: Preferences, after: Preferences) -> tuple[dict[str, bool], dict[str, bool]]:
    old, new = before.flat(), after.flat()
    changed = [key for key in new if old.get(key) != new[key]]
    return {k: old[k] for k in changed}, {k: new[k] for k in changed}


def fingerprint(method: str, email: str, body: Mapping[str, Any]) -> str:
    canonical = json.dumps({"method": method, "email": email, "body": body}, sort_keys=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def suppression_hash(settings: Settings, email: str) -> str:
    """The keyed hash a suppression keeps of an address: HMAC-SHA256 under the code secret's
    key for suppressions (`sealing.SUPPRESSION_HASH`)."""
    return keyed_hash(settings.code_secret(), SUPPRESSION_HASH, f"suppression|{email}".encode())


def _suppression_hash_before_keys(settings: Settings, email: str) -> str:
    """The hash suppressions were written with before each purpose had its own key (HMAC under
    the code secret itself): looked up only, so that an erasure made then still holds."""
    return hmac.new(settings.code_secret(), f"suppression|{email}".encode(),
                    hashlib.sha256).hexdigest()


def is_suppressed(session: Session, email: str, settings: Settings) -> bool:
    hashes = (suppression_hash(settings, email), _suppression_hash_before_keys(settings, email))
    return session.scalar(select(Suppression.id).where(
        Suppression.email_hash.in_(hashes)).limit(1)) is not None


def current(session: Session, row: MarketingPreference | None, email: str,
            settings: Settings) -> Preferences:
    """The address's choices: its row over the defaults; without a row, opted out of
    everything if its data was erased (a suppression outlives the deletion), else the
    defaults."""
    base = state_of(row, settings)
    if row is None and is_suppressed(session, email, settings):
        return Preferences(global_opt_out=True, channels=base.channels)
    return base


def get_row(session: Session, email: str, *, lock: bool = False) -> MarketingPreference | None:
    query = select(MarketingPreference).where(MarketingPreference.email == email)
    return session.scalar(query.with_for_update() if lock else query)


def read(session: Session, email: str, settings: Settings) -> WriteResult:
    row = get_row(session, email)
    return WriteResult(email=email, preferences=current(session, row, email, settings),
                       updated_at=row.updated_at if row else None, change=None)


def history(session: Session, email: str, *, limit: int, offset: int) -> list[PreferenceChange]:
    return list(session.scalars(
        select(PreferenceChange)
        .join(MarketingPreference)
        .where(MarketingPreference.email == email)
        .order_by(PreferenceChange.id)
        .limit(limit).offset(offset)
    ))


@dataclass(frozen=True)
class _Stamp:
    """What a write records besides the choices: where it came from, when, who, and the
    idempotency key it may be retried with."""

    source: PreferenceSource
    now: datetime
    actor: str | None
    conversation_id: str | None
    idempotency_key: str | None
    idempotency_fingerprint: str | None
    # A write recorded even when it changes nothing (the code-free opt-out), and what must
    # hold before it is written (its limits), checked again if the write is retried.
    record_unchanged: bool = False
    admit: Callable[[Session], None] | None = None


def write(
    session: Session,
    email: str,
    change: Callable[[Preferences], Preferences],
    *,
    settings: Settings,
    source: PreferenceSource,
    now: datetime,
    actor: str | None = None,
    conversation_id: str | None = None,
    idempotency_key: str | None = None,
    idempotency_fingerprint: str | None = None,
    record_unchanged: bool = False,
    admit: Callable[[Session], None] | None = None,
) -> WriteResult:
    """Apply `change` to the current choices (flushed, not committed).

    Records one `PreferenceChange` with only the settings that changed; a write that changes
    nothing writes nothing (no row, no history), unless `record_unchanged`. With an
    idempotency key already recorded, returns the current state without applying anything
    again (409 if the body differs). `admit` runs first (and again on a retry): it may refuse.
    """
    stamp = _Stamp(source=source, now=now, actor=actor, conversation_id=conversation_id,
                   idempotency_key=idempotency_key,
                   idempotency_fingerprint=idempotency_fingerprint,
                   record_unchanged=record_unchanged, admit=admit)
    for attempt in (1, 2):
        try:
            return _write_once(session, email, change, settings, stamp)
        except IntegrityError:
            session.rollback()
            if attempt == 2:
                raise
            log.info("concurrent first write for one address (or one Idempotency-Key): retrying")
    raise AssertionError("unreachable")


def apply(session: Session, email: str, change: Callable[[Preferences], Preferences], *,
          method: str, channels: ChannelChoices | None, body: Mapping[str, Any],
          source: PreferenceSource, conversation_id: str | None, settings: Settings,
          now: datetime, actor: str | None, idempotency_key: str | None) -> WriteResult:
    """One write of the API (`PUT` or `PATCH`, its `body` as sent, without the proof):
    names checked (422, nothing written), applied once per idempotency key, committed."""
    if channels:
        check_names(channels, settings)
    fp = fingerprint(method, email, body) if idempotency_key is not None else None
    result = write(session, email, change, settings=settings, source=source, now=now,
                   actor=actor, conversation_id=conversation_id,
                   idempotency_key=idempotency_key, idempotency_fingerprint=fp)
    session.commit()
    return result


def _write_once(session: Session, email: str, change: Callable[[Preferences], Preferences],
                settings: Settings, stamp: _Stamp) -> WriteResult:
    if stamp.admit is not None:
        stamp.admit(session)
    row = get_row(session, email, lock=True)
    if stamp.idempotency_key is not None:
        earlier = session.scalar(select(PreferenceChange).where(
            PreferenceChange.idempotency_key == stamp.idempotency_key))
        if earlier is not None:
            if earlier.idempotency_fingerprint != stamp.idempotency_fingerprint:
                raise ApiError(409, "idempotency_conflict", "This Idempotency-Key was already "
                               "used with a different request body or address.")
            return WriteResult(email=email, preferences=current(session, row, email, settings),
                               updated_at=row.updated_at if row else None, change=None,
                               replayed=True)
    before = current(session, row, email, settings)
    after = change(before)
    old, new = diff(before, after)
    if not new and not stamp.record_unchanged:
        return WriteResult(email=email, preferences=before,
                           updated_at=row.updated_at if row else None, change=None)
    if row is None:
        row = MarketingPreference(email=email, created_at=stamp.now, version=0)
        session.add(row)
    row.global_opt_out = after.global_opt_out
    # A new dict each time (so the JSON column is seen as dirty); choices stored for channels
    # or topics no longer configured are kept, in case the configuration comes back.
    stored = row.channels or {}
    row.channels = {c: {**stored.get(c, {}), **after.channels.get(c, {})}
                    for c in {*stored, *after.channels}}
    row.updated_at = stamp.now
    row.version = (row.version or 0) + 1
    session.flush()
    record = PreferenceChange(
        preference_id=row.id, source=stamp.source, actor=stamp.actor,
        conversation_id=stamp.conversation_id, before=old, after=new, created_at=stamp.now,
        idempotency_key=stamp.idempotency_key,
        idempotency_fingerprint=stamp.idempotency_fingerprint if stamp.idempotency_key else None,
    )
    session.add(record)
    session.flush()
    log.info("marketing preferences changed (%d setting(s), source %s)", len(new),
             stamp.source.value)
    return WriteResult(email=email, preferences=after, updated_at=stamp.now, change=record)


# --- the code-free opt-out -------------------------------------------------------------------

# The actor of the assistant's opt-outs: made through the assistant, and nobody proved the
# address was theirs. The limits count the rows recorded under it.
UNVERIFIED_ACTOR = "assistant:unverified"
_HOUR = timedelta(hours=1)

OptOutScope = Literal["everything", "channel", "topic"]


@dataclass(frozen=True)
class OptOut:
    """What an opt-out recorded, and nothing of the address's other choices."""

    scope: OptOutScope
    channel: str | None
    topic: str | None
    recorded_at: datetime


def opt_out_choices(channel: str | None, topic: str | None,
                    settings: Settings) -> tuple[OptOutScope, ChannelChoices | None]:
    """The scope and the choices it turns off: everything (the global opt-out), a channel's
    topics, or a topic on one channel or on every channel; 422 naming an unknown name."""
    unknown: list[dict[str, str]] = []
    if channel is not None and channel not in settings.preference_channels:
        unknown.append({"field": "body.channel", "type": "unknown_channel",
                        "message": f"unknown channel '{channel}'"})
    if topic is not None and topic not in settings.preference_topics:
        unknown.append({"field": "body.topic", "type": "unknown_topic",
                        "message": f"unknown topic '{topic}'"})
    if unknown:
        raise ApiError(
            422, "validation_failed",
            f"Unknown {', '.join(d['message'] for d in unknown)}. Channels: "
            f"{', '.join(settings.preference_channels)}; topics: "
            f"{', '.join(settings.preference_topics)}.",
            details=unknown,
        )
    if topic is not None:
        return "topic", {c: {topic: False} for c in ([channel] if channel
                                                     else settings.preference_channels)}
    if channel is not None:
        return "channel", {channel: False}
    return "everything", None


def _recent(session: Session, since: datetime, condition: ColumnElement[bool],
            *, joined: bool = False) -> tuple[int, datetime | None]:
    """How many unverified opt-outs matching `condition` were recorded since `since`, and
    the oldest of them."""
    query = select(func.count(PreferenceChange.id), func.min(PreferenceChange.created_at))
    if joined:
        query = query.join(MarketingPreference)
    count, oldest = session.execute(query.where(
        condition, PreferenceChange.actor == UNVERIFIED_ACTOR,
        PreferenceChange.created_at > since)).one()
    return int(count or 0), oldest


def check_opt_out_limits(session: Session, email: str, conversation_id: str, *,
                         settings: Settings, now: datetime) -> None:
    """429 `too_many_opt_outs` (with Retry-After) once the address, or the conversation, had
    its hourly number of unverified opt-outs. Each opt-out counts, effective or not, and the
    answer is the same for both limits, so it says nothing about the address's choices or
    about what others did with it. The locks are taken address first, then conversation."""
    limits.advisory_lock(session, limits.MARKETING_OPT_OUTS, f"email:{email}",
                         f"conversation:{conversation_id}")
    since = now - _HOUR
    for (count, oldest), most in (
        (_recent(session, since, MarketingPreference.email == email, joined=True),
         settings.marketing_opt_outs_per_address_per_hour),
        (_recent(session, since, PreferenceChange.conversation_id == conversation_id),
         settings.marketing_opt_outs_per_conversation_per_hour),
    ):
        if count >= most:
            raise limits.too_many(
                "too_many_opt_outs", "Too many opt-outs were recorded just now; try again "
                "later, or use the unsubscribe link in any of our marketing emails.",
                limits.seconds_until_free(oldest, window=_HOUR, now=now))


def opt_out(session: Session, email: str, *, channel: str | None, topic: str | None,
            conversation_id: str, settings: Settings, now: datetime, actor: str,
            unverified: bool) -> OptOut:
    """Turn marketing off for `email` (everything, a channel, or a topic on one channel or on
    every channel) without any proof, recorded with source `chat` (`api` for staff), the
    conversation and
    `actor` (committed). An `unverified` opt-out (the assistant's) is bounded and recorded
    under `UNVERIFIED_ACTOR` even when it changes nothing; staff's are neither."""
    scope, choices = opt_out_choices(channel, topic, settings)

    def change(current: Preferences) -> Preferences:
        return merged(current, global_opt_out=True if scope == "everything" else None,
                      choices=choices)

    def admit(session: Session) -> None:
        check_opt_out_limits(session, email, conversation_id, settings=settings, now=now)

    # The assistant's come from the chat; staff's from their own tools over the API.
    source = PreferenceSource.CHAT if unverified else PreferenceSource.API
    write(session, email, change, settings=settings, source=source, now=now,
          actor=UNVERIFIED_ACTOR if unverified else actor, conversation_id=conversation_id,
          record_unchanged=unverified, admit=admit if unverified else None)
    session.commit()
    return OptOut(scope=scope, channel=channel, topic=topic, recorded_at=now)
