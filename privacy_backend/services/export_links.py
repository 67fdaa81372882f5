"""Signed, expiring links to an export package (`/exports/<token>`).

A token is a Fernet token (AES-128-CBC with HMAC-SHA256, from `cryptography`) whose plaintext
is `version|expires_at (unix seconds)|export id`, sealed (`core.sealing`) under a key derived
from the link secret (`UNSUBSCRIBE_SECRET`, else `<VAR_DIR>/unsubscribe_secret`) for this
purpose only.
Fernet authenticates the whole token, so a changed or made-up token is refused (403), and the
expiry inside it makes an old link gone (410) even before the purge deletes the package.
"""

from __future__ import annotations

from datetime import datetime, timezone

from privacy_backend.core.sealing import EXPORT_LINK, InvalidToken, Sealer

VERSION = "1"
MAX_TOKEN_CHARS = 400


class LinkInvalid(Exception):
    """Malformed, tampered with, or signed with another key."""


class LinkExpired(Exception):
    pass


def sign(secret: bytes, export_id: str, expires_at: datetime) -> str:
    plain = f"{VERSION}|{int(expires_at.timestamp())}|{export_id}"
    return Sealer(secret, EXPORT_LINK).seal(plain.encode())


def open_token(secret: bytes, token: str, now: datetime) -> str:
    """The export id the token names; `LinkInvalid` or `LinkExpired` otherwise."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise LinkInvalid
    try:
        plain = Sealer(secret, EXPORT_LINK).open(token.encode()).decode()
        version, expires, export_id = plain.split("|", 2)
        expires_at = datetime.fromtimestamp(int(expires), tz=timezone.utc)
    except (InvalidToken, ValueError, UnicodeError):
        raise LinkInvalid from None
    if version != VERSION or not export_id:
        raise LinkInvalid
    if now >= expires_at:
        raise LinkExpired
    return export_id
