"""Form validation and request-type detection for rights requests, as the action server
runs them (real domain, trackers built from events). The backend calls themselves are
covered end to end in tests/e2e/test_rights_requests.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.request_types import detect_request_type
from actions.rights_requests import (
    ActionSubmitRightsRequest,
    ValidateRightsRequestForm,
    ValidateStatusLookupForm,
)


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        ("erase everything you have on me", "deletion"),
        ("please delete my account data", "deletion"),
        ("I want to be forgotten", "deletion"),
        ("send me a copy of my data", "access"),
        ("can I download my data", "access"),
        ("what have you collected about me specifically", "know"),
        ("I want to know what data you have on me", "know"),
        ("export my data to another provider", "portability"),
        ("transfer my info to another company", "portability"),
        ("my address is wrong", "correction"),
        ("update my personal information", "correction"),
        ("deletion", "deletion"),
        ("Right to know", "know"),
    ],
)
def test_request_type_from_the_visitors_words(words: str, kind: str) -> None:
    assert detect_request_type(words) == kind


@pytest.mark.parametrize("words", ["I want to make a privacy request", "hello", "", "yes"])
def test_no_request_type_when_the_words_name_none(words: str) -> None:
    assert detect_request_type(words) is None


def tracker(text: str, slots: dict[str, Any] | None = None,
            loop: str = "rights_request_form") -> Tracker:
    message = {"text": text, "intent": {"name": "inform", "confidence": 1.0}, "entities": []}
    events = [{"event": "user", "text": text, "parse_data": message}]
    return Tracker("visitor", slots or {}, message, events, False, None, {"name": loop},
                   "action_listen")


def validate(action: Any, slot: str, value: Any, slots: dict[str, Any] | None = None
             ) -> tuple[Any, list[str]]:
    dispatcher = CollectingDispatcher()
    method = getattr(action, f"validate_{slot}")
    result = method(value, dispatcher, tracker(str(value), slots), {})
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return result[slot], [m["response"] for m in dispatcher.messages]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("jane.doe@example.com", "jane.doe@example.com"),
        ("my email is Jane.Doe@Example.COM", "jane.doe@example.com"),
        ("<bob@example.org>.", "bob@example.org"),
    ],
)
def test_email_is_taken_from_what_the_visitor_typed(typed: str, stored: str) -> None:
    assert validate(ValidateRightsRequestForm(), "requester_email", typed) == (stored, [])


@pytest.mark.parametrize(
    "typed",
    ["jane at example dot com", "jane@", "a@b@c.com", "jane@example", "one@a.com two@b.com"],
)
def test_invalid_email_is_asked_again_with_the_reason(typed: str) -> None:
    value, said = validate(ValidateRightsRequestForm(), "requester_email", typed)
    assert value is None and said == ["utter_invalid_email"]


def test_oversize_answers_are_refused() -> None:
    value, said = validate(ValidateRightsRequestForm(), "requester_name", "x" * 201)
    assert value is None and said == ["utter_too_long"]
    assert validate(ValidateRightsRequestForm(), "requester_name", "  Jane   Doe ")[0] == "Jane Doe"


def test_correction_details_are_asked_only_for_corrections() -> None:
    form = ValidateRightsRequestForm()
    domain_slots = ["request_type", "correction_details", "requester_email"]
    for kind, expected in [("correction", domain_slots),
                           ("deletion", ["request_type", "requester_email"])]:
        slots = asyncio.run(form.required_slots(
            domain_slots, CollectingDispatcher(), tracker("x", {"request_type": kind}), {}))
        assert slots == expected


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("PR-7KQ2-M9XD", "PR-7KQ2-M9XD"), ("my reference is pr 7kq2 m9xd", "PR-7KQ2-M9XD"),
     ("PR7KQ2M9XD.", "PR-7KQ2-M9XD")],
)
def test_reference_is_normalised(typed: str, stored: str) -> None:
    assert validate(ValidateStatusLookupForm(), "lookup_reference", typed) == (stored, [])


def test_malformed_reference_is_asked_again() -> None:
    value, said = validate(ValidateStatusLookupForm(), "lookup_reference", "my request")
    assert value is None and said == ["utter_invalid_reference"]


def test_unconfirmed_request_is_not_filed() -> None:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionSubmitRightsRequest().run(
        dispatcher, tracker("no", {"request_confirmed": False, "request_type": "deletion"}), {}))
    assert [m["response"] for m in dispatcher.messages] == ["utter_request_not_confirmed"]
    assert {"event": "slot", "name": "backend_outcome", "value": "declined",
            "timestamp": None} in events
