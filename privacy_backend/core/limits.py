"""What the backend's limits share: the advisory locks that make "count, then write" one step
on PostgreSQL, and the 429 answer with its Retry-After.

Each limit counts rows of its own table over a window (codes per address, opt-outs per
conversation, failed logins per client). Two concurrent calls could both count below the
limit and both write; so the caller first takes transaction-level advisory locks on the keys
it counts by (`advisory_lock`), always in the same order, and holds them until it commits.
SQLite runs one writer at a time already (`core.db` begins its transactions IMMEDIATE).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from privacy_backend.core.errors import ApiError

# The lock spaces (first key of `pg_advisory_xact_lock(int, int)`), one per limit, so that
# the same key string in two limits never waits on the other.
CODES = 0x636F6465  # "code"
PRIVACY_OPT_OUTS = 7026  # CCPA regs §7026
MARKETING_OPT_OUTS = 0x6F707420  # "opt "
LOGINS = 0x6C6F6769  # "logi"
# Not a limit, the same "look, then write" step: one address's requests of one type becoming
# verified take turns, so that of two at once the second sees the first (`duplicates`).
DUPLICATES = 0x64757065  # "dupe"


def advisory_lock(session: Session, space: int, *keys: str | None) -> None:
    """Hold PostgreSQL's transaction-level advisory lock on each key (None skipped), in the
    order given, until the transaction ends; nothing on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in keys:
        if key is not None:
            session.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
                            {"space": space, "key": key})


def retry_after(seconds: float) -> dict[str, str]:
    """The Retry-After header for a wait of `seconds` (at least one)."""
    return {"Retry-After": str(max(math.ceil(seconds), 1))}


def seconds_until_free(oldest: datetime | None, *, window: timedelta, now: datetime) -> float:
    """How long until the oldest row counted in a full window leaves it."""
    return (oldest + window - now).total_seconds() if oldest else window.total_seconds()


def too_many(reason: str, message: str, wait_seconds: float) -> ApiError:
    """The 429 answer of a limit: `reason` for programs, `message` for people."""
    return ApiError(429, reason, message, headers=retry_after(wait_seconds))
