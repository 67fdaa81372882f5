"""Signed, expiring links to an export package (`/exports/<token>`): `services.signed_links`
sealed for `EXPORT_LINK` only, naming the export's id. A changed or made-up token is refused
(403), and the expiry inside it makes an old link gone (410) even before the purge deletes the
package.
"""

from __future__ import annotations

from datetime import datetime

from privacy_backend.core.sealing import EXPORT_LINK
from privacy_backend.services import signed_links
from privacy_backend.services.signed_links import LinkExpired, LinkInvalid

__all__ = ["LinkExpired", "LinkInvalid", "open_token", "sign"]


def sign(secret: bytes, export_id: str, expires_at: datetime) -> str:
    return signed_links.sign(secret, EXPORT_LINK, export_id, expires_at)


def open_token(secret: bytes, token: str, now: datetime) -> str:
    """The export id the token names; `LinkInvalid` or `LinkExpired` otherwise."""
    return signed_links.open_token(secret, EXPORT_LINK, token, now)
