"""The agent console: logins (wrong password, lockout, expiry, logout), CSRF, and taking a
conversation over, with Rasa's HTTP API played by a loopback stand-in server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine, select

from privacy_backend.core.models import AgentSession, PreferenceSource
from privacy_backend.core.settings import Settings
from privacy_backend.services import preferences

from .console_support import PASSWORD, Console, console_api, make_agent, rasa_standin
from .rasa_standin import RasaStandIn
from .support import Api, FakeClock

RASA_SECRET = "rasa-api-secret-for-the-console-tests-0123"
CONVERSATION = "visitor-42"


@pytest.fixture
def rasa() -> Iterator[RasaStandIn]:
    yield from rasa_standin(RASA_SECRET, CONVERSATION, [
        {"event": "action", "name": "action_listen", "timestamp": 1.0},
        {"event": "user", "text": "what data do you collect?", "timestamp": 2.0},
        {"event": "bot", "text": "“The personal information we collect …”", "timestamp": 3.0},
        {"event": "user", "text": "I want to talk to a person", "timestamp": 4.0},
        {"event": "pause", "timestamp": 5.0},
    ])


@pytest.fixture
def api(db: Engine, settings: Settings, clock: FakeClock, rasa: RasaStandIn) -> Iterator[Api]:
    yield from console_api(db, settings, clock, rasa, RASA_SECRET)


@pytest.fixture
def sam(api: Api) -> Console:
    make_agent(api)
    console = Console(api)
    assert console.login().status_code == 200
    return console


@pytest.fixture
def handoff_id(api: Api) -> int:
    response = api.post("/api/v1/handoffs", json={
        "conversation_id": CONVERSATION, "channel": "web",
        "reason": "The visitor asked for a person.", "summary": "what data do you collect?"})
    assert response.status_code == 201
    return int(response.json()["id"])


# --- logging in --------------------------------------------------------------------------
def test_login_sets_a_strict_http_only_cookie(api: Api) -> None:
    make_agent(api)
    console = Console(api)
    response = console.login()
    assert response.status_code == 200
    body = response.json()
    assert body["agent"]["name"] == "Sam" and len(body["csrf_token"]) >= 32
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert console.get("/session").json()["agent"]["email"] == "sam@example.com"
    with api.engine.connect() as conn:  # only a hash of the cookie value is stored
        stored = conn.scalar(select(AgentSession.token_hash))
    assert stored is not None and stored not in response.headers["set-cookie"]


def test_wrong_password_and_unknown_email_look_the_same(api: Api) -> None:
    make_agent(api)
    wrong = Console(api).login("not the password")
    unknown = Console(api, "nobody@example.com").login()
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json() == {"error": "login_failed",
                                   "message": "Wrong email or password."}
        assert "set-cookie" not in response.headers


def test_lockout_after_five_failures_in_fifteen_minutes(api: Api) -> None:
    make_agent(api)
    console = Console(api)
    for _ in range(5):
        assert console.login("guess").status_code == 401
    locked = console.login()  # even the right password is refused now
    assert locked.status_code == 429 and locked.json()["error"] == "locked_out"
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    api.clock.advance(minutes=15, seconds=1)
    assert console.login().status_code == 200


def test_an_attacker_cannot_lock_the_agent_out(api: Api) -> None:
    """Guessing from one client locks that client; the agent, elsewhere, still logs in."""
    make_agent(api)
    attacker = Console(api, client=("203.0.113.66", 40000))
    for _ in range(5):
        assert attacker.login("guess").status_code == 401
    assert attacker.login().status_code == 429  # the guessing client is slowed down
    owner = Console(api, client=("198.51.100.7", 40000))
    assert owner.login().status_code == 200


def test_a_client_guessing_across_accounts_is_locked_out_of_all(api: Api) -> None:
    for n in range(5):
        make_agent(api, email=f"agent{n}@example.com", name=f"Agent {n}")
    for n in range(4):
        sprayer = Console(api, email=f"agent{n}@example.com", client=("203.0.113.9", 1))
        for _ in range(5):
            assert sprayer.login("guess").status_code == 401
    fresh_account = Console(api, email="agent4@example.com", client=("203.0.113.9", 1))
    assert fresh_account.login().status_code == 429
    elsewhere = Console(api, email="agent4@example.com", client=("198.51.100.8", 1))
    assert elsewhere.login().status_code == 200


def test_failures_spread_over_more_than_the_window_do_not_lock(api: Api) -> None:
    make_agent(api)
    console = Console(api)
    for _ in range(4):
        assert console.login("guess").status_code == 401
    api.clock.advance(minutes=16)
    assert console.login("guess").status_code == 401
    assert console.login().status_code == 200


def test_expired_session_needs_a_new_login(api: Api, sam: Console) -> None:
    assert sam.get("/handoffs").status_code == 200
    api.clock.advance(hours=8, seconds=1)
    response = sam.get("/handoffs")
    assert response.status_code == 401 and response.json()["error"] == "login_required"


def test_logout_ends_the_session_on_the_server(api: Api, sam: Console) -> None:
    cookie = sam.client.cookies.get("console_session")
    assert sam.post("/logout").status_code == 204
    stolen = Console(api)
    stolen.client.cookies.set("console_session", cookie or "", path="/console")
    assert stolen.get("/handoffs").status_code == 401


def test_nothing_is_visible_without_a_session(api: Api, handoff_id: int,
                                              rasa: RasaStandIn) -> None:
    anonymous = Console(api)
    for path in ["/handoffs", f"/handoffs/{handoff_id}", "/session"]:
        assert anonymous.get(path).status_code == 401, path
    for path in [f"/handoffs/{handoff_id}/take", f"/handoffs/{handoff_id}/messages"]:
        assert anonymous.post(path, {"text": "hi"}).status_code == 401, path
    assert rasa.calls == []
    page = api.client.get("/console")
    assert page.status_code == 200 and CONVERSATION not in page.text


# --- CSRF ---------------------------------------------------------------------------------
def test_every_post_needs_the_csrf_token(api: Api, sam: Console, handoff_id: int,
                                         rasa: RasaStandIn) -> None:
    for path, body in [(f"/handoffs/{handoff_id}/take", None),
                       (f"/handoffs/{handoff_id}/messages", {"text": "hi"}),
                       (f"/handoffs/{handoff_id}/handback", None),
                       (f"/handoffs/{handoff_id}/close", None), ("/logout", None)]:
        missing = sam.post(path, body, csrf=False)
        assert missing.status_code == 403, path
        assert missing.json()["error"] == "csrf_failed"
        wrong = sam.client.post(f"/console/api{path}", json=body,
                                headers={"X-CSRF-Token": "x" * 43})
        assert wrong.status_code == 403, path
    assert rasa.calls == []
    assert sam.get(f"/handoffs/{handoff_id}").json()["handoff"]["status"] == "waiting"


# --- taking a conversation over -----------------------------------------------------------
def test_queue_shows_waiting_handoffs_with_their_age(api: Api, sam: Console,
                                                     handoff_id: int) -> None:
    api.clock.advance(minutes=3)
    queue = sam.get("/handoffs").json()
    assert queue["agents_online"] == 1
    [item] = queue["handoffs"]
    assert item["handoff"]["id"] == handoff_id and item["age_seconds"] == 180
    assert item["handoff"]["reason"] == "The visitor asked for a person."
    assert item["handoff"]["channel"] == "web" and item["mine"] is False


def test_conversation_view_has_transcript_requests_and_preference_changes(
        api: Api, sam: Console, handoff_id: int) -> None:
    request = api.create(conversation_id=CONVERSATION, email="vis@example.com")
    api.create(conversation_id="someone-else", email="other@example.com")
    with api.client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        preferences.write(
            session, "vis@example.com",
            lambda p: preferences.merged(p, global_opt_out=True, choices=None),
            settings=api.settings, source=PreferenceSource.CHAT, now=api.clock(),
            actor=None, conversation_id=CONVERSATION)
        session.commit()
    view = sam.get(f"/handoffs/{handoff_id}").json()
    assert [(line["kind"], line["text"]) for line in view["transcript"]] == [
        ("user", "what data do you collect?"),
        ("bot", "“The personal information we collect …”"),
        ("user", "I want to talk to a person"),
        ("system", "The bot was paused."),
    ]
    assert [r["reference"] for r in view["requests"]] == [request["reference"]]
    [change] = view["preference_changes"]
    assert change["email"] == "vis@example.com" and change["after"] == {"global_opt_out": True}


def test_take_reply_and_hand_back(api: Api, sam: Console, handoff_id: int,
                                  rasa: RasaStandIn) -> None:
    api.clock.advance(minutes=1)
    taken = sam.post(f"/handoffs/{handoff_id}/take")
    assert taken.status_code == 200
    assert taken.json()["status"] == "active" and taken.json()["agent_name"] == "Sam"
    assert taken.json()["taken_at"].startswith("2025-03-10T14:31")

    sent = sam.post(f"/handoffs/{handoff_id}/messages", {"text": "Hello, I'm Sam."})
    assert sent.status_code == 201, sent.text
    say = rasa.posted(CONVERSATION)[-1]
    assert say.path == f"/conversations/{CONVERSATION}/tracker/events"
    assert say.query == {"output_channel": "socketio", "execute_side_effects": "true"}
    assert say.body == [{"event": "bot", "text": "Hello, I'm Sam.",
                         "metadata": {"agent": "Sam"}}]
    lines = sam.get(f"/handoffs/{handoff_id}").json()["transcript"]
    assert lines[-1] == {"kind": "agent", "text": "Hello, I'm Sam.", "agent": "Sam",
                         "timestamp": None, "buttons": []}

    back = sam.post(f"/handoffs/{handoff_id}/handback")
    assert back.status_code == 200
    assert back.json()["status"] == "closed" and back.json()["close_reason"] == "handed_back"
    resume, trigger = rasa.posted(CONVERSATION)[-2:]
    assert resume.body == [{"event": "resume"}]
    assert trigger.path == f"/conversations/{CONVERSATION}/trigger_intent"
    assert trigger.body == {"name": "handoff_returned"}
    assert trigger.query["output_channel"] == "socketio"
    assert sam.get("/handoffs").json()["handoffs"] == []
    # a later request for a person opens a new handoff
    again = api.post("/api/v1/handoffs", json={"conversation_id": CONVERSATION,
                                               "reason": "again"})
    assert again.status_code == 201 and again.json()["id"] != handoff_id


def test_take_pauses_the_bot(sam: Console, handoff_id: int, rasa: RasaStandIn) -> None:
    assert sam.post(f"/handoffs/{handoff_id}/take").status_code == 200
    assert rasa.posted(CONVERSATION)[-1].body == [{"event": "pause"}]


def test_only_the_assigned_agent_can_write(api: Api, sam: Console, handoff_id: int,
                                           rasa: RasaStandIn) -> None:
    make_agent(api, "kim@example.com", "Kim")
    kim = Console(api, "kim@example.com")
    assert kim.login().status_code == 200
    assert kim.post(f"/handoffs/{handoff_id}/messages", {"text": "hi"}).status_code == 409
    assert sam.post(f"/handoffs/{handoff_id}/take").status_code == 200
    calls = len(rasa.calls)
    for path, body in [("/messages", {"text": "Kim here"}), ("/handback", None),
                       ("/close", None)]:
        response = kim.post(f"/handoffs/{handoff_id}{path}", body)
        assert response.status_code == 403, path
        assert response.json()["error"] == "not_your_conversation"
    taken = kim.post(f"/handoffs/{handoff_id}/take")
    assert taken.status_code == 409 and "taken by Sam" in taken.json()["message"]
    assert len(rasa.calls) == calls  # nothing reached the visitor
    assert kim.get(f"/handoffs/{handoff_id}").status_code == 403  # not hers to read either


def test_close_resumes_the_bot_quietly(sam: Console, handoff_id: int,
                                       rasa: RasaStandIn) -> None:
    sam.post(f"/handoffs/{handoff_id}/take")
    closed = sam.post(f"/handoffs/{handoff_id}/close")
    assert closed.status_code == 200 and closed.json()["close_reason"] == "closed"
    assert rasa.posted(CONVERSATION)[-1].body == [{"event": "resume"}]
    assert sam.post(f"/handoffs/{handoff_id}/close").status_code == 409


def test_closing_a_waiting_handoff_resumes_the_paused_bot(sam: Console, handoff_id: int,
                                                          rasa: RasaStandIn) -> None:
    # The bot paused itself when it queued the handoff; nobody took it.
    closed = sam.post(f"/handoffs/{handoff_id}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert rasa.posted(CONVERSATION)[-1].body == [{"event": "resume"}]


def test_rasa_down_is_a_502_and_changes_nothing(sam: Console, handoff_id: int,
                                                rasa: RasaStandIn) -> None:
    rasa.fail_with = 500
    response = sam.post(f"/handoffs/{handoff_id}/take")
    assert response.status_code == 502 and response.json()["error"] == "rasa_unavailable"
    view = sam.get(f"/handoffs/{handoff_id}").json()
    assert view["handoff"]["status"] == "waiting"
    assert view["transcript"] == [] and "500" in view["transcript_error"]


def test_session_touch_keeps_the_agent_online(api: Api, sam: Console) -> None:
    for _ in range(4):
        api.clock.advance(minutes=2)
        assert sam.get("/handoffs").json()["agents_online"] == 1
    with api.engine.connect() as conn:
        seen = conn.scalar(select(AgentSession.last_seen_at))
    assert isinstance(seen, datetime)
    assert PASSWORD  # the fixture's agent logged in with it


def test_the_console_shows_a_short_handle_never_the_conversation_id(
        api: Api, sam: Console, handoff_id: int) -> None:
    """The conversation id addresses a visitor's chat; an agent's browser never holds it."""
    queue = sam.get("/handoffs")
    opened = sam.get(f"/handoffs/{handoff_id}")
    taken = sam.post(f"/handoffs/{handoff_id}/take")
    page = api.client.get("/console")
    for response in (queue, opened, taken, page):
        assert response.status_code == 200, response.text
        assert CONVERSATION not in response.text
    handle = opened.json()["handoff"]["handle"]
    assert handle.startswith("C-") and len(handle) == 11
    assert queue.json()["handoffs"][0]["handoff"]["handle"] == handle
    assert taken.json()["handle"] == handle
