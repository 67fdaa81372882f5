"""The marketing-preference client against a real backend over real HTTP (uvicorn on a
loopback port, see conftest.py). Every call carries the proof of the address."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from actions.api import preferences as api_preferences
from actions.api.errors import (
    BackendUnavailable,
    Conflict,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from actions.api.preferences import (
    MarketingOptOut,
    MarketingPreferences,
    MarketingPreferencesClient,
)
from privacy_assistant.contract import PreferenceSource
from tests.actions.conftest import TOKEN, Backend, client_fixture

client = client_fixture(MarketingPreferencesClient)


def test_defaults_update_replace_and_history(client: MarketingPreferencesClient,
                                             backend: Backend) -> None:
    proof = backend.proof("ada@example.com", "conv-3")
    fresh = client.get("Ada@Example.com ", verification_id=proof, conversation_id="conv-3")
    assert isinstance(fresh, MarketingPreferences)
    assert fresh.email == "ada@example.com" and fresh.updated_at is None
    assert fresh.global_opt_out is False
    assert not any(v for topics in fresh.channels.values() for v in topics.values())

    updated = client.update("ada@example.com", {"channels": {"email": {"events": True}}},
                            PreferenceSource.CHAT, "conv-3", idempotency_key="conv-3-t1",
                            verification_id=proof)
    assert updated.subscribed("email", "events") and not updated.subscribed("sms", "events")
    assert updated.updated_at is not None and updated.updated_at.tzinfo is not None
    retried = client.update("ada@example.com", {"channels": {"email": {"events": True}}},
                            "chat", "conv-3", idempotency_key="conv-3-t1",
                            verification_id=proof)
    assert retried == updated
    with pytest.raises(Conflict) as reused:
        client.update("ada@example.com", {"global_opt_out": True}, "chat", "conv-3",
                      idempotency_key="conv-3-t1", verification_id=proof)
    assert reused.value.code == "idempotency_conflict"

    opted_out = client.update("ada@example.com", {"global_opt_out": True}, "chat", "conv-3",
                              verification_id=proof)
    assert opted_out.global_opt_out and not opted_out.subscribed("email", "events")
    replaced = client.replace("ada@example.com", False, {"postal": True}, "chat", "conv-3",
                              verification_id=proof)
    assert replaced.channels["postal"] == dict.fromkeys(
        ["product_news", "events", "newsletters", "promotions"], True)
    assert replaced.channels["email"]["events"] is False

    trail = backend.history("ada@example.com")
    assert [e["source"] for e in trail] == ["chat", "chat", "chat"]
    assert {e["actor"] for e in trail} == {"assistant"}
    assert trail[0]["conversation_id"] == "conv-3"
    assert trail[0]["after"] == {"channels.email.events": True}
    assert trail[2]["before"]["global_opt_out"] is True


def test_without_proof_nothing_is_read_or_written(client: MarketingPreferencesClient,
                                                  backend: Backend) -> None:
    eve = backend.proof("eve@example.com")
    for proof in (None, eve):
        with pytest.raises(Unauthorized) as refused:
            client.update("bob@example.com", {"global_opt_out": True}, "chat",
                          verification_id=proof)
        assert (refused.value.status_code, refused.value.code) == (403,
                                                                  "verification_required")
        with pytest.raises(Unauthorized):
            client.get("bob@example.com", verification_id=proof)
    assert backend.preferences("bob@example.com")["updated_at"] is None


def test_errors_become_typed_exceptions(client: MarketingPreferencesClient,
                                        backend: Backend) -> None:
    proof = backend.proof("ada@example.com")
    with pytest.raises(ValidationFailed) as unknown:
        client.update("ada@example.com", {"channels": {"fax": True}}, "chat",
                      verification_id=proof)
    assert unknown.value.status_code == 422 and "unknown channel 'fax'" in unknown.value.message
    with pytest.raises(ValidationFailed):
        client.get("not-an-email", verification_id=proof)
    with pytest.raises(ValidationFailed) as too_big:
        client.update("ada@example.com", {"global_opt_out": True}, "chat", "x" * 20_000,
                      verification_id=proof)
    assert too_big.value.status_code == 413
    with pytest.raises(ValueError):
        client.update("ada@example.com", {"global_opt_out": True}, "carrier-pigeon",
                      verification_id=proof)
    with MarketingPreferencesClient(backend.url, "wrong-token", timeout=5) as bad:
        with pytest.raises(Unauthorized):
            bad.get("ada@example.com", verification_id=proof)


def test_backend_down_is_backend_unavailable(down_url: str) -> None:
    with MarketingPreferencesClient(down_url, TOKEN, timeout=2) as down:
        with pytest.raises(BackendUnavailable, match="cannot reach"):
            down.get("ada@example.com", verification_id="v")


def test_slow_backend_times_out(silent_url: str) -> None:
    """A server that accepts the connection and never answers."""
    with MarketingPreferencesClient(silent_url, TOKEN, timeout=0.5) as slow:
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match="in time"):
            slow.update("ada@example.com", {"global_opt_out": True}, "chat",
                        verification_id="v")
        assert time.monotonic() - started < 3


def test_from_env(backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_URL", backend.url)
    monkeypatch.setenv("PRIVACY_API_TOKEN", TOKEN)
    monkeypatch.setenv("BACKEND_TIMEOUT", "3")
    proof = backend.proof("nobody@example.com")
    with api_preferences.from_env() as client:
        assert client.get("nobody@example.com", verification_id=proof).updated_at is None
    monkeypatch.delenv("PRIVACY_API_TOKEN")
    (tmp_path / "api_token").write_text(TOKEN + "\n")
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    with api_preferences.from_env() as client:
        assert client.get("nobody@example.com", verification_id=proof).updated_at is None
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "missing"))
    with pytest.raises(BackendUnavailable, match="no PRIVACY_API_TOKEN"):
        api_preferences.from_env()


def test_opt_out_needs_no_proof_and_says_only_what_it_recorded(
        client: MarketingPreferencesClient, backend: Backend) -> None:
    backend.staff("PUT", "/api/v1/preferences", params={"email": "cy@example.com"},
                  json={"source": "api", "global_opt_out": False, "channels": {"email": True}})
    recorded = client.opt_out("Cy@Example.com", conversation_id="conv-o", channel="email",
                              topic="events")
    assert isinstance(recorded, MarketingOptOut)
    assert (recorded.scope, recorded.channel, recorded.topic) == ("topic", "email", "events")
    assert recorded.recorded_at.tzinfo is not None
    assert not hasattr(recorded, "channels") and not hasattr(recorded, "global_opt_out")
    assert client.opt_out("cy@example.com", conversation_id="conv-o", channel="sms").scope == (
        "channel")
    everything = client.opt_out("cy@example.com", conversation_id="conv-o")
    assert (everything.scope, everything.channel, everything.topic) == ("everything", None, None)
    choices = backend.preferences("cy@example.com")
    assert choices["global_opt_out"] is True
    assert choices["channels"]["email"]["events"] is False
    assert choices["channels"]["email"]["promotions"] is True  # kept for a later opt-in
    trail = backend.history("cy@example.com")[1:]
    assert [(e["source"], e["actor"], e["conversation_id"]) for e in trail] == [
        ("chat", "assistant:unverified", "conv-o")] * 3


def test_opt_out_errors_become_typed_exceptions(client: MarketingPreferencesClient,
                                                backend: Backend) -> None:
    with pytest.raises(ValidationFailed) as unknown:
        client.opt_out("dee@example.com", conversation_id="conv-p", channel="fax")
    assert unknown.value.status_code == 422 and "unknown channel 'fax'" in unknown.value.message
    with pytest.raises(ValidationFailed):
        client.opt_out("not-an-email", conversation_id="conv-p")
    limit = backend.settings.marketing_opt_outs_per_conversation_per_hour
    for n in range(limit):
        client.opt_out(f"many{n}@example.com", conversation_id="conv-flood")
    with pytest.raises(RateLimited) as flooded:
        client.opt_out("one-more@example.com", conversation_id="conv-flood")
    assert (flooded.value.status_code, flooded.value.code) == (429, "too_many_opt_outs")
    assert backend.preferences("one-more@example.com")["updated_at"] is None
    with MarketingPreferencesClient(backend.url, "wrong-token", timeout=5) as bad:
        with pytest.raises(Unauthorized):
            bad.opt_out("dee@example.com", conversation_id="conv-p")
