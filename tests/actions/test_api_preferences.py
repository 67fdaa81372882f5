"""The marketing-preference client against a real backend over real HTTP (uvicorn on a
loopback port, see conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from actions.api import preferences as api_preferences
from actions.api.preferences import (
    BackendUnavailable,
    Conflict,
    MarketingPreferences,
    MarketingPreferencesClient,
    PreferenceChange,
    PreferenceSource,
    Unauthorized,
    ValidationFailed,
)
from tests.actions.conftest import TOKEN, Backend


@pytest.fixture
def client(backend: Backend) -> Iterator[MarketingPreferencesClient]:
    with MarketingPreferencesClient(backend.url, TOKEN, timeout=5) as c:
        yield c


def test_defaults_update_replace_and_history(client: MarketingPreferencesClient) -> None:
    fresh = client.get("Ada@Example.com ")
    assert isinstance(fresh, MarketingPreferences)
    assert fresh.email == "ada@example.com" and fresh.updated_at is None
    assert fresh.global_opt_out is False
    assert not any(v for topics in fresh.channels.values() for v in topics.values())

    updated = client.update("ada@example.com", {"channels": {"email": {"events": True}}},
                            PreferenceSource.CHAT, "conv-3", idempotency_key="conv-3-t1")
    assert updated.subscribed("email", "events") and not updated.subscribed("sms", "events")
    assert updated.updated_at is not None and updated.updated_at.tzinfo is not None
    retried = client.update("ada@example.com", {"channels": {"email": {"events": True}}},
                            "chat", "conv-3", idempotency_key="conv-3-t1")
    assert retried == updated
    with pytest.raises(Conflict) as reused:
        client.update("ada@example.com", {"global_opt_out": True}, "chat", "conv-3",
                      idempotency_key="conv-3-t1")
    assert reused.value.code == "idempotency_conflict"

    opted_out = client.update("ada@example.com", {"global_opt_out": True}, "agent",
                              actor="agent:kim")
    assert opted_out.global_opt_out and not opted_out.subscribed("email", "events")
    replaced = client.replace("ada@example.com", False, {"postal": True}, "api")
    assert replaced.channels["postal"] == dict.fromkeys(
        ["product_news", "events", "newsletters", "promotions"], True)
    assert replaced.channels["email"]["events"] is False

    trail = client.history("ada@example.com")
    assert all(isinstance(e, PreferenceChange) for e in trail)
    assert [e.source for e in trail] == [PreferenceSource.CHAT, PreferenceSource.AGENT,
                                         PreferenceSource.API]
    assert trail[0].conversation_id == "conv-3"
    assert trail[0].after == {"channels.email.events": True}
    assert trail[1].actor == "agent:kim"
    assert trail[2].before["global_opt_out"] is True


def test_unsubscribe_link_works_end_to_end(client: MarketingPreferencesClient,
                                           backend: Backend) -> None:
    client.update("bob@example.com", {"channels": {"email": True}}, "chat")
    link = client.unsubscribe_link("bob@example.com", "email:promotions")
    # The origin is PUBLIC_BASE_URL (here unset: BACKEND_HOST:BACKEND_PORT); talk to our port.
    assert link.url.startswith("http://127.0.0.1:8000/unsubscribe/")
    url = backend.url + link.url.removeprefix("http://127.0.0.1:8000")
    assert link.headers == {"List-Unsubscribe": f"<{link.url}>",
                            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert "bob" not in link.url
    assert httpx.get(url).status_code == 200
    assert client.get("bob@example.com").channels["email"]["promotions"] is True
    posted = httpx.post(url, data={"List-Unsubscribe": "One-Click"})
    assert posted.status_code == 200
    assert client.get("bob@example.com").channels["email"]["promotions"] is False
    assert client.history("bob@example.com")[-1].source is PreferenceSource.UNSUBSCRIBE_LINK


def test_errors_become_typed_exceptions(client: MarketingPreferencesClient,
                                        backend: Backend) -> None:
    with pytest.raises(ValidationFailed) as unknown:
        client.update("ada@example.com", {"channels": {"fax": True}}, "chat")
    assert unknown.value.status_code == 422 and "unknown channel 'fax'" in unknown.value.message
    with pytest.raises(ValidationFailed):
        client.get("not-an-email")
    with pytest.raises(ValidationFailed):
        client.unsubscribe_link("ada@example.com", "email:weather")
    with pytest.raises(ValidationFailed) as too_big:
        client.update("ada@example.com", {"global_opt_out": True}, "chat", actor="x" * 20_000)
    assert too_big.value.status_code == 413
    with pytest.raises(ValueError):
        client.update("ada@example.com", {"global_opt_out": True}, "carrier-pigeon")
    with MarketingPreferencesClient(backend.url, "wrong-token", timeout=5) as bad:
        with pytest.raises(Unauthorized):
            bad.get("ada@example.com")


def test_backend_down_is_backend_unavailable(down_url: str) -> None:
    with MarketingPreferencesClient(down_url, TOKEN, timeout=2) as down:
        with pytest.raises(BackendUnavailable, match="cannot reach"):
            down.get("ada@example.com")


def test_slow_backend_times_out(silent_url: str) -> None:
    """A server that accepts the connection and never answers."""
    with MarketingPreferencesClient(silent_url, TOKEN, timeout=0.5) as slow:
        started = time.monotonic()
        with pytest.raises(BackendUnavailable, match="in time"):
            slow.update("ada@example.com", {"global_opt_out": True}, "chat")
        assert time.monotonic() - started < 3


def test_from_env(backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_URL", backend.url)
    monkeypatch.setenv("PRIVACY_API_TOKEN", TOKEN)
    monkeypatch.setenv("BACKEND_TIMEOUT", "3")
    with api_preferences.from_env() as client:
        assert client.get("nobody@example.com").updated_at is None
    monkeypatch.delenv("PRIVACY_API_TOKEN")
    (tmp_path / "api_token").write_text(TOKEN + "\n")
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    with api_preferences.from_env() as client:
        assert client.history("nobody@example.com") == []
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "missing"))
    with pytest.raises(BackendUnavailable, match="no PRIVACY_API_TOKEN"):
        api_preferences.from_env()
