"""Signed one-click unsubscribe links (RFC 8058).

A token is a Fernet token (AES-128-CBC with HMAC-SHA256, from `cryptography`) whose plaintext
is `version|expires_at (unix seconds)|scope|email`. Fernet authenticates the whole token, so
nothing in it can be changed, and encrypts it, so the address stays hidden from whoever sees
the URL (logs, proxies). The key is derived (`core.sealing`) from one secret
(`UNSUBSCRIBE_SECRET`, else `<VAR_DIR>/unsubscribe_secret`). No database row is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from privacy_backend.core.sealing import UNSUBSCRIBE_LINK, InvalidToken, Sealer
from privacy_backend.core.settings import Settings
from privacy_backend.services.preferences import Preferences, merged

VERSION = 2
MAX_TOKEN_CHARS = 600
ONE_CLICK = "List-Unsubscribe=One-Click"


class LinkInvalid(Exception):
    """Malformed, tampered with, signed with another key, or naming an unknown scope."""


class LinkExpired(Exception):
    pass


@dataclass(frozen=True)
class Scope:
    channel: str | None = None
    topic: str | None = None

    def __str__(self) -> str:
        if self.channel is None:
            return "all"
        return f"{self.channel}:{self.topic}" if self.topic else self.channel

    def apply(self, current: Preferences) -> Preferences:
        if self.channel is None:
            return merged(current, global_opt_out=True, choices=None)
        if self.topic is None:
            return merged(current, global_opt_out=None, choices={self.channel: False})
        return merged(current, global_opt_out=None, choices={self.channel: {self.topic: False}})


def parse_scope(value: str, settings: Settings) -> Scope:
    """`all`, `<channel>` or `<channel>:<topic>`; ValueError naming what is unknown."""
    text = value.strip().lower()
    if text == "all":
        return Scope()
    channel, _, topic = text.partition(":")
    if channel not in settings.preference_channels:
        raise ValueError(f"unknown channel '{channel}' (scopes: all, "
                         f"{', '.join(settings.preference_channels)}, or channel:topic)")
    if not topic:
        return Scope(channel=channel)
    if topic not in settings.preference_topics:
        raise ValueError(f"unknown topic '{topic}' (topics: "
                         f"{', '.join(settings.preference_topics)})")
    return Scope(channel=channel, topic=topic)


@dataclass(frozen=True)
class Link:
    email: str
    scope: Scope
    expires_at: datetime


def new_link(email: str, scope: Scope, *, now: datetime, ttl: timedelta) -> Link:
    return Link(email=email, scope=scope, expires_at=(now + ttl).replace(microsecond=0))


@dataclass(frozen=True)
class Issued:
    """A link for a marketing mail: its URL, scope, expiry, and the mail's headers for it."""

    url: str
    scope: Scope
    expires_at: datetime
    headers: dict[str, str]


def issue(email: str, scope_text: str, *, secret: bytes, settings: Settings,
          now: datetime) -> Issued:
    """A one-click unsubscribe link for `email` and a scope (`all`, a channel, or
    `channel:topic`), with the `List-Unsubscribe` headers (RFC 2369, RFC 8058). Nothing is
    stored. ValueError names an unknown scope."""
    scope = parse_scope(scope_text, settings)
    link = new_link(email, scope, now=now, ttl=timedelta(days=settings.unsubscribe_link_ttl_days))
    url = f"{settings.public_url}/unsubscribe/{encode(secret, link)}"
    targets = [f"<{url}>"]
    if settings.unsubscribe_mailto:
        targets.append(f"<mailto:{settings.unsubscribe_mailto}?subject=unsubscribe>")
    return Issued(url=url, scope=scope, expires_at=link.expires_at,
                  headers={"List-Unsubscribe": ", ".join(targets),
                           "List-Unsubscribe-Post": ONE_CLICK})


def encode(secret: bytes, link: Link) -> str:
    payload = f"{VERSION}|{int(link.expires_at.timestamp())}|{link.scope}|{link.email}"
    return Sealer(secret, UNSUBSCRIBE_LINK).seal(payload.encode()).rstrip("=")


def decode(secret: bytes, token: str, *, now: datetime, settings: Settings) -> Link:
    """The link in `token`, or LinkInvalid / LinkExpired. The token is authenticated before
    anything in it is trusted, the expiry checked after."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise LinkInvalid("bad length")
    try:
        payload = Sealer(secret, UNSUBSCRIBE_LINK).open(token + "=" * (-len(token) % 4)).decode()
    except (InvalidToken, UnicodeDecodeError, ValueError) as exc:
        raise LinkInvalid("not a token of ours") from exc
    version, _, rest = payload.partition("|")
    if version != str(VERSION):
        raise LinkInvalid("unknown version")
    try:
        expires_text, scope_text, email = rest.split("|", 2)
        expires = int(expires_text)
        scope = parse_scope(scope_text, settings)
    except ValueError as exc:
        raise LinkInvalid(str(exc)) from exc
    if not email:
        raise LinkInvalid("no address")
    expires_at = datetime.fromtimestamp(expires, tz=timezone.utc)
    if now >= expires_at:
        raise LinkExpired()
    return Link(email=email, scope=scope, expires_at=expires_at)
