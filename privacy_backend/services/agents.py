"""Support agents: accounts with argon2 password hashes, console sessions kept server-side
(only a SHA-256 of the cookie value is stored), and the lockout after repeated failures."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from privacy_assistant.settings import normalise_email
from privacy_backend.core import limits
from privacy_backend.core.models import Agent, AgentRole, AgentSession, LoginAttempt
from privacy_backend.core.sealing import CLIENT_HASH, keyed_hash
from privacy_backend.core.settings import Settings

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password: equalises the time of unknown-email logins")
TOUCH_EVERY = timedelta(seconds=20)  # write last_seen_at at most this often per session


class LoginFailed(Exception):
    """Wrong email or password (deliberately not saying which)."""


class LockedOut(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("too many failed logins")
        self.retry_after = retry_after


class AgentExists(Exception):
    pass


@dataclass(frozen=True)
class NewSession:
    cookie_value: str
    record: AgentSession


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create_agent(session: Session, email: str, name: str, password: str, *, now: datetime,
                 role: AgentRole = AgentRole.AGENT) -> Agent:
    email = normalise_email(email)
    if session.scalar(select(Agent).where(Agent.email == email)) is not None:
        raise AgentExists(email)
    agent = Agent(email=email, name=name.strip(), password_hash=_hasher.hash(password),
                  active=True, role=role, created_at=now)
    session.add(agent)
    session.flush()
    return agent


def set_password(agent: Agent, password: str) -> None:
    agent.password_hash = _hasher.hash(password)


def reset_password(session: Session, agent: Agent, password: str, *, now: datetime) -> int:
    """A new password for `agent`, and the end of every session the old one opened (whoever
    held one of them, a stolen cookie included, must log in again); how many ended."""
    set_password(agent, password)
    ended = session.execute(
        update(AgentSession)
        .where(AgentSession.agent_id == agent.id, AgentSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False))
    return int(getattr(ended, "rowcount", 0) or 0)


# A client that fails this many times the per-account limit, over any accounts, is locked
# out of every account for the window: it is guessing, not mistyping.
SPRAY_FACTOR = 4


def client_key(secret: bytes, address: str | None) -> str:
    """A keyed hash of the client's address: failures can be counted per client without
    storing where anyone logged in from."""
    return keyed_hash(secret, CLIENT_HASH, f"login-client:{address or ''}".encode())


def _recent_failures(session: Session, since: datetime, *conditions: Any) -> list[datetime]:
    return list(session.scalars(
        select(LoginAttempt.created_at)
        .where(LoginAttempt.created_at > since, *conditions)
        .order_by(LoginAttempt.created_at)
    ))


def _lockout(failures: list[datetime], limit: int, window: timedelta, now: datetime) -> None:
    if len(failures) >= limit:
        unlock = failures[-limit] + window
        raise LockedOut(retry_after=max(1, math.ceil((unlock - now).total_seconds())))


def _serialise_client(session: Session, client: str) -> None:
    """Make one client's login attempts take their turn: the lockout counts what the ones
    before recorded. SQLite's `BEGIN IMMEDIATE` (core.db) already does; PostgreSQL takes a
    lock on the client's key until the transaction ends."""
    limits.advisory_lock(session, limits.LOGINS, f"login:{client}")


def authenticate(session: Session, email: str, password: str, *, settings: Settings,
                 now: datetime, client: str = "") -> Agent:
    """The agent, or LoginFailed / LockedOut.

    The lockout slows the client that fails, not the account: failures count per account
    and client (`client`, from `client_key`), so someone guessing an agent's password from
    one place cannot lock the agent out from another; a client that fails across many
    accounts is locked out of all of them.

    Each attempt is recorded as a failure before its password is checked, in a short
    transaction of its own (committed here) in which the client's attempts take turns: of
    any number of guesses sent at once, at most the limit are checked. argon2 then runs
    outside any transaction (under SQLite's write lock it would stall every other write);
    a right password removes the client's failures for the account."""
    email = normalise_email(email)[:254]
    window = timedelta(minutes=settings.login_window_minutes)
    since = now - window
    _serialise_client(session, client)
    try:
        _lockout(_recent_failures(session, since, LoginAttempt.email == email,
                                  LoginAttempt.client_key == client),
                 settings.login_max_failures, window, now)
        _lockout(_recent_failures(session, since, LoginAttempt.client_key == client),
                 settings.login_max_failures * SPRAY_FACTOR, window, now)
    except LockedOut:
        session.rollback()
        raise
    session.add(LoginAttempt(email=email, client_key=client, created_at=now))
    agent = session.scalar(select(Agent).where(Agent.email == email))
    stored = agent.password_hash if agent else _DUMMY_HASH
    active = agent is not None and agent.active
    session.commit()
    try:
        _hasher.verify(stored, password)
        ok = active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or agent is None:
        raise LoginFailed()
    rehashed = _hasher.hash(password) if _hasher.check_needs_rehash(stored) else None
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email,
                                               LoginAttempt.client_key == client))
    if rehashed is not None:
        agent.password_hash = rehashed
    return agent


def start_session(session: Session, agent: Agent, *, settings: Settings, now: datetime
                  ) -> NewSession:
    cookie_value = secrets.token_urlsafe(32)
    record = AgentSession(
        token_hash=token_hash(cookie_value), csrf_token=secrets.token_urlsafe(32),
        agent_id=agent.id, created_at=now, last_seen_at=now,
        expires_at=now + timedelta(hours=settings.agent_session_hours),
    )
    session.add(record)
    session.flush()
    return NewSession(cookie_value=cookie_value, record=record)


def live_session(session: Session, cookie_value: str, *, now: datetime) -> AgentSession | None:
    """The live session for a cookie (touching its last-seen time), or None."""
    record = session.scalar(select(AgentSession).where(
        AgentSession.token_hash == token_hash(cookie_value)))
    if (record is None or record.ended_at is not None or record.expires_at <= now
            or not record.agent.active):
        return None
    if now - record.last_seen_at >= TOUCH_EVERY:
        record.last_seen_at = now
        session.commit()
    return record


def end_session(record: AgentSession, *, now: datetime) -> None:
    record.ended_at = now


def agents_online(session: Session, *, settings: Settings, now: datetime) -> int:
    """Agents with a live session seen in the last AGENT_ONLINE_MINUTES."""
    seen_since = now - timedelta(minutes=settings.agent_online_minutes)
    count = session.scalar(
        select(func.count(func.distinct(AgentSession.agent_id))).where(
            AgentSession.ended_at.is_(None), AgentSession.expires_at > now,
            AgentSession.last_seen_at >= seen_since)
    )
    return int(count or 0)
