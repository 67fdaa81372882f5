"""The code-free marketing opt-out (`POST /api/v1/preferences/opt-out`), from the side of
someone who knows an address and nothing else: they may opt it out, and learn nothing of its
choices from the answer or from the limits; they may not opt it in or read it; they cannot
flood it. Every change is recorded with its source and conversation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from privacy_backend.core.models import Suppression
from privacy_backend.main import create_app
from privacy_backend.services.preferences import suppression_hash

from .support import Api, TestClient

URL = "/api/v1/preferences"
OPT_OUT = f"{URL}/opt-out"
ADA = {"email": "ada@example.com"}
TOPICS = ["product_news", "events", "newsletters", "promotions"]
CHANNELS = ["email", "sms", "phone", "postal"]


def _opt_out(api: Api, email: str = "ada@example.com", conversation: str = "conv-x",
             **scope: Any) -> Any:
    return api.post(OPT_OUT, json={"email": email, "conversation_id": conversation, **scope})


def _subscribe_everything(api: Api, email: str = "ada@example.com") -> None:
    """The owner's choices, set by staff: every topic on every channel."""
    response = api.staff.put(URL, params={"email": email}, json={
        "source": "api", "global_opt_out": False, "channels": dict.fromkeys(CHANNELS, True)})
    assert response.status_code == 200, response.text


def _state(api: Api, email: str = "ada@example.com") -> dict[str, Any]:
    return dict(api.staff.get(URL, params={"email": email}).json())


def _history(api: Api, email: str = "ada@example.com") -> list[dict[str, Any]]:
    return list(api.staff.get(f"{URL}/history", params={"email": email}).json())


SCOPES: dict[str, tuple[dict[str, str], dict[str, bool]]] = {
    # body -> what turns off
    "everything": ({}, {"global_opt_out": True}),
    "a channel": ({"channel": "sms"}, {f"channels.sms.{t}": False for t in TOPICS}),
    "a topic on a channel": ({"channel": "email", "topic": "promotions"},
                             {"channels.email.promotions": False}),
    "a topic on every channel": ({"topic": "events"},
                                 {f"channels.{c}.events": False for c in CHANNELS}),
}


@pytest.mark.parametrize("scope", list(SCOPES))
def test_an_opt_out_without_proof_is_applied_and_recorded(api: Api, scope: str) -> None:
    body, turned_off = SCOPES[scope]
    _subscribe_everything(api)
    api.clock.advance(minutes=1)
    response = _opt_out(api, "  Ada@Example.com ", **body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "scope": scope.split()[1] if scope != "everything" else "everything",
        "channel": body.get("channel"), "topic": body.get("topic"),
        "recorded_at": "2025-03-10T14:31:00Z"}
    state = _state(api)
    flat = {"global_opt_out": state["global_opt_out"],
            **{f"channels.{c}.{t}": v for c, ts in state["channels"].items()
               for t, v in ts.items()}}
    assert {k: flat[k] for k in turned_off} == turned_off
    assert sum(not v for k, v in flat.items() if k != "global_opt_out") == (
        0 if scope == "everything" else len(turned_off))  # nothing else changed
    *_, last = _history(api)
    assert (last["source"], last["actor"], last["conversation_id"]) == (
        "chat", "assistant:unverified", "conv-x")
    assert last["after"] == turned_off
    assert last["before"] == {k: not v for k, v in turned_off.items()}


def test_the_answer_says_nothing_of_the_addresses_choices(api: Api) -> None:
    """The same opt-outs of a subscribed address, an unknown one, one opted out of
    everything and an erased one (a suppression) get the same answers, 429s included: each
    opt-out counts whether or not it changed anything."""
    _subscribe_everything(api, "subscribed@example.com")
    api.staff.patch(URL, params={"email": "optedout@example.com"},
                    json={"source": "api", "global_opt_out": True})
    with Session(api.engine) as session:
        session.add(Suppression(email_hash=suppression_hash(api.settings, "erased@example.com"),
                                created_at=api.clock.now, reason="erasure"))
        session.commit()
    answers: dict[str, list[tuple[int, Any, str | None]]] = {}
    scopes = [{"topic": "promotions", "channel": "email"}, {"channel": "sms"}, {}]
    for who in ("subscribed", "unknown", "optedout", "erased"):
        email = f"{who}@example.com"
        series = []
        for n in range(api.settings.marketing_opt_outs_per_address_per_hour + 1):
            response = _opt_out(api, email, f"conv-{who}-{n}", **scopes[n % len(scopes)])
            series.append((response.status_code, response.json(),
                           response.headers.get("Retry-After")))
        answers[who] = series
        assert [status for status, _, _ in series][-2:] == [200, 429]
    assert answers["subscribed"] == answers["unknown"] == answers["optedout"] == (
        answers["erased"])
    assert set(answers["subscribed"][0][1]) == {"scope", "channel", "topic", "recorded_at"}
    # The erased address stays opted out of everything.
    assert _state(api, "erased@example.com")["global_opt_out"] is True


@pytest.mark.parametrize("write", ["PUT on", "PATCH on", "PATCH off", "GET", "history"])
def test_opting_in_and_reading_still_need_proof(api: Api, write: str) -> None:
    before = api.all_counts()
    body = {"source": "chat", "conversation_id": "conv-x"}
    if write == "PUT on":
        response = api.put(URL, params=ADA, json={**body, "global_opt_out": False,
                                                  "channels": {"email": True}})
    elif write == "PATCH on":
        response = api.patch(URL, params=ADA, json={**body, "channels": {"email": True}})
    elif write == "PATCH off":  # the code-free opt-out is the other route, and only it
        response = api.patch(URL, params=ADA, json={**body, "global_opt_out": True})
    else:
        response = api.get(URL if write == "GET" else f"{URL}/history",
                           params={**ADA, "conversation_id": "conv-x"})
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "verification_required"
    assert api.all_counts() == before


