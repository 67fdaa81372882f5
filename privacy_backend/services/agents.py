"""Support agents: accounts with argon2 password hashes, console sessions kept server-side
(only a SHA-256 of the cookie value is stored), and the lockout after repeated failures."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from privacy_assistant.settings import normalise_email
from privacy_backend.core.models import Agent, AgentRole, AgentSession, LoginAttempt
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


# A client that fails this many times the per-account limit, over any accounts, is locked
# out of every account for the window: it is guessing, not mistyping.
SPRAY_FACTOR = 4


def client_key(secret: bytes, address: str | None) -> str:
    """A keyed hash of the client's address: failures can be counted per client without
    storing where anyone logged in from."""
    return hmac.new(secret, f"login-client:{address or ''}".encode(), hashlib.sha256).hexdigest()


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


def authenticate(session: Session, email: str, password: str, *, settings: Settings,
                 now: datetime, client: str = "") -> Agent:
    """The agent, or LoginFailed / LockedOut. Failures are recorded (the caller commits).

    The lockout slows the client that fails, not the account: failures count per account
    and client (`client`, from `client_key`), so someone guessing an agent's password from
    one place cannot lock the agent out from another; a client that fails across many
    accounts is locked out of all of them."""
    email = normalise_email(email)[:254]
    window = timedelta(minutes=settings.login_window_minutes)
    since = now - window
    _lockout(_recent_failures(session, since, LoginAttempt.email == email,
                              LoginAttempt.client_key == client),
             settings.login_max_failures, window, now)
    _lockout(_recent_failures(session, since, LoginAttempt.client_key == client),
             settings.login_max_failures * SPRAY_FACTOR, window, now)
    agent = session.scalar(select(Agent).where(Agent.email == email))
    try:
        _hasher.verify(agent.password_hash if agent else _DUMMY_HASH, password)
        ok = agent is not None and agent.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or agent is None:
        session.add(LoginAttempt(email=email, client_key=client, created_at=now))
        raise LoginFailed()
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email,
                                               LoginAttempt.client_key == client))
    if _hasher.check_needs_rehash(agent.password_hash):
        set_password(agent, password)
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
