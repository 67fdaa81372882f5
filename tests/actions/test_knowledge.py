"""The knowledge actions, run as the action server runs them: a real domain loaded from
disk, trackers built from events, the real knowledge base."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import ActionAnswerPrivacyQuestion, ActionTellMeMore, knowledge_base
from privacy_assistant.domain import load_domain
from privacy_kb.document import load_document
from rasa_server.routing import QUESTION_FORM, question_form
from tests.conftest import PROJECT_ROOT

DOMAIN: dict[str, Any] = load_domain()
STATEMENT_FILE = PROJECT_ROOT / "data" / "knowledge" / "privacy_statement.md"
STATEMENT = STATEMENT_FILE.read_text("utf-8")
STATEMENT_PLAIN = load_document(STATEMENT_FILE).plain


def tracker_after(text: str, intent: str = "ask_privacy", **slots: Any) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    events = [{"event": "user", "text": text, "parse_data": message}]
    return Tracker("visitor", slots, message, events, False, None, {}, "action_listen")


def run(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, events


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module", autouse=True)
def site() -> Iterator[None]:
    # One knowledge base of the project's statement serves the module (a build takes about
    # ten seconds): built fresh for it, so none from another module's settings serves here,
    # and dropped after it. A test that builds its own clears the cache before and after.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SITE_URL", "http://privacy.example.test")
        patch.setenv("KNOWLEDGE_DIR", str(PROJECT_ROOT / "data" / "knowledge"))
        knowledge_base.cache_clear()
        yield
    knowledge_base.cache_clear()


def test_answer_quotes_the_statement_and_names_its_section() -> None:
    messages, events = run(ActionAnswerPrivacyQuestion(), tracker_after("do u sell my data??"))
    [message] = messages
    assert message["response"] == "utter_answer_from_statement"
    assert normalise(message["quote"]) in normalise(STATEMENT_PLAIN)
    assert message["heading"] == "Special Considerations for California Residents"
    citation = message["custom"]["citation"]
    assert citation["heading"] == message["heading"]
    assert message["link"] == f"http://privacy.example.test/#{citation['anchor']}"
    assert f"{{#{citation['anchor']}}}" in STATEMENT
    assert events[0] == SlotSet("last_question", "do u sell my data??")
    assert events[1]["name"] == "shown_passages" and len(events[1]["value"]) == 1


def test_every_response_the_actions_use_exists_in_the_domain() -> None:
    used = {"utter_answer_from_statement", "utter_statement_silent", "utter_default",
            "utter_no_more", "utter_nothing_to_expand"}
    assert used <= set(DOMAIN["responses"])
    template = DOMAIN["responses"]["utter_answer_from_statement"][0]["text"]
    variables = set(re.findall(r"{(\w+)}", template))
    assert variables == {"quote", "heading", "link"}


def test_question_the_statement_does_not_cover_is_declined() -> None:
    messages, events = run(
        ActionAnswerPrivacyQuestion(), tracker_after("can you reset my platform password?")
    )
    assert [m["response"] for m in messages] == ["utter_statement_silent"]
    assert SlotSet("last_question", None) in events


def test_not_understood_message_gets_the_reprompt_not_policy() -> None:
    messages, _ = run(
        ActionAnswerPrivacyQuestion(), tracker_after("blorp zzz", intent="nlu_fallback")
    )
    assert [m["response"] for m in messages] == ["utter_default"]


def test_low_confidence_privacy_question_is_still_answered() -> None:
    messages, _ = run(
        ActionAnswerPrivacyQuestion(),
        tracker_after("how long do u keep my stuff", intent="nlu_fallback"),
    )
    assert messages[0]["response"] == "utter_answer_from_statement"


def test_tell_me_more_never_repeats_a_passage() -> None:
    question = "what information do you collect about me"
    _, events = run(ActionAnswerPrivacyQuestion(), tracker_after(question))
    shown = events[1]["value"]
    seen_quotes = set()
    for _ in range(2):
        tracker = tracker_after("tell me more", intent="tell_me_more",
                                last_question=question, shown_passages=shown)
        messages, more_events = run(ActionTellMeMore(), tracker)
        if messages[0]["response"] == "utter_no_more":
            break
        assert messages[0]["quote"] not in seen_quotes
        seen_quotes.add(messages[0]["quote"])
        new_shown = more_events[0]["value"]
        assert new_shown[:-1] == shown and new_shown[-1] not in shown
        shown = new_shown
    assert seen_quotes, "tell me more found nothing else for a broad question"


def test_tell_me_more_without_a_question_asks_for_one() -> None:
    messages, events = run(ActionTellMeMore(), tracker_after("tell me more", "tell_me_more"))
    assert [m["response"] for m in messages] == ["utter_nothing_to_expand"]
    assert events == []


def test_knowledge_base_is_built_once_and_not_at_import() -> None:
    # A fresh interpreter, as the action server imports the package: nothing is built then.
    probe = subprocess.run(
        [sys.executable, "-c",
         "import actions.knowledge as k, sys; sys.exit(k.knowledge_base.cache_info().currsize)"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    built = knowledge_base.cache_info().misses
    assert knowledge_base() is knowledge_base()
    assert knowledge_base.cache_info().misses - built <= 1


# --- the question's form: analysed once, by the Rasa server's router -------------------------

def test_the_question_form_is_plain_json() -> None:
    form = question_form("Can I ask you to delete my data?")
    assert form == {"request_type": "deletion", "about_my_right": True, "personal": True}
    assert json.loads(json.dumps(form)) == form
    assert question_form("what do you collect") == {
        "request_type": None, "about_my_right": False, "personal": False}


def offers(tracker: Tracker) -> list[str]:
    messages, _ = run(ActionAnswerPrivacyQuestion(), tracker)
    return [m["response"] for m in messages if m["response"].startswith("utter_offer")]


def test_the_answer_reads_the_form_the_router_found() -> None:
    question = "what happens when data gets erased?"
    # Without the router's finding the action reads the text itself: a general question
    # about deletion gets the answer only.
    assert offers(tracker_after(question)) == []
    found = tracker_after(question)
    found.latest_message[QUESTION_FORM] = {"request_type": "deletion", "about_my_right": True,
                                           "personal": True}
    # With it, the router's reading is the one used: the deletion request is offered.
    assert offers(found) == ["utter_offer_request"]
    said_nothing = tracker_after("can I have my data deleted?")
    said_nothing.latest_message[QUESTION_FORM] = {"request_type": None,
                                                  "about_my_right": False, "personal": False}
    assert offers(said_nothing) == []
    assert offers(tracker_after("can I have my data deleted?")) == ["utter_offer_request"]


def test_knowledge_dir_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "privacy_statement.md").write_text(STATEMENT, "utf-8")
    monkeypatch.setenv("KNOWLEDGE_DIR", str(tmp_path))
    knowledge_base.cache_clear()
    try:
        messages, _ = run(ActionAnswerPrivacyQuestion(), tracker_after("do you use cookies?"))
    finally:
        knowledge_base.cache_clear()  # the later tests read the project's statement again
    assert messages[0]["heading"] == "Our Use of Cookies and Other Technologies"
