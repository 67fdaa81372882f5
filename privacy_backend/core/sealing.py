"""Sealing: what the backend keeps or hands out encrypted and authenticated.

One helper for every sealed thing (signed links, the export package, queued mail): a Fernet
(AES-128-CBC with HMAC-SHA256, from `cryptography`) under a key derived with HKDF-SHA256
(32 bytes, no salt) from a secret and a purpose label. Each purpose gets a key of its own,
so a token sealed for one purpose never opens as another. The secret is always passed in by
the caller (the settings or the app state hold it); nothing here reads settings or files.

The labels are part of the stored data: changing one makes every link, package and queued
mail sealed under it unreadable. `tests/backend/test_sealing.py` pins them.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["EXPORT_LINK", "EXPORT_PACKAGE", "InvalidToken", "OUTBOX", "Sealer",
           "UNSUBSCRIBE_LINK", "fernet"]

# The purpose labels (HKDF's `info`), one per kind of sealed thing.
EXPORT_LINK = b"export-link/fernet"  # /exports/<token> links, under the link secret
UNSUBSCRIBE_LINK = b"unsubscribe-link/fernet"  # one-click unsubscribe links, the link secret
EXPORT_PACKAGE = b"export-package/fernet"  # export packages at rest, under the code secret
OUTBOX = b"privacy-backend outbox v1"  # queued mail at rest, under the code secret


@lru_cache(maxsize=32)
def fernet(secret: bytes, purpose: bytes) -> Fernet:
    """The Fernet for `purpose`, keyed from `secret` (derived once per pair, then reused)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


class Sealer:
    """Seals bytes into an ASCII token and opens it again, for one secret and purpose."""

    def __init__(self, secret: bytes, purpose: bytes) -> None:
        self._fernet = fernet(secret, purpose)

    def seal(self, data: bytes) -> str:
        return self._fernet.encrypt(data).decode("ascii")

    def open(self, token: str | bytes) -> bytes:
        """The sealed bytes; `InvalidToken` if the token was changed, made up or sealed
        under another key or purpose."""
        return self._fernet.decrypt(token)
