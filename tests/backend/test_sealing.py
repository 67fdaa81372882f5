"""The one sealing helper derives, for each purpose, exactly the key the backend has always
used, so links, export packages and queued mail sealed before it still open; and each keyed
hash (codes, suppressions, client keys) has a key of its own, so none passes for another."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.orm import Session

from privacy_backend.core import sealing
from privacy_backend.core.models import Suppression
from privacy_backend.core.sealing import Sealer
from privacy_backend.services import agents, export_links, preferences, verification

from .support import Api

SECRET = b"a-secret-for-the-sealing-tests-0123456789"

# The HKDF `info` each kind of sealed thing has used since it was first stored.
STORED_LABELS = {
    "EXPORT_LINK": b"export-link/fernet",
    "UNSUBSCRIBE_LINK": b"unsubscribe-link/fernet",
    "EXPORT_PACKAGE": b"export-package/fernet",
    "OUTBOX": b"privacy-backend outbox v1",
    "AGENT_CONFIRMATION_LINK": b"agent-confirmation-link/fernet",
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
    for other in (sealing.EXPORT_LINK, sealing.UNSUBSCRIBE_LINK, sealing.EXPORT_PACKAGE,
                  sealing.AGENT_CONFIRMATION_LINK):
        with pytest.raises(InvalidToken):
            Sealer(SECRET, other).open(token)
    # Nor does a link sealed for one page open as another's.
    links = (sealing.EXPORT_LINK, sealing.UNSUBSCRIBE_LINK, sealing.AGENT_CONFIRMATION_LINK)
    for made_for in links:
        link = Sealer(SECRET, made_for).seal(b"1|1900000000|PR-1234-5678")
        for other in links:
            if other != made_for:
                with pytest.raises(InvalidToken):
                    Sealer(SECRET, other).open(link)
    with pytest.raises(InvalidToken):
        Sealer(b"another-secret-entirely-0123456789", sealing.OUTBOX).open(token)


def test_an_export_link_signed_before_the_helper_still_opens() -> None:
    now = datetime(2024, 5, 1, tzinfo=timezone.utc)
    expires = int((now + timedelta(days=7)).timestamp())
    token = sealed_the_old_way(b"export-link/fernet", f"1|{expires}|abc123".encode())
    assert export_links.open_token(SECRET, token.decode(), now) == "abc123"


# --- keyed hashes: one key per purpose (issue 22) -------------------------------------------
KEYED_LABELS = {
    "CODE_HASH": b"one-time-code/hmac-sha256",
    "SUPPRESSION_HASH": b"suppression/hmac-sha256",
    "CLIENT_HASH": b"client-address/hmac-sha256",
}


def test_each_purpose_derives_a_key_of_its_own_never_the_secret_itself() -> None:
    for name, label in KEYED_LABELS.items():
        assert getattr(sealing, name) == label
    keys = [sealing.derive_key(SECRET, label)
            for label in (*KEYED_LABELS.values(), *STORED_LABELS.values())]
    assert len(set(keys)) == len(keys)
    assert SECRET not in keys and all(len(key) == 32 for key in keys)
    assert sealing.derive_key(SECRET, sealing.CODE_HASH) != sealing.derive_key(
        b"another-secret-entirely-0123456789", sealing.CODE_HASH)


def test_a_hash_made_for_another_purpose_never_passes_for_a_code() -> None:
    """Before each purpose had its key, a login client's key for the address "123456" was
    HMAC(secret, "login-client:123456"): exactly the stored hash of code 123456 for a
    verification with the id "login-client". Hashes made for one purpose must not verify as
    another's."""
    client = agents.client_key(SECRET, "123456")
    code = verification.hash_code(SECRET, "login-client", "123456")
    assert client != code
    # Nor does a code's hash made with the bare secret (or another purpose's key) verify.
    message = b"login-client:123456"
    assert code != hmac.new(SECRET, message, hashlib.sha256).hexdigest()
    for other in (sealing.SUPPRESSION_HASH, sealing.CLIENT_HASH):
        assert code != sealing.keyed_hash(SECRET, other, message)
    assert code == sealing.keyed_hash(SECRET, sealing.CODE_HASH, message)


def test_a_suppression_stored_before_the_keys_still_keeps_the_address_opted_out(
        api: Api) -> None:
    """An erasure made before suppressions had their own key (HMAC under the code secret
    itself) still holds: the address is not re-subscribed by the change of key."""
    secret = api.settings.code_secret()
    before = hmac.new(secret, b"suppression|ada@example.com", hashlib.sha256).hexdigest()
    assert before != preferences.suppression_hash(api.settings, "ada@example.com")
    with Session(api.engine) as session:
        session.add(Suppression(email_hash=before, created_at=datetime.now(timezone.utc),
                                reason="deletion"))
        session.commit()
    shown = api.staff.get("/api/v1/preferences", params={"email": "ada@example.com"})
    assert shown.status_code == 200, shown.text
    assert shown.json()["global_opt_out"] is True
    other = api.staff.get("/api/v1/preferences", params={"email": "bob@example.com"})
    assert other.json()["global_opt_out"] is False
