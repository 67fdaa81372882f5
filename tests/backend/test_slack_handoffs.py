"""Website handoffs in the privacy team's Slack channel: each is posted once when it is queued
and its message is updated when it is taken, handed back, closed or timed out. Slack is
the loopback stand-in (real HTTP, Slack's JSON); the app runs its real routes on the test
database. Slack never delays or fails the API, what it refuses is posted by the sweep, two
backends post each handoff once, and with Slack off nothing calls it at all."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from privacy_backend.core.models import Handoff
from privacy_backend.core.settings import Settings
from privacy_backend.integrations import slack_api
from privacy_backend.main import create_app, sweep_handoffs_once
from tests.slack_standin import BOT_TOKEN, SlackStandIn

from .console_support import Console, clean, make_agent
from .rasa_standin import RasaStandIn
from .support import Api, FakeClock, TestClient

CHANNEL = "C0PRIVACY"
PUBLIC = "https://privacy.example.com"
RASA_SECRET = "rasa-api-secret-for-the-slack-tests-0123456"
# What the visitor said and who they are: none of it belongs in Slack.
SUMMARY = "my email is ada.lovelace@example.com and my name is Ada Lovelace"
BODY = {"conversation_id": "conv-slack-7d1f", "channel": "web",
        "reason": "The visitor asked for a person.", "summary": SUMMARY}
PRIVATE = ("ada.lovelace@example.com", "Ada Lovelace", "conv-slack-7d1f")


@pytest.fixture(autouse=True)
def _no_handoffs_but_ours(db: Engine) -> Iterator[None]:
    """The sweep posts every recent handoff: start without those other tests left behind,
    and leave none."""
    clean(db)
    yield
    clean(db)


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def rasa() -> Iterator[RasaStandIn]:
    standin = RasaStandIn(secret=RASA_SECRET)
    standin.start()
    yield standin
    standin.stop()


def _settings(base: Settings, slack_url: str, rasa: RasaStandIn | None = None,
              **changes: Any) -> Settings:
    """Slack on, pointed at `slack_url`; Rasa at the stand-in, or (tests that never reach
    Rasa) at a port nothing listens on."""
    return base.model_copy(update={
        "rasa_url": rasa.url if rasa else "http://127.0.0.1:9",
        "rasa_api_token": SecretStr(RASA_SECRET),
        "public_base_url": PUBLIC, "handoff_wait_minutes": 10.0,
        "slack_bot_token": SecretStr(BOT_TOKEN), "slack_api_url": slack_url,
        "slack_privacy_channel": CHANNEL, **changes})


def _app(db: Engine, settings: Settings, clock: FakeClock) -> Iterator[Api]:
    with TestClient(create_app(settings, engine=db, clock=clock)) as client:
        yield Api(client=client, engine=db, settings=settings, clock=clock)


@pytest.fixture
def api(db: Engine, settings: Settings, clock: FakeClock, slack: SlackStandIn
        ) -> Iterator[Api]:
    """The app with Slack on, for tests that never reach Rasa."""
    yield from _app(db, _settings(settings, slack.url), clock)


@pytest.fixture
def console_api(db: Engine, settings: Settings, clock: FakeClock, slack: SlackStandIn,
                rasa: RasaStandIn) -> Iterator[Api]:
    """The app with Slack on and Rasa's stand-in, for agents taking and closing handoffs."""
    yield from _app(db, _settings(settings, slack.url, rasa), clock)


@pytest.fixture
def any_db(db: Engine) -> Engine:
    """For tests of how the backend waits on Slack, which no database changes: SQLite only,
    to keep the file quick."""
    if db.dialect.name != "sqlite":
        pytest.skip("waiting on Slack is the same on every database")
    return db


def _queue(api: Api, **changes: Any) -> int:
    response = api.post("/api/v1/handoffs", json={**BODY, **changes})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _settled(api: Api) -> None:
    """Wait for the app's posts and updates under way to be recorded. A test waits for this
    before it moves the clock: a jump past the lease frees a claim that is still in flight,
    and the handoff would be posted again."""
    api.client.app.state.slack.drain(timeout=10)  # type: ignore[attr-defined]


