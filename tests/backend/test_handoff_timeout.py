"""A handoff nobody takes does not pause a visitor for ever: after HANDOFF_WAIT_MINUTES the
backend closes it, resumes the bot and has it say how to reach the team."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from privacy_backend.core.settings import Settings
from privacy_backend.main import create_app, sweep_handoffs_once

from .console_support import Console, clean, make_agent
from .rasa_standin import RasaStandIn
from .support import Api, FakeClock, TestClient

RASA_SECRET = "rasa-api-secret-for-the-timeout-tests-0123"


@pytest.fixture
def rasa() -> Iterator[RasaStandIn]:
    standin = RasaStandIn(secret=RASA_SECRET)
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def api(db: Engine, settings: Settings, clock: FakeClock, rasa: RasaStandIn) -> Iterator[Api]:
    settings = settings.model_copy(update={"rasa_url": rasa.url,
                                           "rasa_api_token": SecretStr(RASA_SECRET),
                                           "handoff_wait_minutes": 10.0})
    with TestClient(create_app(settings, engine=db, clock=clock)) as client:
        yield Api(client=client, engine=db, settings=settings, clock=clock)
    clean(db)


def _queue(api: Api, conversation: str, *, paused: bool, rasa: RasaStandIn) -> int:
    if paused:  # what action_handoff does when an agent is online
        rasa.conversations[conversation] = [{"event": "pause"}]
    response = api.post("/api/v1/handoffs", json={
        "conversation_id": conversation, "channel": "web", "reason": "asked for a person"})
    assert response.status_code == 201
    return int(response.json()["id"])


def _status(api: Api, handoff_id: int) -> str:
    return str(api.staff.get(f"/api/v1/handoffs/{handoff_id}").json()["status"])


def test_a_waiting_handoff_times_out_and_the_bot_comes_back(api: Api, rasa: RasaStandIn
                                                            ) -> None:
    paused = _queue(api, "waiting-paused", paused=True, rasa=rasa)
    told = _queue(api, "waiting-not-paused", paused=False, rasa=rasa)
    api.clock.advance(minutes=9)
    sweep_handoffs_once(api.client.app)  # type: ignore[arg-type]
    assert _status(api, paused) == "waiting" and rasa.posted("waiting-paused") == []

    api.clock.advance(minutes=2)
    sweep_handoffs_once(api.client.app)  # type: ignore[arg-type]
    assert _status(api, paused) == "closed" and _status(api, told) == "closed"
    posted = rasa.posted("waiting-paused")
    assert [c.body for c in posted] == [[{"event": "resume"}], {"name": "handoff_timed_out"}]
    # The visitor who was never paused was told at once that nobody was online.
    assert rasa.posted("waiting-not-paused") == []

    sweep_handoffs_once(api.client.app)  # type: ignore[arg-type]
    assert len(rasa.posted("waiting-paused")) == 2  # told once


def test_a_taken_handoff_is_left_alone(api: Api, rasa: RasaStandIn) -> None:
    handoff_id = _queue(api, "taken-in-time", paused=True, rasa=rasa)
    make_agent(api)
    sam = Console(api)
    assert sam.login().status_code == 200
    assert sam.post(f"/handoffs/{handoff_id}/take").status_code == 200
    calls = len(rasa.calls)
    api.clock.advance(minutes=30)
    sweep_handoffs_once(api.client.app)  # type: ignore[arg-type]
    assert _status(api, handoff_id) == "active"
    assert len(rasa.calls) == calls
