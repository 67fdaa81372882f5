"""Sealing and keyed hashes: every key the backend derives from its two secrets.

Each use of a secret gets a key of its own, derived with HKDF-SHA256 (32 bytes, no salt) from
the secret and a purpose label (HKDF's `info`), so that what is made for one purpose never
passes for another: a token sealed for one purpose never opens as another, and a keyed hash
made for one (a login client's key) never verifies as another (a one-time code). The secret is
always passed in by the caller (the settings or the app state hold it); nothing here reads
settings or files.

- Sealed things (signed links, the export package, queued mail): a Fernet (AES-128-CBC with
  HMAC-SHA256, from `cryptography`) under the purpose's key.
- Keyed hashes (one-time codes, suppressions, client addresses): HMAC-SHA256 under the
  purpose's key (`keyed_hash`).

The labels are part of the stored data: changing one makes every link, package, queued mail or
hash made under it unreadable. `tests/backend/test_sealing.py` pins them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["AGENT_CONFIRMATION_LINK", "CLIENT_HASH", "CODE_HASH", "EXPORT_LINK", "EXPORT_PACKAGE",
           "InvalidToken", "OUTBOX", "SUPPRESSION_HASH", "Sealer", "UNSUBSCRIBE_LINK",
           "derive_key", "fernet", "keyed_hash"]

# The purpose labels of sealed things, one per kind (unchanged since each was first stored).
EXPORT_LINK = b"export-link/fernet"  # /exports/<token> links, under the link secret
UNSUBSCRIBE_LINK = b"unsubscribe-link/fernet"  # one-click unsubscribe links, the link secret
# /agent-requests/<token> links (a consumer confirming an agent), under the link secret
AGENT_CONFIRMATION_LINK = b"agent-confirmation-link/fernet"
EXPORT_PACKAGE = b"export-package/fernet"  # export packages at rest, under the code secret
OUTBOX = b"privacy-backend outbox v1"  # queued mail at rest, under the code secret

# The purpose labels of keyed hashes (HMAC-SHA256).
CODE_HASH = b"one-time-code/hmac-sha256"  # one-time codes, under the code secret
SUPPRESSION_HASH = b"suppression/hmac-sha256"  # erased addresses kept opted out, code secret
CLIENT_HASH = b"client-address/hmac-sha256"  # login and download clients, either secret


@lru_cache(maxsize=64)
def derive_key(secret: bytes, purpose: bytes) -> bytes:
    """The 32-byte key for `purpose`, derived from `secret` (once per pair, then reused)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


def keyed_hash(secret: bytes, purpose: bytes, message: bytes) -> str:
    """HMAC-SHA256 of `message` under the key derived for `purpose`, in hex."""
    return hmac.new(derive_key(secret, purpose), message, hashlib.sha256).hexdigest()


@lru_cache(maxsize=32)
def fernet(secret: bytes, purpose: bytes) -> Fernet:
    """The Fernet for `purpose`, keyed from `secret`."""
    return Fernet(base64.urlsafe_b64encode(derive_key(secret, purpose)))


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
