"""Signed, expiring links that name one thing (an export package, an agent's request).

A token is a Fernet token (AES-128-CBC with HMAC-SHA256, from `cryptography`) whose plaintext
is `version|expires_at (unix seconds)|subject`, sealed (`core.sealing`) under a key derived
from the link secret (`UNSUBSCRIBE_SECRET`, else `<VAR_DIR>/unsubscribe_secret`) for one
purpose only: a link sealed for one purpose never opens for another. Fernet authenticates the
whole token, so a changed or made-up token is refused; the expiry is read only after that, so
an expired link still names its subject (to say what became of it, never to act on it).
"""

from __future__ import annotations

from datetime import datetime, timezone

from privacy_backend.core.sealing import InvalidToken, Sealer

VERSION = "1"
MAX_TOKEN_CHARS = 400


class LinkInvalid(Exception):
    """Malformed, tampered with, or sealed with another key or for another purpose."""


class LinkExpired(Exception):
    """An authentic link past its expiry; `subject` is what it names."""

    def __init__(self, subject: str) -> None:
        super().__init__(subject)
        self.subject = subject


def sign(secret: bytes, purpose: bytes, subject: str, expires_at: datetime) -> str:
    plain = f"{VERSION}|{int(expires_at.timestamp())}|{subject}"
    return Sealer(secret, purpose).seal(plain.encode())


def open_token(secret: bytes, purpose: bytes, token: str, now: datetime) -> str:
    """The subject the token names; `LinkInvalid` or `LinkExpired` otherwise."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise LinkInvalid
    try:
        plain = Sealer(secret, purpose).open(token.encode()).decode()
        version, expires, subject = plain.split("|", 2)
        expires_at = datetime.fromtimestamp(int(expires), tz=timezone.utc)
    except (InvalidToken, ValueError, UnicodeError):
        raise LinkInvalid from None
    if version != VERSION or not subject:
        raise LinkInvalid
    if now >= expires_at:
        raise LinkExpired(subject)
    return subject