def test_an_opt_out_takes_no_proof_and_no_other_field(api: Api) -> None:
    before = api.all_counts()
    for extra in ({"verification_id": api.proof()}, {"actor": "agent:kim"},
                  {"global_opt_out": False}, {"source": "unsubscribe_link"}):
        response = _opt_out(api, **extra)
        assert response.status_code == 422, extra
        assert next(iter(extra)) in response.json()["message"]
    assert api.all_counts()["preference_changes"] == before["preference_changes"]


@pytest.mark.parametrize("scope", [{"channel": "fax"}, {"topic": "lottery"},
                                   {"channel": "fax", "topic": "lottery"},
                                   {"channel": "email", "topic": "lottery"}])
def test_an_unknown_channel_or_topic_is_422_and_changes_nothing(api: Api,
                                                                scope: dict[str, str]) -> None:
    _subscribe_everything(api)
    before = api.all_counts()
    response = _opt_out(api, **scope)
    assert response.status_code == 422, response.text
    fields = {d["field"] for d in response.json()["details"]}
    assert fields == {f"body.{name}" for name in scope if scope[name] in ("fax", "lottery")}
    for name in scope.values():
        if name in ("fax", "lottery"):
            assert f"'{name}'" in response.json()["message"]
    assert api.all_counts() == before
    assert _state(api)["global_opt_out"] is False


def test_one_address_is_opted_out_a_bounded_number_of_times(api: Api) -> None:
    _subscribe_everything(api)
    limit = api.settings.marketing_opt_outs_per_address_per_hour
    for n in range(limit):
        assert _opt_out(api, conversation=f"conv-{n}", topic=TOPICS[n % 4]).status_code == 200
        api.clock.advance(minutes=1)
    before, state = api.all_counts(), _state(api)
    refused = _opt_out(api, conversation="conv-new")
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "too_many_opt_outs"
    # The oldest counted one leaves the hour 60 - 10 minutes from now.
    assert refused.headers["Retry-After"] == str((60 - limit) * 60)
    assert api.all_counts() == before and _state(api) == state
    assert state["global_opt_out"] is False
    # Another address is not held back, nor staff, nor the owner with a code.
    assert _opt_out(api, "bob@example.com", conversation="conv-new").status_code == 200
    assert _opt_out(api.staff, conversation="conv-new").status_code == 200
    api.clock.advance(minutes=60 - limit)
    assert _opt_out(api, conversation="conv-new").status_code == 200


def test_one_conversation_opts_out_a_bounded_number_of_addresses(api: Api) -> None:
    limit = api.settings.marketing_opt_outs_per_conversation_per_hour
    for n in range(limit):
        assert _opt_out(api, f"person{n}@example.com").status_code == 200
    before = api.all_counts()
    refused = _opt_out(api, "next@example.com")
    assert refused.status_code == 429 and refused.json()["error"] == "too_many_opt_outs"
    assert refused.headers["Retry-After"] == "3600"
    assert api.all_counts() == before
    assert _state(api, "next@example.com")["updated_at"] is None
    assert _opt_out(api, "next@example.com", conversation="conv-other").status_code == 200


def test_staff_may_opt_out_and_are_recorded_as_themselves(api: Api) -> None:
    _subscribe_everything(api)
    response = _opt_out(api.staff, channel="email")
    assert response.status_code == 200, response.text
    *_, last = _history(api)
    # Their own tools, over the API: not the chat (every change records its source).
    assert (last["actor"], last["source"], last["conversation_id"]) == (
        "staff-token", "api", "conv-x")


@pytest.mark.parametrize("header", [None, "Bearer not-the-token", "Basic dXNlcjpwYXNz"])
def test_a_caller_without_a_token_is_refused(api: Api, header: str | None) -> None:
    before = api.all_counts()
    response = api.client.post(
        OPT_OUT, json={"email": "ada@example.com", "conversation_id": "conv-x"},
        headers={"Authorization": header} if header else {})
    assert response.status_code == 401, response.text
    assert api.all_counts() == before


@pytest.fixture
def slow_records(api: Api) -> Iterator[None]:
    """Hold each opt-out between its count and its record, so that concurrent ones overlap."""

    def pause(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO PREFERENCE_CHANGES"):
            time.sleep(0.2)

    event.listen(api.engine, "before_cursor_execute", pause)
    yield
    event.remove(api.engine, "before_cursor_execute", pause)


@pytest.mark.parametrize("whose", ["address", "conversation"])
def test_concurrent_opt_outs_do_not_pass_the_limits_together(api: Api, slow_records: None,
                                                             whose: str) -> None:
    settings = api.settings.model_copy(update={
        "marketing_opt_outs_per_address_per_hour": 3,
        "marketing_opt_outs_per_conversation_per_hour": 3})
    app = create_app(settings, engine=api.engine, clock=api.clock)
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def send(n: int) -> None:
        body = ({"email": "ada@example.com", "conversation_id": f"conv-{n}"} if whose == "address"
                else {"email": f"person{n}@example.com", "conversation_id": "conv-x"})
        with TestClient(app) as client:
            barrier.wait()
            statuses.append(client.post(OPT_OUT, json=body, headers=api.headers).status_code)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses) == [200, 200, 200, 429, 429, 429]
    assert api.all_counts()["preference_changes"] == 3
