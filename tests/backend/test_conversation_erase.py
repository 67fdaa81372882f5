"""The widget's "Delete chat" on the backend: the assistant erases a conversation nobody
verified an address in, and nothing else; tried from the attacker's side too."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privacy_backend.core.models import Handoff
from privacy_backend.integrations.tracker_store import TrackerStore

from .support import STAFF_HEADERS, Api
from .tracker_support import chat, event_count


@pytest.fixture
def api(store_api: Api) -> Api:
    return store_api


def _handoffs(api: Api, conversation: str) -> int:
    with Session(api.engine) as session:
        return int(session.scalar(select(func.count()).select_from(Handoff).where(
            Handoff.conversation_id == conversation)) or 0)


def _two_chats(api: Api, store: TrackerStore) -> None:
    for conversation in ("anon-1", "anon-2"):
        chat(store, conversation, api.clock.now, ("hello", "hi"), ("a person please", "ok"))
        api.post("/api/v1/handoffs", json={"conversation_id": conversation, "reason": "asked"})


def test_an_unverified_chat_is_erased_and_no_other(api: Api, store: TrackerStore) -> None:
    _two_chats(api, store)
    erased = api.post("/api/v1/conversations/anon-1/erase")
    assert erased.status_code == 200, erased.text
    assert erased.json() == {"erased_events": 4, "handoffs": 1}
    assert (event_count(store, "anon-1"), _handoffs(api, "anon-1")) == (0, 0)
    assert (event_count(store, "anon-2"), _handoffs(api, "anon-2")) == (4, 1)
    again = api.post("/api/v1/conversations/anon-1/erase")
    assert again.json() == {"erased_events": 0, "handoffs": 0}


def test_a_verified_chat_is_kept(api: Api, store: TrackerStore) -> None:
    _two_chats(api, store)
    api.proof("ada@example.com", "anon-1")
    refused = api.post("/api/v1/conversations/anon-1/erase")
    assert refused.status_code == 409 and refused.json()["error"] == "conversation_verified"
    assert (event_count(store, "anon-1"), _handoffs(api, "anon-1")) == (4, 1)


@pytest.mark.parametrize(("headers", "status"), [
    ({"Authorization": ""}, 401), ({"Authorization": "Bearer guessed-token"}, 401),
    (STAFF_HEADERS, 403)])
def test_only_the_assistant_may_erase_a_chat(api: Api, store: TrackerStore,
                                             headers: dict[str, str], status: int) -> None:
    _two_chats(api, store)
    refused = api.post("/api/v1/conversations/anon-1/erase", headers=headers)
    assert refused.status_code == status, refused.text
    assert (event_count(store, "anon-1"), _handoffs(api, "anon-1")) == (4, 1)