def _row(db: Engine, handoff_id: int) -> Handoff:
    with Session(db) as session:
        handoff = session.get(Handoff, handoff_id)
        assert handoff is not None
        return handoff


def _link(handoff_id: int) -> str:
    return f"{PUBLIC}/console#handoff-{handoff_id}"


def _for(handoff_id: int, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages (posts or updates) that are about this handoff."""
    return [m for m in messages if str(m.get("text", "")).endswith(_link(handoff_id))]


def _sweep(api: Api) -> None:
    sweep_handoffs_once(api.client.app)  # type: ignore[arg-type]


def test_a_queued_handoff_is_posted_at_once_without_the_visitors_data(
        api: Api, slack: SlackStandIn) -> None:
    handoff_id = _queue(api)
    # Posted by the queueing itself: no sweep runs in this test (`_sweep` is explicit). How
    # soon is a matter for benchmarks; the wait is generous so a loaded machine passes.
    [post] = slack.wait_for(lambda: slack.posts(CHANNEL), timeout=10.0)
    raw = json.dumps(post)
    assert post["text"].startswith(f"Handoff #{handoff_id} from the website chat")
    assert BODY["reason"] in post["text"] and post["text"].endswith(_link(handoff_id))
    fields = [f["text"] for f in post["blocks"][1]["fields"]]
    epoch = int(api.clock().timestamp())
    assert fields == [
        f"*Reason*\n{BODY['reason']}", "*Channel*\nwebsite chat",
        f"*Waiting since*\n<!date^{epoch}^{{date_short_pretty}} {{time}}|2025-03-10 14:30 UTC>"]
    assert f"<{_link(handoff_id)}|" in raw  # the console link, in the blocks too
    for private in PRIVATE:
        assert private not in raw
    _settled(api)
    row = _row(api.engine, handoff_id)
    assert (row.slack_ts, row.slack_state, row.slack_lease_until) == (
        post["ts"], "waiting", None)
    # Asking again for the same conversation returns the open handoff: nothing new is posted.
    assert api.post("/api/v1/handoffs", json=BODY).status_code == 200
    _sweep(api)
    assert len(slack.posts()) == 1 and slack.updates() == []


def test_taken_and_handed_back_update_the_same_message(console_api: Api,
                                                       slack: SlackStandIn) -> None:
    api = console_api
    handoff_id = _queue(api, channel="rest")
    [post] = slack.wait_for(lambda: slack.posts(CHANNEL), timeout=1.0)
    assert "support desk (REST)" in post["text"]
    make_agent(api, name="Sam Agent")
    sam = Console(api)
    assert sam.login().status_code == 200
    _settled(api)  # the clock jumps past any lease still held: let the post be recorded
    api.clock.advance(minutes=2)
    assert sam.post(f"/handoffs/{handoff_id}/take").status_code == 200
    [taken] = slack.wait_for(lambda: slack.updates(CHANNEL), timeout=1.0)
    assert (taken["channel"], taken["ts"]) == (CHANNEL, post["ts"])
    assert "taken by Sam Agent" in taken["text"]
    epoch = int(api.clock().timestamp())
    assert f"*Taken by Sam Agent* <!date^{epoch}^" in json.dumps(taken["blocks"])

    _settled(api)
    api.clock.advance(minutes=3)
    assert sam.post(f"/handoffs/{handoff_id}/handback").status_code == 200
    updates = slack.wait_for(lambda: len(slack.updates(CHANNEL)) == 2 and slack.updates(),
                             timeout=1.0)
    assert updates[-1]["ts"] == post["ts"] and "handed back to the bot" in updates[-1]["text"]
    assert f"<!date^{int(api.clock().timestamp())}^" in json.dumps(updates[-1]["blocks"])
    assert len(slack.posts()) == 1
    _settled(api)
    assert _row(api.engine, handoff_id).slack_state == "closed"
    for private in PRIVATE:
        assert private not in json.dumps(updates)


def test_closed_by_an_agent_and_timed_out_update_their_messages(
        console_api: Api, slack: SlackStandIn) -> None:
    api = console_api
    closed = _queue(api)
    timed_out = _queue(api, conversation_id="conv-slack-other")
    slack.wait_for(lambda: len(slack.posts(CHANNEL)) == 2, timeout=1.0)
    make_agent(api)
    sam = Console(api)
    assert sam.login().status_code == 200
    assert sam.post(f"/handoffs/{closed}/close").status_code == 200
    [update] = slack.wait_for(lambda: _for(closed, slack.updates(CHANNEL)), timeout=1.0)
    assert update["text"].startswith(f"Handoff #{closed} from the website chat, closed:")

    _settled(api)
    api.clock.advance(minutes=11)  # nobody took the other one
    _sweep(api)
    [update] = slack.wait_for(lambda: _for(timed_out, slack.updates(CHANNEL)), timeout=1.0)
    assert "nobody took it in time" in update["text"]
    assert _row(api.engine, timed_out).slack_state == "closed"
    _sweep(api)  # up to date: nothing more is sent
    assert len(slack.calls()) == 4


def test_a_rate_limited_post_is_sent_after_retry_after(any_db: Engine, api: Api,
                                                       slack: SlackStandIn) -> None:
    slack.rate_limit("chat.postMessage", times=1, retry_after=2)
    handoff_id = _queue(api)
    answered = time.monotonic()
    [post] = slack.wait_for(lambda: slack.posts(CHANNEL), timeout=10.0)
    limited, sent = slack.calls("chat.postMessage")
    assert (limited.status, sent.status) == (429, 200)
    assert sent.at - limited.at >= 2.0
    # The visitor's answer does not wait for Retry-After: it came before the post that
    # waited (had the queueing waited, the post would have been sent before it returned).
    assert answered < sent.at
    _settled(api)
    assert _row(api.engine, handoff_id).slack_ts == post["ts"]


def test_a_refused_post_leaves_the_handoff_to_the_sweep(api: Api, slack: SlackStandIn) -> None:
    slack.fail("chat.postMessage", "internal_error")
    handoff_id = _queue(api)
    slack.wait_for(lambda: slack.calls("chat.postMessage"), timeout=1.0)
    _settled(api)
    row = _row(api.engine, handoff_id)
    assert (row.slack_ts, row.slack_state, row.slack_lease_until) == (None, None, None)
    assert slack.posts() == []
    _sweep(api)
    [post] = slack.posts(CHANNEL)
    assert post["text"].endswith(_link(handoff_id))
    assert _row(api.engine, handoff_id).slack_state == "waiting"


def test_an_unresponsive_slack_delays_nothing_and_a_restart_posts_later(
        any_db: Engine, settings: Settings, clock: FakeClock, slack: SlackStandIn,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack accepts the connection and never answers: the API answers at once, the call
    times out, and the handoff waits, unposted, for a backend that reaches Slack."""
    monkeypatch.setattr(slack_api, "TIMEOUT", 2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        hung = _settings(settings, f"http://127.0.0.1:{port}/api/")
        with TestClient(create_app(hung, engine=any_db, clock=clock)) as client:
            api = Api(client=client, engine=any_db, settings=hung, clock=clock)
            started = time.monotonic()
            handoff_id = _queue(api)
            assert time.monotonic() - started < 1.0
            client.app.state.slack.drain(timeout=10)  # type: ignore[attr-defined]
            assert time.monotonic() - started >= 2.0  # the call did wait for its time-out
        row = _row(any_db, handoff_id)
        assert (row.slack_ts, row.slack_state, row.slack_lease_until) == (None, None, None)
    live = _settings(settings, slack.url)
    with TestClient(create_app(live, engine=any_db, clock=clock)) as client:
        sweep_handoffs_once(client.app)  # type: ignore[arg-type]
    [post] = slack.posts(CHANNEL)
    assert post["text"].endswith(_link(handoff_id))


def test_two_backends_racing_post_each_handoff_once(
        db: Engine, settings: Settings, clock: FakeClock, slack: SlackStandIn) -> None:
    """Handoffs queued while Slack was off; two backends sharing the database then sweep at
    once, two threads each. The first posts are rate limited, so their senders hold their
    handoffs for a second or two while the others try to claim them."""
    off = _settings(settings, slack.url, slack_bot_token=None)
    with TestClient(create_app(off, engine=db, clock=clock)) as client:
        api = Api(client=client, engine=db, settings=off, clock=clock)
        ids = [_queue(api, conversation_id=f"conv-race-{n}") for n in range(4)]
    assert slack.calls() == []
    slack.rate_limit("chat.postMessage", times=2, retry_after=1)
    on = _settings(settings, slack.url)
    replicas = [create_app(on, engine=db, clock=clock) for _ in range(2)]
    start = threading.Barrier(4)

    def sweep(app: Any) -> None:
        start.wait(timeout=5)
        app.state.slack.sync_pending()

    threads = [threading.Thread(target=sweep, args=(app,)) for app in replicas
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert not any(thread.is_alive() for thread in threads)
    posts = slack.posts(CHANNEL)
    assert sorted(h for h in ids for p in posts if _for(h, [p])) == ids  # once each
    assert len(posts) == len(ids)
    with Session(db) as session:
        rows = session.scalars(select(Handoff).order_by(Handoff.id)).all()
        assert {(r.slack_state, r.slack_lease_until) for r in rows} == {("waiting", None)}
        assert sorted(str(r.slack_ts) for r in rows) == sorted(p["ts"] for p in posts)
    for app in replicas:
        app.state.slack.close()


def test_with_slack_off_nothing_calls_it(db: Engine, settings: Settings, clock: FakeClock,
                                         rasa: RasaStandIn, slack: SlackStandIn) -> None:
    """No bot token: queued, taken, closed and timed out without one call to Slack (the
    stand-in would answer it: SLACK_API_URL and the channel are set)."""
    quiet = _settings(settings, slack.url, rasa, slack_bot_token=None)
    with TestClient(create_app(quiet, engine=db, clock=clock)) as client:
        api = Api(client=client, engine=db, settings=quiet, clock=clock)
        taken, waiting = _queue(api), _queue(api, conversation_id="conv-slack-other")
        make_agent(api)
        sam = Console(api)
        assert sam.login().status_code == 200
        assert sam.post(f"/handoffs/{taken}/take").status_code == 200
        assert sam.post(f"/handoffs/{taken}/close").status_code == 200
        clock.advance(minutes=11)
        sweep_handoffs_once(client.app)  # type: ignore[arg-type]
        assert api.staff.get(f"/api/v1/handoffs/{waiting}").json()["status"] == "closed"
    assert slack.calls() == []
    for handoff_id in (taken, waiting):
        row = _row(db, handoff_id)
        assert (row.slack_ts, row.slack_state, row.slack_lease_until) == (None, None, None)


def test_a_token_without_a_channel_calls_nothing_either(
        db: Engine, settings: Settings, clock: FakeClock, slack: SlackStandIn) -> None:
    quiet = _settings(settings, slack.url, slack_privacy_channel="")
    with TestClient(create_app(quiet, engine=db, clock=clock)) as client:
        api = Api(client=client, engine=db, settings=quiet, clock=clock)
        handoff_id = _queue(api)
        sweep_handoffs_once(client.app)  # type: ignore[arg-type]
        assert client.app.state.slack.sync_pending() == 0  # type: ignore[attr-defined]
    assert slack.calls() == [] and _row(db, handoff_id).slack_state is None
