"""Signed, expiring links to the consumer's confirmation page of an authorized agent's request
(`/agent-requests/<token>`, CCPA regs §7063).

A token is a Fernet token (AES-128-CBC with HMAC-SHA256, from `cryptography`) whose plaintext
is `version|expires_at (unix seconds)|request reference`, sealed (`core.sealing`) under a key
derived from the link secret (`UNSUBSCRIBE_SECRET`, else `<VAR_DIR>/unsubscribe_secret`) for
this purpose only (`AGENT_CONFIRMATION_LINK`): an export or unsubscribe link, sealed under the
same secret for its own purpose, never opens here, nor one of these there. Fernet
authenticates the whole token, so a changed or made-up token is refused, and the expiry inside
it ends the link with the request's window for verification (UNVERIFIED_CLOSE_DAYS after
filing, when an unanswered request is closed).
"""

from __future__ import annotations

from datetime import datetime, timezone

from privacy_backend.core.sealing import AGENT_CONFIRMATION_LINK, InvalidToken, Sealer

VERSION = "1"
MAX_TOKEN_CHARS = 400


class LinkInvalid(Exception):
    """Malformed, tampered with, or sealed with another key or for another purpose."""


class LinkExpired(Exception):
    """An authentic link past its expiry; `reference` names its request (to say what became
    of it, never to act on it)."""

    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        self.reference = reference


def sign(secret: bytes, reference: str, expires_at: datetime) -> str:
    plain = f"{VERSION}|{int(expires_at.timestamp())}|{reference}"
    return Sealer(secret, AGENT_CONFIRMATION_LINK).seal(plain.encode())


def open_token(secret: bytes, token: str, now: datetime) -> str:
    """The request reference the token names; `LinkInvalid` or `LinkExpired` otherwise. The
    token is authenticated before anything in it is trusted, the expiry checked after (an
    expired link still names its request, to say what became of it)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise LinkInvalid
    try:
        plain = Sealer(secret, AGENT_CONFIRMATION_LINK).open(token.encode()).decode()
        version, expires, reference = plain.split("|", 2)
        expires_at = datetime.fromtimestamp(int(expires), tz=timezone.utc)
    except (InvalidToken, ValueError, UnicodeError):
        raise LinkInvalid from None
    if version != VERSION or not reference:
        raise LinkInvalid
    if now >= expires_at:
        raise LinkExpired(reference)
    return reference
