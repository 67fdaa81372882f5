"""Who may read which conversation in the console, tried from the side of an agent who
should not: an agent reads the conversations queued for the team and those assigned to them,
a privacy admin every one; every transcript read is recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from privacy_backend.core.models import AgentRole, TranscriptRead
from privacy_backend.core.settings import Settings

from .console_support import console_api, logged_in, rasa_standin
from .rasa_standin import RasaStandIn
from .support import Api, FakeClock

RASA_TOKEN = "rasa-token-for-tests-0123456789abcdef"
CONVERSATION = "visitor-roles-7"


@pytest.fixture
def rasa() -> Iterator[RasaStandIn]:
    yield from rasa_standin(RASA_TOKEN, CONVERSATION, [
        {"event": "user", "text": "I want to talk to a person", "timestamp": 1.0}])


@pytest.fixture
def api(db: Engine, settings: Settings, clock: FakeClock, rasa: RasaStandIn) -> Iterator[Api]:
    yield from console_api(db, settings, clock, rasa, RASA_TOKEN)


def _reads(api: Api) -> list[tuple[int, int]]:
    with api.engine.connect() as conn:
        return [(r.agent_id, r.handoff_id) for r in conn.execute(
            select(TranscriptRead.agent_id, TranscriptRead.handoff_id)
            .order_by(TranscriptRead.id))]


def test_only_the_assigned_agent_and_a_privacy_admin_read_a_taken_conversation(
        api: Api) -> None:
    sam = logged_in(api, "sam@example.com", "Sam")
    kim = logged_in(api, "kim@example.com", "Kim")
    ada = logged_in(api, "ada@example.com", "Ada", AgentRole.PRIVACY_ADMIN)
    created = api.post("/api/v1/handoffs", json={
        "conversation_id": CONVERSATION, "channel": "web", "reason": "asked for a person"})
    handoff_id = created.json()["id"]

    # Queued for the team: every agent may read it (to decide whether to take it).
    assert kim.get(f"/handoffs/{handoff_id}").status_code == 200
    assert sam.post(f"/handoffs/{handoff_id}/take").status_code == 200

    # Taken by Sam: Kim no longer sees it in the queue and cannot open it.
    refused = kim.get(f"/handoffs/{handoff_id}")
    assert refused.status_code == 403 and refused.json()["error"] == "not_your_conversation"
    assert "I want to talk to a person" not in refused.text
    assert [i["handoff"]["id"] for i in kim.get("/handoffs").json()["handoffs"]] == []

    assert sam.get(f"/handoffs/{handoff_id}").status_code == 200
    assert ada.get(f"/handoffs/{handoff_id}").status_code == 200
    assert [i["handoff"]["id"] for i in ada.get("/handoffs").json()["handoffs"]] == [handoff_id]

    # Every read is on record, the refused one is not.
    sam_id, kim_id, ada_id = (sam.get("/session").json()["agent"]["id"],
                              kim.get("/session").json()["agent"]["id"],
                              ada.get("/session").json()["agent"]["id"])
    assert _reads(api) == [(kim_id, handoff_id), (sam_id, handoff_id), (ada_id, handoff_id)]


def test_a_privacy_admin_reads_but_cannot_write_into_someone_elses_conversation(
        api: Api) -> None:
    sam = logged_in(api, "sam@example.com", "Sam")
    ada = logged_in(api, "ada@example.com", "Ada", AgentRole.PRIVACY_ADMIN)
    handoff_id = api.post("/api/v1/handoffs", json={
        "conversation_id": CONVERSATION, "channel": "web",
        "reason": "asked for a person"}).json()["id"]
    assert sam.post(f"/handoffs/{handoff_id}/take").status_code == 200
    assert ada.get("/session").json()["agent"]["role"] == "privacy_admin"
    written = ada.post(f"/handoffs/{handoff_id}/messages", json={"text": "hello"})
    assert written.status_code == 403
