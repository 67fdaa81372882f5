"""The action-side handoff client against a real backend over real HTTP (see conftest.py)."""

from __future__ import annotations

import pytest

from actions.api.errors import BackendUnavailable, Unauthorized, ValidationFailed
from actions.api.handoffs import Handoff, HandoffsClient, HandoffStatus
from tests.actions.conftest import TOKEN, Backend, client_fixture

client = client_fixture(HandoffsClient)


def test_create_returns_a_typed_waiting_handoff_once(client: HandoffsClient) -> None:
    created = client.create(conversation_id="conv-a", channel="web",
                            reason="The visitor asked for a person.", summary="hello / help")
    assert isinstance(created, Handoff)
    assert created.status is HandoffStatus.WAITING and created.is_open
    assert created.agents_online == 0 and created.agent_name is None
    assert created.created_at.tzinfo is not None and created.taken_at is None
    again = client.create(conversation_id="conv-a", channel="web", reason="again")
    assert again.id == created.id


def test_reading_handoffs_is_for_staff(client: HandoffsClient, backend: Backend) -> None:
    created = client.create(conversation_id="conv-r", channel="web", reason="x")
    found = backend.staff("GET", "/api/v1/handoffs",
                          params={"conversation_id": "conv-r", "open": "true"})
    assert [h["id"] for h in found] == [created.id]
    assert backend.staff("GET", f"/api/v1/handoffs/{created.id}")["id"] == created.id
    with pytest.raises(Unauthorized) as refused:
        client._call("GET", f"/api/v1/handoffs/{created.id}")
    assert refused.value.status_code == 403


def test_errors_are_the_shared_exceptions(client: HandoffsClient, backend: Backend,
                                          down_url: str) -> None:
    with pytest.raises(ValidationFailed):
        client.create(conversation_id="", channel="web", reason="x")
    with HandoffsClient(backend.url, "wrong-token", timeout=5) as wrong, \
            pytest.raises(Unauthorized):
        wrong.create(conversation_id="conv-b", channel="web", reason="x")
    with HandoffsClient(down_url, TOKEN, timeout=2) as down, \
            pytest.raises(BackendUnavailable):
        down.create(conversation_id="conv-b", channel="web", reason="x")


def test_from_env_reads_the_backend_url_and_token(backend: Backend,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_URL", backend.url)
    monkeypatch.setenv("PRIVACY_API_TOKEN", TOKEN)
    with HandoffsClient.from_env() as client:
        assert client.create(conversation_id="conv-env", channel="rest",
                             reason="x").conversation_id == "conv-env"
