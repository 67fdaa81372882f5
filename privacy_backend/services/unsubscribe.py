"""Signed one-click unsubscribe links (RFC 8058).

A token is URL-safe base64 of

    version (1) | expires_at, unix seconds (4) | nonce (8) | sealed "scope\\nemail" | tag (16)

The tag is HMAC-SHA256 (truncated to 128 bits) over everything before it, so nothing in the
token can be changed. The scope and address are hidden from whoever sees the URL (logs,
proxies) by XOR with a SHAKE-256 keystream derived from the key and the random nonce (stdlib
only; no new dependency). The integrity tag is the security property; the sealing is a
courtesy that keeps the address out of plain sight. Both keys are derived from one secret
(`UNSUBSCRIBE_SECRET`, else `<VAR_DIR>/unsubscribe_secret`). No database row is needed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from privacy_backend.core.settings import Settings
from privacy_backend.services.preferences import Preferences, merged

VERSION = 1
_HEADER = struct.Struct(">BI")
_NONCE = 8
_TAG = 16
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


def _keys(secret: bytes) -> tuple[bytes, bytes]:
    def derive(label: bytes) -> bytes:
        return hmac.new(secret, b"unsubscribe-link/" + label, hashlib.sha256).digest()

    return derive(b"seal"), derive(b"tag")


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    return hashlib.shake_256(key + nonce).digest(length)


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def new_link(email: str, scope: Scope, *, now: datetime, ttl: timedelta) -> Link:
    return Link(email=email, scope=scope, expires_at=(now + ttl).replace(microsecond=0))


def encode(secret: bytes, link: Link) -> str:
    seal_key, tag_key = _keys(secret)
    nonce = secrets.token_bytes(_NONCE)
    payload = f"{link.scope}\n{link.email}".encode()
    body = (_HEADER.pack(VERSION, int(link.expires_at.timestamp())) + nonce
            + _xor(payload, _keystream(seal_key, nonce, len(payload))))
    tag = hmac.new(tag_key, body, hashlib.sha256).digest()[:_TAG]
    return base64.urlsafe_b64encode(body + tag).rstrip(b"=").decode()


def decode(secret: bytes, token: str, *, now: datetime, settings: Settings) -> Link:
    """The link in `token`, or LinkInvalid / LinkExpired. The tag is checked before anything
    in the token is trusted, the expiry after."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise LinkInvalid("bad length")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise LinkInvalid("not base64") from exc
    if len(raw) < _HEADER.size + _NONCE + 3 + _TAG:
        raise LinkInvalid("too short")
    body, tag = raw[:-_TAG], raw[-_TAG:]
    seal_key, tag_key = _keys(secret)
    if not hmac.compare_digest(tag, hmac.new(tag_key, body, hashlib.sha256).digest()[:_TAG]):
        raise LinkInvalid("bad tag")
    version, expires = _HEADER.unpack_from(body)
    if version != VERSION:
        raise LinkInvalid("unknown version")
    nonce, sealed = body[_HEADER.size:_HEADER.size + _NONCE], body[_HEADER.size + _NONCE:]
    try:
        scope_text, _, email = _xor(sealed, _keystream(seal_key, nonce, len(sealed))
                                    ).decode().partition("\n")
        scope = parse_scope(scope_text, settings)
    except (UnicodeDecodeError, ValueError) as exc:
        raise LinkInvalid(str(exc)) from exc
    if not email:
        raise LinkInvalid("no address")
    expires_at = datetime.fromtimestamp(expires, tz=timezone.utc)
    if now >= expires_at:
        raise LinkExpired()
    return Link(email=email, scope=scope, expires_at=expires_at)
