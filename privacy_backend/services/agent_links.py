"""Signed, expiring links to the consumer's confirmation page of an authorized agent's request
(`/agent-requests/<token>`, CCPA regs §7063): `services.signed_links` sealed for
`AGENT_CONFIRMATION_LINK` only, naming the request's reference. An export or unsubscribe link,
sealed under the same secret for its own purpose, never opens here, nor one of these there.
The expiry ends the link with the request's window for verification (UNVERIFIED_CLOSE_DAYS
after filing, when an unanswered request is closed); an expired link still names its request
(`LinkExpired.subject`), to say what became of it.
"""

from __future__ import annotations

from datetime import datetime

from privacy_backend.core.sealing import AGENT_CONFIRMATION_LINK
from privacy_backend.services import signed_links
from privacy_backend.services.signed_links import LinkExpired, LinkInvalid

__all__ = ["LinkExpired", "LinkInvalid", "open_token", "sign"]


def sign(secret: bytes, reference: str, expires_at: datetime) -> str:
    return signed_links.sign(secret, AGENT_CONFIRMATION_LINK, reference, expires_at)


def open_token(secret: bytes, token: str, now: datetime) -> str:
    """The request reference the token names; `LinkInvalid` or `LinkExpired` otherwise."""
    return signed_links.open_token(secret, AGENT_CONFIRMATION_LINK, token, now)
