"""The handoff API the action server calls (`/api/v1/handoffs`, bearer token)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import update

from privacy_backend.core.models import Handoff, HandoffStatus

from .console_support import Console, clean, make_agent
from .support import Api

BODY = {"conversation_id": "conv-h1", "channel": "web",
        "reason": "The visitor asked for a person.", "summary": "what data do you collect?"}


@pytest.fixture(autouse=True)
def _clean_console_tables(api: Api) -> Iterator[None]:
    yield
    clean(api.engine)


def test_create_queues_a_waiting_handoff(api: Api) -> None:
    response = api.post("/api/v1/handoffs", json=BODY)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "waiting" and created["agents_online"] == 0
    assert created["conversation_id"] == "conv-h1" and created["agent_name"] is None
    assert created["created_at"].startswith("2025-03-10T14:30")
    assert created["taken_at"] is None and created["closed_at"] is None
    assert response.headers["location"] == f"/api/v1/handoffs/{created['id']}"
    fetched = api.staff.get(f"/api/v1/handoffs/{created['id']}").json()
    assert fetched == created


def test_an_open_handoff_is_returned_instead_of_a_second(api: Api) -> None:
    first = api.post("/api/v1/handoffs", json=BODY).json()
    again = api.post("/api/v1/handoffs", json={**BODY, "reason": "Asked again."})
    assert again.status_code == 200
    assert again.json()["id"] == first["id"] and again.json()["reason"] == BODY["reason"]
    other = api.post("/api/v1/handoffs", json={**BODY, "conversation_id": "conv-h2"})
    assert other.status_code == 201 and other.json()["id"] != first["id"]
    listed = api.staff.get("/api/v1/handoffs", params={"conversation_id": "conv-h1", "open": True})
    assert [h["id"] for h in listed.json()] == [first["id"]]


def test_agents_online_counts_live_console_sessions(api: Api) -> None:
    make_agent(api)
    make_agent(api, "kim@example.com", "Kim")
    assert Console(api).login().status_code == 200
    assert Console(api, "kim@example.com").login().status_code == 200
    assert api.post("/api/v1/handoffs", json=BODY).json()["agents_online"] == 2
    api.clock.advance(minutes=10)  # nobody's console has been seen for ten minutes
    assert api.staff.get("/api/v1/handoffs").json()[0]["agents_online"] == 0


@pytest.mark.parametrize("change", [
    {"conversation_id": ""}, {"reason": ""}, {"reason": "x" * 201}, {"summary": "s" * 2001},
    {"extra": 1},
])
def test_invalid_bodies_are_refused(api: Api, change: dict[str, object]) -> None:
    response = api.post("/api/v1/handoffs", json={**BODY, **change})
    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"
    assert api.staff.get("/api/v1/handoffs").json() == []


def test_the_api_needs_the_bearer_token(api: Api) -> None:
    for method, url in [("POST", "/api/v1/handoffs"), ("GET", "/api/v1/handoffs"),
                        ("GET", "/api/v1/handoffs/1")]:
        response = api.client.request(method, url, json=BODY)
        assert response.status_code == 401, url
    assert api.staff.get("/api/v1/handoffs").json() == []


def test_unknown_handoff_is_404(api: Api) -> None:
    response = api.staff.get("/api/v1/handoffs/999")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


# --- floods, from the attacker's side -----------------------------------------------------

def _close_all(api: Api) -> None:
    """What the sweep does to a handoff nobody took (HANDOFF_WAIT_MINUTES)."""
    with api.engine.begin() as conn:
        conn.execute(update(Handoff).values(status=HandoffStatus.CLOSED))


def test_one_conversation_cannot_flood_the_queue(api: Api) -> None:
    """Ask for a person, let it time out, ask again: the fourth within the hour is refused
    and nothing is queued (or posted to Slack); an hour later the visitor may ask again."""
    limit = api.settings.handoffs_per_conversation_per_hour
    for _ in range(limit):
        assert api.post("/api/v1/handoffs", json=BODY).status_code == 201
        _close_all(api)
    refused = api.post("/api/v1/handoffs", json=BODY)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "too_many_handoffs"
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    assert len(api.staff.get("/api/v1/handoffs").json()) == limit
    api.clock.advance(hours=1, seconds=1)
    assert api.post("/api/v1/handoffs", json=BODY).status_code == 201


def test_many_conversations_cannot_flood_the_queue(api: Api) -> None:
    """Fresh conversations cost nothing: past HANDOFF_MAX_OPEN open handoffs, a new one is
    refused with 503 and not stored; a conversation's open handoff still answers."""
    api.settings.handoff_max_open = 3
    for i in range(3):
        body = {**BODY, "conversation_id": f"flood-{i}"}
        assert api.post("/api/v1/handoffs", json=body).status_code == 201
    refused = api.post("/api/v1/handoffs", json={**BODY, "conversation_id": "flood-3"})
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "handoff_queue_full"
    assert len(api.staff.get("/api/v1/handoffs").json()) == 3
    again = api.post("/api/v1/handoffs", json={**BODY, "conversation_id": "flood-0"})
    assert again.status_code == 200


@pytest.mark.parametrize("code", ["123 456", "123-456", "1 2 3 4 5 6", "123.456", "123456"])
def test_a_spaced_code_in_the_summary_is_masked(api: Api, code: str) -> None:
    """Whoever sends the summary, a one-time code in it never reaches the agents' queue."""
    body = {**BODY, "summary": f"my code is {code} / {code}"}
    created = api.post("/api/v1/handoffs", json=body).json()
    stored = api.staff.get(f"/api/v1/handoffs/{created['id']}").json()["summary"]
    assert stored == "my code is [code] / [code]"
