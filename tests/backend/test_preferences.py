"""Marketing preferences: defaults, PUT/PATCH, history, idempotency, concurrency, validation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from privacy_backend.core.settings import Settings
from privacy_backend.main import create_app

from .support import Api, TestClient

URL = "/api/v1/preferences"
ADA = {"email": "ada@example.com"}
TOPICS = ["product_news", "events", "newsletters", "promotions"]
NOTHING = {c: dict.fromkeys(TOPICS, False) for c in ("email", "sms", "phone", "postal")}


@pytest.fixture
def api(api: Api) -> Api:
    """These tests are about what the API does with a write, so they call it as staff, who
    need no proof; what the assistant must prove is in test_permissions.py."""
    return api.staff


def _patch(api: Api, body: dict[str, Any], email: str = "ada@example.com",
           **kw: Any) -> Any:
    return api.patch(URL, params={"email": email}, json={"source": "chat", **body}, **kw)


def _history(api: Api, email: str = "ada@example.com") -> list[dict[str, Any]]:
    response = api.get(f"{URL}/history", params={"email": email})
    assert response.status_code == 200, response.text
    return response.json()


def test_unknown_address_has_the_defaults_and_nothing_is_written(api: Api) -> None:
    before = api.all_counts()
    response = api.get(URL, params=ADA)
    assert response.status_code == 200
    assert response.json() == {"email": "ada@example.com", "global_opt_out": False,
                               "channels": NOTHING, "updated_at": None}
    assert _history(api) == []
    assert api.all_counts() == before


def test_defaults_are_documented_in_openapi(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    text = spec["paths"]["/api/v1/preferences"]["get"]["description"]
    assert "updated_at: null" in text and "`false`" in text and "transactional" in text


def test_patch_records_one_history_entry_with_before_and_after(api: Api) -> None:
    subscribed = _patch(api, {"channels": {"email": {"newsletters": True, "events": True}}},
                        email="  Ada@Example.COM ")
    assert subscribed.status_code == 200, subscribed.text
    body = subscribed.json()
    assert body["email"] == "ada@example.com"
    assert body["channels"]["email"] == {**NOTHING["email"], "newsletters": True, "events": True}
    assert body["updated_at"] == "2025-03-10T14:30:00Z"
    api.clock.advance(minutes=5)
    opted_out = api.patch(URL, params=ADA, json={
        "global_opt_out": True, "source": "agent", "conversation_id": "conv-9"})
    assert opted_out.json()["global_opt_out"] is True
    assert opted_out.json()["channels"]["email"]["newsletters"] is True  # kept for later
    first, second = _history(api)
    assert first["source"] == "chat" and first["conversation_id"] is None
    assert first["before"] == {"channels.email.events": False,
                               "channels.email.newsletters": False}
    assert first["after"] == {"channels.email.events": True, "channels.email.newsletters": True}
    assert (second["source"], second["actor"], second["conversation_id"]) == (
        "agent", "staff-token", "conv-9")
    assert (second["before"], second["after"]) == ({"global_opt_out": False},
                                                   {"global_opt_out": True})
    assert second["created_at"] == "2025-03-10T14:35:00Z"
    assert api.all_counts()["marketing_preferences"] == 1


def test_a_channel_set_to_false_sets_all_its_topics(api: Api) -> None:
    _patch(api, {"channels": {"sms": True}})
    response = _patch(api, {"channels": {"sms": False, "email": {"promotions": True}}})
    assert response.json()["channels"]["sms"] == NOTHING["sms"]
    assert response.json()["channels"]["email"]["promotions"] is True
    assert len(_history(api)) == 2


def test_a_write_that_changes_nothing_records_nothing(api: Api) -> None:
    before = api.all_counts()
    noop = _patch(api, {"channels": {"email": {"promotions": False}}})  # already the default
    assert noop.status_code == 200 and noop.json()["updated_at"] is None
    assert api.all_counts() == before  # no row for the address either
    _patch(api, {"global_opt_out": True})
    counts = api.all_counts()
    again = _patch(api, {"global_opt_out": True})
    assert again.json()["updated_at"] == "2025-03-10T14:30:00Z"
    assert api.all_counts() == counts
    assert len(_history(api)) == 1


def test_put_replaces_everything_and_unlisted_topics_become_false(api: Api) -> None:
    _patch(api, {"channels": {"email": True, "postal": {"events": True}}})
    response = api.put(URL, params=ADA, json={
        "global_opt_out": False, "source": "api",
        "channels": {"sms": {"promotions": True}}})
    assert response.status_code == 200, response.text
    assert response.json()["channels"] == {**NOTHING, "sms": {**NOTHING["sms"],
                                                             "promotions": True}}
    last = _history(api)[-1]
    assert last["source"] == "api"
    assert last["after"] == {**{f"channels.email.{t}": False for t in TOPICS},
                             "channels.postal.events": False, "channels.sms.promotions": True}


def test_history_is_per_address_and_pages(api: Api) -> None:
    for topic in TOPICS:
        _patch(api, {"channels": {"email": {topic: True}}})
    _patch(api, {"global_opt_out": True}, email="bob@example.com")
    assert len(_history(api)) == 4 and len(_history(api, "bob@example.com")) == 1
    page = api.get(f"{URL}/history", params={**ADA, "limit": 2, "offset": 2}).json()
    assert [list(e["after"]) for e in page] == [["channels.email.newsletters"],
                                                ["channels.email.promotions"]]


def test_topics_and_channels_are_configuration(api: Api, settings: Settings) -> None:
    custom = settings.model_copy(update={"preference_channels": ["email", "whatsapp"],
                                         "preference_topics": ["webinars"]})
    with TestClient(create_app(custom, engine=api.engine, clock=api.clock)) as client:
        got = client.get(URL, params=ADA, headers=api.headers).json()
        assert got["channels"] == {"email": {"webinars": False}, "whatsapp": {"webinars": False}}
        ok = client.patch(URL, params=ADA, headers=api.headers,
                          json={"source": "api", "channels": {"whatsapp": {"webinars": True}}})
        assert ok.status_code == 200
        refused = client.patch(URL, params=ADA, headers=api.headers,
                               json={"source": "api", "channels": {"email": {"promotions": True}}})
        assert refused.status_code == 422
        assert "unknown topic 'promotions'" in refused.json()["message"]
    # Back on the default configuration, the stored choice for `whatsapp` is kept but not shown.
    assert "whatsapp" not in api.get(URL, params=ADA).json()["channels"]
    _patch(api, {"global_opt_out": True})
    with TestClient(create_app(custom, engine=api.engine, clock=api.clock)) as client:
        got = client.get(URL, params=ADA, headers=api.headers).json()
        assert got["channels"]["whatsapp"] == {"webinars": True}


def test_preferences_need_the_token(api: Api) -> None:
    assert api.client.get(URL, params=ADA).status_code == 401
    response = api.client.patch(URL, params=ADA, json={"source": "chat", "global_opt_out": True})
    assert response.status_code == 401
    assert api.all_counts()["marketing_preferences"] == 0


# -- idempotency ---------------------------------------------------------------------------------

def test_a_retry_with_the_same_key_records_one_change(api: Api) -> None:
    body = {"channels": {"email": {"events": True}}, "conversation_id": "c-1"}
    first = _patch(api, body, headers={"Idempotency-Key": "c-1-turn-4"})
    # Meanwhile someone else turns it off again; the retry must not switch it back on.
    _patch(api, {"channels": {"email": {"events": False}}, "source": "agent"})
    retry = _patch(api, body, headers={"Idempotency-Key": "c-1-turn-4"})
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert retry.json()["channels"]["email"]["events"] is False
    assert [e["source"] for e in _history(api)] == ["chat", "agent"]


def test_the_same_key_with_another_body_is_a_conflict(api: Api) -> None:
    _patch(api, {"global_opt_out": True}, headers={"Idempotency-Key": "k"})
    before = api.all_counts()
    other = _patch(api, {"global_opt_out": False}, headers={"Idempotency-Key": "k"})
    assert other.status_code == 409 and other.json()["error"] == "idempotency_conflict"
    elsewhere = _patch(api, {"global_opt_out": True}, email="bob@example.com",
                       headers={"Idempotency-Key": "k"})
    assert elsewhere.status_code == 409
    assert api.all_counts() == before


# -- concurrency ---------------------------------------------------------------------------------

@pytest.fixture
def slow_writes(api: Api) -> Iterator[None]:
    """Hold each writer between its read and its write, so that two PATCHes really overlap."""

    def pause(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("UPDATE MARKETING_PREFERENCES",
                                                  "INSERT INTO MARKETING_PREFERENCES")):
            time.sleep(0.3)

    event.listen(api.engine, "before_cursor_execute", pause)
    yield
    event.remove(api.engine, "before_cursor_execute", pause)


def _race(api: Api, bodies: list[dict[str, Any]]) -> list[int]:
    app = create_app(api.settings, engine=api.engine, clock=api.clock)
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def send(body: dict[str, Any]) -> None:
        with TestClient(app) as client:
            barrier.wait()
            response = client.patch(URL, params=ADA, headers=api.headers,
                                    json={"source": "chat", **body})
            statuses.append(response.status_code)

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return statuses


@pytest.mark.parametrize("existing", [False, True], ids=["new_address", "existing_row"])
def test_two_concurrent_patches_both_apply(api: Api, slow_writes: None, existing: bool) -> None:
    if existing:
        _patch(api, {"channels": {"postal": {"events": True}}})
    statuses = _race(api, [{"channels": {"email": {"events": True}}},
                           {"channels": {"sms": {"promotions": True}}}])
    assert statuses == [200, 200]
    channels = api.get(URL, params=ADA).json()["channels"]
    assert channels["email"]["events"] is True and channels["sms"]["promotions"] is True
    assert channels["postal"]["events"] is existing
    assert len(_history(api)) == 2 + existing
    assert api.all_counts()["marketing_preferences"] == 1


def test_concurrent_retries_with_one_key_record_once(api: Api, slow_writes: None) -> None:
    app = create_app(api.settings, engine=api.engine, clock=api.clock)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def send() -> None:
        with TestClient(app) as client:
            barrier.wait()
            statuses.append(client.patch(
                URL, params=ADA, headers={**api.headers, "Idempotency-Key": "same"},
                json={"source": "chat", "global_opt_out": True}).status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert statuses == [200, 200]
    assert len(_history(api)) == 1


# -- validation ----------------------------------------------------------------------------------

BAD_PATCHES: dict[str, tuple[Any, str]] = {
    "unknown_channel": ({"source": "chat", "channels": {"fax": {"events": False}}},
                        "unknown channel 'fax'"),
    "unknown_topic": ({"source": "chat", "channels": {"email": {"weather": False,
                                                                "events": True}}},
                      "unknown topic 'weather' on channel 'email'"),
    "two_unknowns": ({"source": "chat", "channels": {"fax": True, "sms": {"jokes": True}}},
                     "unknown channel 'fax', unknown topic 'jokes'"),
    "unknown_field": ({"source": "chat", "global_opt_out": True, "admin": 1},
                      "Unknown field(s): admin."),
    "missing_source": ({"global_opt_out": True}, "Invalid body.source"),
    "bad_source": ({"source": "fax", "global_opt_out": True}, "Invalid body.source"),
    "string_bool": ({"source": "chat", "global_opt_out": "yes"}, "Invalid body.global_opt_out"),
    "int_topic": ({"source": "chat", "channels": {"email": {"events": 1}}},
                  "'email.events' must be true or false"),
    "list_channel": ({"source": "chat", "channels": {"email": ["events"]}},
                     "'email' must be true, false or a map"),
    "nothing_to_change": ({"source": "chat"}, "give `global_opt_out` and/or `channels`"),
    "long_conversation": ({"source": "chat", "global_opt_out": True,
                           "conversation_id": "c" * 129}, "at most 128 characters"),
    "long_topic_name": ({"source": "chat", "channels": {"email": {"t" * 33: True}}},
                        "topic names on 'email' have 1 to 32 characters"),
    "not_an_object": ([{"source": "chat"}], "Invalid body"),
}


@pytest.mark.parametrize("case", sorted(BAD_PATCHES))
def test_invalid_patch_is_422_and_writes_nothing(api: Api, case: str) -> None:
    body, message = BAD_PATCHES[case]
    before = api.all_counts()
    response = api.patch(URL, params=ADA, json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["error"] == "validation_failed"
    assert message in error["message"]
    assert all(set(d) == {"field", "message", "type"} for d in error["details"])
    assert api.all_counts() == before


def test_put_needs_every_field_and_checks_names(api: Api) -> None:
    before = api.all_counts()
    partial = api.put(URL, params=ADA, json={"source": "api", "global_opt_out": True})
    assert partial.status_code == 422 and "body.channels" in partial.json()["message"]
    unknown = api.put(URL, params=ADA, json={"source": "api", "global_opt_out": True,
                                             "channels": {"pigeon": True}})
    assert unknown.status_code == 422 and "unknown channel 'pigeon'" in unknown.json()["message"]
    assert unknown.json()["details"][0]["field"] == "body.channels.pigeon"
    assert api.all_counts() == before


@pytest.mark.parametrize("email", ["", "not-an-email", "a" * 250 + "@example.com"])
def test_a_bad_email_query_is_422(api: Api, email: str) -> None:
    before = api.all_counts()
    for method in ("GET", "PATCH"):
        response = api.request(method, URL, params={"email": email},
                               json={"source": "chat", "global_opt_out": True})
        assert response.status_code == 422, response.text
        assert "query.email" in response.json()["message"]
    assert api.get(URL).status_code == 422  # missing
    assert api.all_counts() == before


def test_oversize_preferences_body_is_413(api: Api) -> None:
    before = api.all_counts()
    big = {"source": "chat", "global_opt_out": True,
           "conversation_id": "x" * api.settings.max_body_bytes}
    response = api.patch(URL, params=ADA, json=big)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert api.all_counts() == before


def test_oversize_idempotency_key_is_422(api: Api) -> None:
    response = _patch(api, {"global_opt_out": True}, headers={"Idempotency-Key": "k" * 129})
    assert response.status_code == 422
    assert api.all_counts()["preference_changes"] == 0
