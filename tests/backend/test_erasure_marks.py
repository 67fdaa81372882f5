"""What an erased conversation leaves behind, tried from the attacker's and the auditor's
side: a turn still in flight when the conversation is erased must not write it back into
Rasa's tracker store, and the answers the REST channel keeps in Redis for retries (with
addresses and references in them) must go with it. The Rasa side runs in the Rasa
environment (`erased_turn.py`), on the real tracker store and the real REST channel's keys."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from privacy_assistant import tombstones
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.rest_answers import RestAnswers, turn_key
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.services import retention
from tests.conftest import PROJECT_ROOT, TEST_REDIS_URL, unreachable

from .conftest import api_over
from .support import Api, FakeClock
from .tracker_support import RASA_EVENTS, chat, event_count

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
SCRIPT = Path(__file__).with_name("erased_turn.py")


def _rasa(*args: str) -> subprocess.Popen[str]:
    if not RASA_PYTHON.is_file():
        pytest.fail(f"{RASA_PYTHON} is missing: run `make install`")
    return subprocess.Popen([str(RASA_PYTHON), str(SCRIPT), *args], cwd=PROJECT_ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture
def api(store_api: Api) -> Api:
    return store_api


def _marks(store: TrackerStore) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(tombstones.MARKS.c.sender_hash)).scalars())


def test_a_turn_in_flight_does_not_write_an_erased_chat_back(api: Api, store: TrackerStore
                                                             ) -> None:
    db_file = str(store.engine.url.database)
    turn = _rasa("in-flight", db_file, "visitor-1")
    try:
        assert turn.stdout is not None and turn.stdin is not None
        assert turn.stdout.readline().strip() == "saved", turn.stderr and turn.stderr.read()
        assert event_count(store, "visitor-1") == 3
        # "Delete chat" while the visitor's next turn is being handled.
        erased = api.post("/api/v1/conversations/visitor-1/erase")
        assert erased.status_code == 200 and erased.json()["erased_events"] == 3, erased.text
        out, err = turn.communicate("go on\n", timeout=120)
    finally:
        if turn.poll() is None:
            turn.kill()
    assert turn.returncode == 0, err[-3000:]
    held = json.loads(out.strip().splitlines()[-1])
    # What was said before the erasure stays erased; what is said after is a new chat.
    assert held == ["and my reference is R-123"]


def test_an_erasure_leaves_a_mark_without_the_id_which_the_purge_removes(
        api: Api, store: TrackerStore) -> None:
    chat(store, "anon-1", api.clock.now, ("hello", "hi"))
    assert api.post("/api/v1/conversations/anon-1/erase").status_code == 200
    digest = hashlib.sha256(b"anon-1").hexdigest()
    assert _marks(store) == [digest]
    api.clock.advance(days=tombstones.MARK_DAYS, hours=1)
    with Session(api.engine) as session:
        retention.purge(session, store, api.settings, now=api.clock.now)
    assert _marks(store) == []


# -- the REST channel's answers in Redis ------------------------------------------------------
@pytest.fixture
def redis_store(tmp_path: Path) -> Iterator[TrackerStore]:
    reason = unreachable(TEST_REDIS_URL)
    if reason:
        pytest.skip(reason)
    from .tracker_support import rasa_store

    plain = rasa_store(tmp_path)
    store = TrackerStore(plain.engine, RestAnswers(TEST_REDIS_URL))
    yield store
    store.close()


@pytest.fixture
def redis_api(db: Engine, settings: Settings, clock: FakeClock, redis_store: TrackerStore
              ) -> Iterator[Api]:
    yield from api_over(redis_store, db, settings, clock)


def _rest_turns(store: TrackerStore, sender: str, *message_ids: str) -> None:
    """User messages sent to the REST channel with these message ids, as Rasa stores them."""
    with store.engine.begin() as conn:
        for n, message_id in enumerate(message_ids):
            event = {"event": "user", "text": f"my reference is R-{n}", "timestamp": 1.0 + n,
                     "message_id": message_id}
            conn.execute(RASA_EVENTS.insert().values(
                sender_id=sender, type_name="user", timestamp=event["timestamp"],
                data=json.dumps(event)))


def test_an_erased_chat_takes_its_stored_rest_answers_with_it(
        redis_api: Api, redis_store: TrackerStore) -> None:
    from redis import Redis

    redis = Redis.from_url(TEST_REDIS_URL)
    mine, other = ("rest-visitor", ("m-1", "m-2")), ("rest-other", ("m-1",))
    keys = {sender: [turn_key(sender, m) for m in ids] for sender, ids in (mine, other)}
    try:
        for sender, ids in (mine, other):
            _rest_turns(redis_store, sender, *ids)
            for key in keys[sender]:
                # What the REST channel keeps: the bot's answer, with the reference in it.
                redis.set(key, json.dumps([{"text": "Your reference is R-0."}]), ex=600)
        erased = redis_api.post("/api/v1/conversations/rest-visitor/erase")
        assert erased.status_code == 200, erased.text
        assert [redis.exists(key) for key in keys["rest-visitor"]] == [0, 0]
        assert [redis.exists(key) for key in keys["rest-other"]] == [1]
    finally:
        redis.delete(*keys["rest-visitor"], *keys["rest-other"])
        redis.close()


def test_the_backend_names_rest_answers_as_the_rest_channel_stores_them() -> None:
    named = _rasa("key", "sender-7", "message-9")
    out, err = named.communicate(timeout=120)
    assert named.returncode == 0, err[-3000:]
    assert out.strip().splitlines()[-1] == turn_key("sender-7", "message-9")


def test_without_redis_nothing_is_deleted_and_the_erasure_still_happens(
        api: Api, store: TrackerStore) -> None:
    # REDIS_URL empty: the answers live in the Rasa process, out of reach; erasing works.
    _rest_turns(store, "rest-visitor", "m-1")
    assert not store.rest_answers.enabled
    assert api.post("/api/v1/conversations/rest-visitor/erase").json()["erased_events"] == 1
    assert event_count(store, "rest-visitor") == 0


def test_an_erasure_that_cannot_reach_redis_refuses_and_keeps_the_chat(
        db: Engine, settings: Settings, clock: FakeClock, tmp_path: Path) -> None:
    from .tracker_support import rasa_store

    plain = rasa_store(tmp_path)
    store = TrackerStore(plain.engine, RestAnswers("redis://127.0.0.1:1/0"))  # nothing there
    _rest_turns(store, "rest-visitor", "m-1")
    for api in api_over(store, db, settings, clock):
        refused = api.post("/api/v1/conversations/rest-visitor/erase")
    store.close()
    assert refused.status_code == 503 and refused.json()["error"] == "erasure_unavailable"
    assert event_count(store, "rest-visitor") == 1
