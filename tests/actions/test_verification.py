"""The code form for every purpose, as the action server runs it (trackers built from slots),
against a real backend (tests/actions/conftest.py): each purpose's flow checks its code, sends
a new one, and finishes its job. The conversations around the form are in tests/e2e."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions.api.requests import PrivacyRequestsClient, Purpose, RequestStatus
from actions.common import verification_flow
from actions.marketing import ActionStartMarketingVerification
from actions.rights_requests import ActionStartStatusLookup
from actions.verification import ActionResendCode, ActionVerificationDone, ValidateVerificationForm
from tests.actions.conftest import TOKEN, Backend


def tracker(slots: dict[str, Any], text: str = "") -> Tracker:
    message = {"text": text, "intent": {"name": "inform", "confidence": 1.0}, "entities": []}
    events = [{"event": "user", "text": text, "parse_data": message}]
    return Tracker("visitor", slots, message, events, False, None,
                   {"name": "verification_form"}, "action_listen")


def check(code: str, slots: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ValidateVerificationForm().validate_verification_code(
        code, dispatcher, tracker(slots, code), {}))
    return result, [m["response"] for m in dispatcher.messages]


def run(action: Action, slots: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The responses, and the slots the events set (the last value of each)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker(slots), {}))
    set_slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    return [m["response"] for m in dispatcher.messages], set_slots


def test_every_purpose_has_a_flow_once_the_sdk_has_loaded_the_actions() -> None:
    ActionExecutor().register_package("actions")
    assert [p for p in Purpose if verification_flow(p.value) is None] == []


def test_code_must_have_six_digits_before_the_backend_is_asked() -> None:
    result, said = check("12345", {"verification_purpose": Purpose.REQUEST.value,
                                   "request_reference": "PR-X"})
    assert result["verification_code"] is None and said == ["utter_code_format"]


@pytest.mark.parametrize("purpose", [None, "__other__", "status"])
def test_a_code_nothing_asked_for_ends_the_form(purpose: str | None) -> None:
    result, said = check("123456", {"verification_purpose": purpose})
    assert result == {"verification_code": "failed"} and said == ["utter_code_unusable"]
    said, _ = run(ActionResendCode(), {"verification_purpose": purpose})
    assert said == ["utter_code_unusable"]


# --- each purpose against the real backend ----------------------------------------------------

@pytest.fixture
def client(backend: Backend, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[PrivacyRequestsClient]:
    monkeypatch.setenv("BACKEND_URL", backend.url)
    monkeypatch.setenv("PRIVACY_API_TOKEN", TOKEN)
    with PrivacyRequestsClient(backend.url, TOKEN, timeout=5) as c:
        yield c


def new_code(backend: Backend, mails_before: int) -> str:
    """The code in the next mail (some are written just after the backend has answered)."""
    deadline = time.monotonic() + 5
    while backend.mail_count() <= mails_before:
        assert time.monotonic() < deadline, "no code was mailed"
        time.sleep(0.05)
    return backend.last_code()


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_a_filed_request_is_verified_and_confirmed(
    client: PrivacyRequestsClient, backend: Backend
) -> None:
    mails = backend.mail_count()
    created = client.create_request("deletion", "ann@example.com", conversation_id="visitor")
    slots = {"verification_purpose": Purpose.REQUEST.value,
             "request_reference": created.reference, "requester_email": "ann@example.com"}
    new_code(backend, mails)

    mails = backend.mail_count()
    assert run(ActionResendCode(), slots) == (["utter_code_sent"], {})
    code = new_code(backend, mails)

    result, said = check(wrong(code), slots)
    assert result == {"verification_code": None} and said == ["utter_wrong_code"]
    assert check(code, slots) == ({"verification_code": "verified"}, [])
    assert client.get_request(created.reference).status is RequestStatus.VERIFIED

    said, set_slots = run(ActionVerificationDone(), {**slots, "verification_code": "verified"})
    assert said == ["utter_request_filed", "utter_quote_no_guarantee",
                    "utter_quote_no_discrimination"]
    assert set_slots["verified_email"] == "ann@example.com"
    assert set_slots["request_reference"] is None and set_slots["verification_purpose"] is None


def test_a_status_lookup_shows_the_status(
    client: PrivacyRequestsClient, backend: Backend
) -> None:
    created = client.create_request("access", "ben@example.com")
    slots: dict[str, Any] = {"lookup_reference": created.reference,
                             "requester_email": "ben@example.com"}
    mails = backend.mail_count()
    said, set_slots = run(ActionStartStatusLookup(), slots)
    assert said == ["utter_status_code_sent"]
    assert set_slots["verification_purpose"] == Purpose.STATUS_LOOKUP.value
    slots.update(set_slots)
    new_code(backend, mails)

    mails = backend.mail_count()
    said, set_slots = run(ActionResendCode(), slots)
    assert said == ["utter_status_code_sent"]
    assert set_slots["verification_id"] != slots["verification_id"]
    slots.update(set_slots)
    code = new_code(backend, mails)

    assert check(code, slots) == (
        {"verification_code": "verified", "request_reference": created.reference}, [])
    said, set_slots = run(ActionVerificationDone(), {
        **slots, "verification_code": "verified", "request_reference": created.reference})
    assert said == ["utter_request_status"]
    assert set_slots["verified_email"] == "ben@example.com"


def test_marketing_choices_are_shown_once_the_code_is_right(
    client: PrivacyRequestsClient, backend: Backend
) -> None:
    slots: dict[str, Any] = {"requester_email": "cat@example.com", "marketing_action": "view"}
    mails = backend.mail_count()
    said, set_slots = run(ActionStartMarketingVerification(), slots)
    assert said == ["utter_code_sent"]
    assert set_slots["verification_purpose"] == Purpose.PREFERENCES.value
    slots.update(set_slots)
    new_code(backend, mails)

    mails = backend.mail_count()
    said, set_slots = run(ActionResendCode(), slots)
    assert said == ["utter_code_sent"]
    slots.update(set_slots)
    code = new_code(backend, mails)

    result, said = check(wrong(code), slots)
    assert result == {"verification_code": None} and said == ["utter_wrong_code"]
    assert check(code, slots) == ({"verification_code": "verified"}, [])
    said, set_slots = run(ActionVerificationDone(), {**slots, "verification_code": "verified"})
    assert said == ["utter_marketing_view"]
    assert set_slots["verified_email"] == "cat@example.com"
    assert set_slots["backend_outcome"] == "ok"
