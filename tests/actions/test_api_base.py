"""What every backend client shares: bodies written and read with the backend's own models,
one connection pool and one reading of the settings per process."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from actions.api.base import read_body, send_body, shared_http
from actions.api.errors import BackendUnavailable
from actions.api.requests import PrivacyRequestsClient
from actions.settings import settings
from privacy_assistant.api_models.requests import LookupIn, RequestCreate, VerificationConfirmed
from privacy_assistant.contract import RequestType


def test_a_body_is_sent_as_given_for_the_backend_to_judge() -> None:
    body = send_body(RequestCreate, type=RequestType.ACCESS, email="not-an-email",
                     details="x" * 5000)
    assert body == {"type": "access", "email": "not-an-email", "details": "x" * 5000}
    # Only the fields given: defaults are the backend's to fill in; unknown ones go too.
    assert send_body(LookupIn, reference="PR-1", email="a@b.c", extra=1) == {
        "reference": "PR-1", "email": "a@b.c", "extra": 1}


def test_an_answer_is_read_with_the_backends_model() -> None:
    read = read_body(VerificationConfirmed, {
        "id": "v1", "purpose": "preferences", "email": "a@example.com", "conversation_id": None,
        "verified_at": "2027-01-05T10:00:00Z"})
    assert read.verified_at == datetime(2027, 1, 5, 10, tzinfo=timezone.utc)
    with pytest.raises(BackendUnavailable, match="not a VerificationConfirmed"):
        read_body(VerificationConfirmed, {"id": "v1"})


def test_settings_and_the_connection_pool_are_made_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PRIVACY_API_TOKEN", "token-0123456789")
    assert settings() is settings()
    with PrivacyRequestsClient.from_env() as first, PrivacyRequestsClient.from_env() as second:
        assert first._http is second._http
    # Closing a client leaves the process's pool open for the next call.
    assert not first._http.is_closed
    assert shared_http("http://127.0.0.1:9/", "token-0123456789",
                       settings().backend_timeout) is first._http
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:10")  # the test fixture forgets both
    with PrivacyRequestsClient.from_env() as third:
        assert third._http is not first._http and first._http.is_closed
