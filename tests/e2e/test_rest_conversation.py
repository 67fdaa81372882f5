"""A short conversation with the real processes over Rasa's REST channel."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
import yaml

from privacy_assistant.stack import Stack
from privacy_kb.document import load_document
from tests.e2e.conftest import Chat, user_said

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def statement_text(stack: Stack) -> str:
    """The statement as a reader sees it (markdown rendered to plain text)."""
    return load_document(Path(stack.env["KNOWLEDGE_DIR"]) / "privacy_statement.md").plain


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_all_three_processes_answer_their_health_checks(stack: Stack) -> None:
    for service in stack.services:
        response = requests.get(service.health_url, headers=service.health_headers(), timeout=5)
        assert response.status_code == 200, service.name


def test_greeting_bot_challenge_and_capabilities(chat: Chat) -> None:
    greeting = chat.say("hello")
    assert "privacy assistant" in greeting[0]["text"]
    bot = chat.say("are you a bot?")
    assert "automated assistant" in bot[0]["text"]
    capabilities = chat.say("what can you do?")
    assert "privacy statement" in capabilities[0]["text"]


def test_statement_question_is_answered_with_a_quote_and_its_heading(
    chat: Chat, stack: Stack
) -> None:
    messages = chat.say("what data do you collect?")
    # One message for the quote and its heading, one for the citation data.
    assert len(messages) == 2 and "text" in messages[0] and "custom" in messages[1], messages
    text, citation = messages[0]["text"], messages[1]["custom"]["citation"]
    assert citation["heading"] in text
    assert citation["anchor"] in text  # the link to the section on the demo page
    assert isinstance(citation["score"], float)
    quote = re.search(r"“(.+)”", text, flags=re.S)
    assert quote, text
    # The quote is the statement's own words, not a paraphrase.
    assert normalise(quote.group(1)) in normalise(statement_text(stack))
    assert "collect" in citation["heading"].lower()


def test_tell_me_more_gives_a_different_passage(chat: Chat) -> None:
    first_text, first = chat.ask("what data do you collect?")
    second_text, second = chat.ask("tell me more")
    assert first is not None and second is not None
    assert second_text != first_text


def test_tell_me_more_quotes_nothing_that_does_not_answer(chat: Chat) -> None:
    """The statement says one thing about selling; "tell me more" does not quote an
    unrelated passage as if it said more."""
    _, first = chat.ask("do you sell my data?")
    _, second = chat.ask("tell me more")
    assert first is not None
    assert second is None


def test_off_topic_is_declined_without_policy_text(chat: Chat) -> None:
    text, citation = chat.ask("tell me a joke")
    assert citation is None
    assert "outside what I can help with" in text


def test_conversation_survives_a_rasa_restart(stack: Stack) -> None:
    sender = "e2e-restart"
    chat = Chat.of(stack, sender)
    chat.say("what data do you collect?")
    for name in stack.rasa_names():  # every replica, one after the other
        stack.restart(name)
    # The tracker came back from the SQL tracker store: "tell me more" still knows the
    # question asked before the restart.
    text, citation = chat.ask("tell me more")
    assert citation is not None, text
    assert user_said(stack, sender)[:2] == ["what data do you collect?", "tell me more"]


def _sample(kind: str, every: int) -> list[dict]:
    """Every n-th question of the knowledge tests' file, asked through the whole stack."""
    data = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "knowledge" / "questions.yml").read_text("utf-8"))
    items = [item if isinstance(item, dict) else {"q": item} for item in data[kind]]
    return [item for item in items if "known_miss" not in item][::every]


@pytest.mark.parametrize("item", _sample("answered", 8), ids=lambda item: item["q"])
def test_sample_of_visitor_questions_over_rest(chat: Chat, item: dict) -> None:
    _, citation = chat.ask(item["q"])
    expected = item["heading"] if isinstance(item["heading"], list) else [item["heading"]]
    assert citation is not None and citation["heading"] in expected


@pytest.mark.parametrize("item", _sample("declined", 4), ids=lambda item: item["q"])
def test_sample_of_off_topic_questions_over_rest(chat: Chat, item: dict) -> None:
    text, citation = chat.ask(item["q"])
    assert citation is None, text
    assert "“" not in text  # no quoted policy text
