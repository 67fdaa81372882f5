"""The action-side client against a real backend over real HTTP (uvicorn on a loopback port,
see conftest.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from actions.api import requests as api_requests
from actions.api.errors import (
    BackendUnavailable,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
    VerificationFailed,
)
from actions.api.requests import (
    CodeSent,
    PrivacyRequest,
    PrivacyRequestsClient,
    Purpose,
    RequestStatus,
    RequestType,
)
from tests.actions.conftest import TOKEN, Backend, client_fixture

client = client_fixture(PrivacyRequestsClient)


def test_create_verify_and_track_a_request(client: PrivacyRequestsClient,
                                           backend: Backend) -> None:
    created = client.create_request(RequestType.DELETION, "ada@example.com", region="Germany",
                                    channel="web", conversation_id="conv-7",
                                    idempotency_key="conv-7-deletion")
    assert isinstance(created, PrivacyRequest)
    assert created.status is RequestStatus.PENDING_VERIFICATION
    assert created.type is RequestType.DELETION and created.jurisdiction == "GDPR"
    assert created.due_at.tzinfo is not None
    again = client.create_request("deletion", "ada@example.com", region="Germany",
                                  channel="web", conversation_id="conv-7",
                                  idempotency_key="conv-7-deletion")
    assert again.reference == created.reference

    with pytest.raises(VerificationFailed) as wrong:
        client.verify_request(created.reference, "000000" if backend.last_code() != "000000"
                              else "111111")
    assert wrong.value.reason == "invalid_code" and wrong.value.attempts_left == 4
    verified = client.verify_request(created.reference, backend.last_code())
    assert verified.status is RequestStatus.VERIFIED and verified.verified_at is not None

    # The confirmed code is the proof that lets the assistant read the request back.
    with pytest.raises(Unauthorized) as refused:
        client.get_request(created.reference, verification_id=None)
    assert (refused.value.status_code, refused.value.code) == (403, "verification_required")
    read = client.get_request(created.reference.lower(), verification_id=verified.verification_id,
                              conversation_id="conv-7")
    assert read.status is RequestStatus.VERIFIED
    backend.staff("PATCH", f"/api/v1/requests/{created.reference}",
                  json={"status": "in_progress"})
    trail = backend.staff("GET", f"/api/v1/requests/{created.reference}/audit")
    assert [(e["actor"], e["action"]) for e in trail][-2:] == [
        ("requester", "status_changed"), ("staff-token", "status_changed")]


def test_a_request_is_filed_verified_with_the_conversations_proof(
        client: PrivacyRequestsClient, backend: Backend) -> None:
    proof = backend.proof("eli@example.com", "conv-8")
    mails = backend.mail_count()
    filed = client.create_request("access", "eli@example.com", conversation_id="conv-8",
                                  idempotency_key="conv-8-access", verification_id=proof)
    assert filed.status is RequestStatus.VERIFIED and not filed.code_sent
    assert backend.mail_count() == mails
    with pytest.raises(Unauthorized):
        client.create_request("access", "eli@example.com", conversation_id="conv-other",
                              verification_id=proof)
    assert len(backend.requests_of("eli@example.com")) == 1


def test_status_lookup_and_generic_verification(client: PrivacyRequestsClient,
                                                backend: Backend) -> None:
    created = client.create_request("access", "bob@example.com")
    mails_before = backend.mail_count()
    started = client.start_status_lookup(created.reference, "bob@example.com")
    assert isinstance(started, CodeSent)
    deadline = time.monotonic() + 5  # the lookup mail is sent just after the response
    while time.monotonic() < deadline and backend.mail_count() == mails_before:
        time.sleep(0.05)
    result = client.confirm_verification(started.verification_id, backend.last_code())
    assert (result.request_reference, result.purpose) == (created.reference,
                                                          Purpose.STATUS_LOOKUP)
    decoy = client.start_status_lookup("PR-2222-2222", "bob@example.com")
    assert isinstance(decoy, CodeSent)
    pref = client.start_verification("carol@example.com", Purpose.PREFERENCES, "conv-1")
    with pytest.raises(VerificationFailed):
        client.confirm_verification(pref.verification_id, "999999"
                                    if backend.last_code() != "999999" else "888888")
    confirmed = client.confirm_verification(pref.verification_id, backend.last_code())
    assert (confirmed.email, confirmed.purpose) == ("carol@example.com", Purpose.PREFERENCES)


def test_errors_become_typed_exceptions(client: PrivacyRequestsClient, backend: Backend) -> None:
    with pytest.raises(NotFound):
        client.resend_code("PR-2222-3333")
    with pytest.raises(ValidationFailed) as invalid:
        client.create_request("access", "not-an-email")
    assert invalid.value.status_code == 422 and "email" in invalid.value.message
    with pytest.raises(ValidationFailed):
        client.create_request("access", "a@example.com", details="x" * 20_000)  # 413
    with PrivacyRequestsClient(backend.url, "wrong-token", timeout=5) as bad:
        with pytest.raises(Unauthorized):
            bad.resend_code("PR-2222-3333")
    assert client.health() is True


def test_too_many_codes_is_rate_limited(client: PrivacyRequestsClient) -> None:
    created = client.create_request("know", "dora@example.com")
    for _ in range(4):
        client.resend_code(created.reference)
    with pytest.raises(RateLimited) as limited:
        client.resend_code(created.reference)
    assert limited.value.code == "too_many_codes" and limited.value.status_code == 429


def test_backend_down_is_backend_unavailable(down_url: str) -> None:
    with PrivacyRequestsClient(down_url, TOKEN, timeout=2) as down:
        with pytest.raises(BackendUnavailable, match="cannot reach"):
            down.resend_code("PR-2222-3333")
        assert down.health() is False


def test_slow_backend_times_out(silent_url: str) -> None:
    """A server that accepts the connection and never answers."""
    with PrivacyRequestsClient(silent_url, TOKEN, timeout=0.5) as slow:
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match="in time"):
            slow.create_request("access", "a@example.com")
        assert time.monotonic() - started < 3


def test_from_env_reads_url_token_and_timeout(backend: Backend,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_URL", backend.url)
    monkeypatch.setenv("PRIVACY_API_TOKEN", TOKEN)
    monkeypatch.setenv("BACKEND_TIMEOUT", "3")
    with api_requests.from_env() as client:
        assert client.health() is True
        assert isinstance(client.start_verification("nobody@example.com", Purpose.PREFERENCES),
                          CodeSent)


def test_from_env_falls_back_to_the_token_file(backend: Backend, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "api_token").write_text(TOKEN + "\n")
    monkeypatch.delenv("PRIVACY_API_TOKEN", raising=False)
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("BACKEND_URL", backend.url)
    with api_requests.from_env() as client:
        with pytest.raises(NotFound):  # authenticated: the token file was read
            client.resend_code("PR-2222-3333")
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "missing"))
    with pytest.raises(BackendUnavailable, match="no PRIVACY_API_TOKEN"):
        api_requests.from_env()


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "http://127.0.0.1:8000"),
    ({"BACKEND_URL": "", "BACKEND_PORT": "9123"}, "http://127.0.0.1:9123"),
    ({"BACKEND_HOST": "0.0.0.0", "BACKEND_PORT": "8001"}, "http://127.0.0.1:8001"),
    ({"BACKEND_HOST": "backend.internal"}, "http://backend.internal:8000"),
    ({"BACKEND_URL": "https://privacy.example.com", "BACKEND_PORT": "1"},
     "https://privacy.example.com"),
])
def test_backend_url_defaults_to_host_and_port(env: dict[str, str], expected: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BACKEND_URL", "BACKEND_HOST", "BACKEND_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert api_requests.backend_url() == expected

