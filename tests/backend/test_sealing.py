"""The one sealing helper derives, for each purpose, exactly the key the backend has always
used, so links, export packages and queued mail sealed before it still open."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from privacy_backend.core import sealing
from privacy_backend.core.sealing import Sealer
from privacy_backend.services import export_links

SECRET = b"a-secret-for-the-sealing-tests-0123456789"

# The HKDF `info` each kind of sealed thing has used since it was first stored.
STORED_LABELS = {
    "EXPORT_LINK": b"export-link/fernet",
    "UNSUBSCRIBE_LINK": b"unsubscribe-link/fernet",
    "EXPORT_PACKAGE": b"export-package/fernet",
    "OUTBOX": b"privacy-backend outbox v1",
}


def sealed_the_old_way(info: bytes, data: bytes) -> bytes:
    """A token as the backend sealed it before the helper: HKDF-SHA256, 32 bytes, no salt."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(SECRET)
    return Fernet(base64.urlsafe_b64encode(key)).encrypt(data)


@pytest.mark.parametrize("name", sorted(STORED_LABELS))
def test_each_purpose_keeps_its_label_and_opens_what_was_sealed_before(name: str) -> None:
    info = STORED_LABELS[name]
    assert getattr(sealing, name) == info
    token = sealed_the_old_way(info, b"sealed before the helper")
    assert Sealer(SECRET, info).open(token) == b"sealed before the helper"
    assert Sealer(SECRET, info).open(token.decode()) == b"sealed before the helper"


def test_a_token_opens_under_its_own_purpose_and_secret_only() -> None:
    token = Sealer(SECRET, sealing.OUTBOX).seal(b"code is: 123456")
    assert token.isascii() and "123456" not in token
    for other in (sealing.EXPORT_LINK, sealing.UNSUBSCRIBE_LINK, sealing.EXPORT_PACKAGE):
        with pytest.raises(InvalidToken):
            Sealer(SECRET, other).open(token)
    with pytest.raises(InvalidToken):
        Sealer(b"another-secret-entirely-0123456789", sealing.OUTBOX).open(token)


def test_an_export_link_signed_before_the_helper_still_opens() -> None:
    now = datetime(2024, 5, 1, tzinfo=timezone.utc)
    expires = int((now + timedelta(days=7)).timestamp())
    token = sealed_the_old_way(b"export-link/fernet", f"1|{expires}|abc123".encode())
    assert export_links.open_token(SECRET, token.decode(), now) == "abc123"
