"""The code form for every purpose, as the action server runs it (trackers built from slots),
against a real backend (tests/actions/conftest.py): each purpose's flow checks its code, sends
a new one, and finishes its job. The conversations around the form are in tests/e2e."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions.api.errors import VerificationFailed
from actions.api.requests import PrivacyRequestsClient, Purpose, RequestStatus
from actions.common import verification_flow
from actions.marketing import ActionStartMarketingVerification
from actions.status_lookup import ActionStartStatusLookup
from actions.verification import ActionResendCode, ActionVerificationDone
from privacy_backend.services import verification as backend_codes
from tests.actions.conftest import TOKEN, Backend
from tests.actions.turns import check, new_code, run, tracker


def test_every_purpose_has_a_flow_once_the_sdk_has_loaded_the_actions() -> None:
    ActionExecutor().register_package("actions")
    assert [p for p in Purpose if verification_flow(p.value) is None] == []


@pytest.mark.parametrize("typed", ["12345", "1234567", "12345678", "1234567890"])
def test_code_must_have_six_or_nine_digits_before_the_backend_is_asked(typed: str) -> None:
    result, said = check(typed, {"verification_purpose": Purpose.REQUEST.value,
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
    result, said = check(code, slots)
    assert said == [] and result["verification_code"] == "verified"
    proof = result["verification_id"]  # the verification the request's code confirmed
    assert client.get_request(created.reference, verification_id=proof,
                              conversation_id="visitor").status is RequestStatus.VERIFIED

    said, set_slots = run(ActionVerificationDone(), {**slots, **result})
    assert said == ["utter_request_filed", "utter_quote_no_guarantee",
                    "utter_quote_no_discrimination"]
    assert (set_slots["verified_email"], set_slots["verified_proof"]) == ("ann@example.com",
                                                                          proof)
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
    assert set_slots["verified_proof"] == slots["verification_id"]


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


# --- what an attacker can and cannot do with a status lookup ----------------------------------

def test_a_lookup_for_someone_elses_address_verifies_nothing(
    client: PrivacyRequestsClient, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eve looks up a made-up reference with Ann's address and types the very code the
    backend drew for that lookup: the conversation is not verified for Ann's address."""
    monkeypatch.setattr(backend_codes, "generate_code", lambda: "123456")
    slots: dict[str, Any] = {"lookup_reference": "PR-2222-3333",
                             "requester_email": "ann.victim@example.com"}
    mails = backend.mail_count()
    said, set_slots = run(ActionStartStatusLookup(), slots, sender="eve")
    assert said == ["utter_status_code_sent"]  # what a match would be told, too
    slots.update(set_slots)
    result, said = check("123456", slots, sender="eve")
    assert result == {"verification_code": None} and said == ["utter_wrong_code"]
    said, set_slots = run(ActionVerificationDone(), {**slots, "verification_code": None},
                          sender="eve")
    assert said == [] and "verified_email" not in set_slots
    assert backend.mail_count() == mails  # and Ann was never written to


def test_a_nine_digit_code_is_announced_and_taken_as_mailed(
    client: PrivacyRequestsClient, backend: Backend
) -> None:
    """While the address is over its guessing limit, its codes have 9 digits: the bot says
    so, and the code typed as mailed ("123 456 789") verifies."""
    email = "dee@example.com"
    for i in range(2):  # two codes guessed wrong as often as allowed: over the limit
        sent = client.start_verification(email, Purpose.PREFERENCES, conversation_id=f"eve-{i}")
        for _ in range(5):
            with pytest.raises(VerificationFailed):
                client.confirm_verification(sent.verification_id, "000000")
    slots: dict[str, Any] = {"requester_email": email, "marketing_action": "view"}
    mails = backend.mail_count()
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionStartMarketingVerification().run(
        dispatcher, tracker(slots, loop=None), {}))
    assert [(m["response"], m["digits"]) for m in dispatcher.messages] == [
        ("utter_code_sent", 9)]
    slots.update({e["name"]: e["value"] for e in events if e["event"] == "slot"})
    code = new_code(backend, mails)
    assert len(code) == 11 and code.count(" ") == 2, code
    assert check(code, slots) == ({"verification_code": "verified"}, [])
