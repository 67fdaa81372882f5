"""Form validation and request-type detection for rights requests, as the action server
runs them (real domain, trackers built from events), and filing against a real backend when
calls fail and are retried. The conversations are covered end to end in
tests/e2e/test_rights_requests.py."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.api.errors import VerificationFailed
from actions.api.requests import FiledRequest, PrivacyRequestsClient, RequestStatus
from actions.request_types import detect_request_type
from actions.rights_requests import ActionSubmitRightsRequest, ValidateRightsRequestForm
from actions.status_lookup import ValidateStatusLookupForm
from actions.verification import ActionVerificationDone
from privacy_assistant.dates import long_date
from tests.actions import turns
from tests.actions.conftest import Backend, FlakyRelay
from tests.actions.turns import check, new_code, run


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


# --- filing against the real backend (tests/actions/conftest.py), with failures and retries ---

def confirmed(email: str, key: str) -> dict[str, Any]:
    """The slots of a request the visitor has just confirmed."""
    return {"request_type": "deletion", "requester_email": email, "requester_name": "-",
            "requester_region": "-", "authorized_agent": False, "request_confirmed": True,
            "request_key": key}


def file_directly(email: str, key: str, sender: str) -> FiledRequest:
    """The call the action made before its client timed out: the backend filed it."""
    with PrivacyRequestsClient.from_env() as client:
        return client.create_request("deletion", email, channel="rest",
                                     conversation_id=sender, idempotency_key=key)


def use_up(reference: str, code: str) -> None:
    """Type wrong codes until the request's code is locked."""
    wrong = "000000" if code != "000000" else "111111"
    with PrivacyRequestsClient.from_env() as client:
        for _ in range(5):
            with pytest.raises(VerificationFailed):
                client.verify_request(reference, wrong)


def test_a_retry_after_a_time_out_sends_a_new_code_before_saying_so(
    actions_backend: Backend
) -> None:
    """The first call filed the request and emailed a code, but the answer never came back;
    by the retry that code can no longer be typed. The retry emails a fresh one."""
    email, sender = "replay@example.com", "replay-visitor"
    mails = actions_backend.mail_count()
    filed = file_directly(email, "chat-replay-1", sender)
    use_up(filed.reference, new_code(actions_backend, mails))

    mails = actions_backend.mail_count()
    said, set_slots = run(ActionSubmitRightsRequest(), confirmed(email, "chat-replay-1"), sender)
    assert said == ["utter_code_sent"]
    assert set_slots["request_reference"] == filed.reference
    assert actions_backend.mail_count() == mails + 1
    code = new_code(actions_backend, mails)
    with PrivacyRequestsClient.from_env() as client:
        assert client.verify_request(filed.reference, code).status is RequestStatus.VERIFIED
    assert len(actions_backend.requests_of(email)) == 1


def test_a_delayed_code_email_is_said_to_be_delayed_and_the_request_is_kept(
    relay_down: tuple[Backend, FlakyRelay]
) -> None:
    """The relay is down: the request is filed all the same, and the bot says the code's
    email is delayed, not that it was emailed. Once the outbox has sent it, a retry of the
    same turn says it was emailed, and files nothing new."""
    backend, relay = relay_down
    email, sender = "delayed@example.com", "delayed-visitor"
    slots = confirmed(email, "chat-delayed-1")
    said, set_slots = run(ActionSubmitRightsRequest(), slots, sender)
    assert said == ["utter_code_delayed"]
    assert set_slots["request_reference"] and backend.mail_count() == 0
    relay.down = False
    assert backend.send_queued_mail() == 1 and backend.mail_count() == 1
    said, again = run(ActionSubmitRightsRequest(), slots, sender)
    assert said == ["utter_code_sent"]
    assert again["request_reference"] == set_slots["request_reference"]
    assert len(backend.requests_of(email)) == 1


def test_a_retry_that_cannot_send_a_new_code_does_not_say_one_was_sent(
    actions_backend: Backend
) -> None:
    email, sender = "replay.limited@example.com", "replay-limited-visitor"
    mails = actions_backend.mail_count()
    filed = file_directly(email, "chat-replay-2", sender)
    with PrivacyRequestsClient.from_env() as client:
        for _ in range(4):  # the address's hourly codes, all used
            client.resend_code(filed.reference)
    use_up(filed.reference, new_code(actions_backend, mails + 4))

    mails = actions_backend.mail_count()
    said, set_slots = run(ActionSubmitRightsRequest(), confirmed(email, "chat-replay-2"), sender)
    assert said == ["utter_too_many_codes"]
    assert set_slots == {"request_key": "chat-replay-2", "backend_outcome": "unavailable"}
    assert actions_backend.mail_count() == mails


def test_a_failed_read_after_the_code_keeps_the_request_and_try_again_files_nothing_new(
    actions_backend: Backend, down_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    email, sender = "verified.read@example.com", "read-visitor"
    slots = confirmed(email, "chat-read-1")
    mails = actions_backend.mail_count()
    said, set_slots = run(ActionSubmitRightsRequest(), slots, sender)
    assert said == ["utter_code_sent"]
    slots.update(set_slots)
    result, said = check(new_code(actions_backend, mails), slots, sender)
    assert said == [] and result["verification_code"] == "verified"
    proof = result["verification_id"]  # the request's code: the conversation's proof
    slots.update(result)
    # A tracker from before the code's answer was kept: the request is read back.
    del slots["filed_request"]

    monkeypatch.setenv("BACKEND_URL", down_url)  # the backend goes away after the code
    said, set_slots = run(ActionVerificationDone(), slots, sender)
    assert said == ["utter_backend_down"]
    assert set_slots["backend_outcome"] == "unavailable"
    assert set_slots["request_key"] == "chat-read-1"
    assert (set_slots["verified_email"], set_slots["verified_proof"]) == (email, proof)
    slots.update(set_slots)

    monkeypatch.setenv("BACKEND_URL", actions_backend.url)  # "try again"
    said, set_slots = run(ActionSubmitRightsRequest(), slots, sender)
    assert said[0] == "utter_request_filed"
    assert set_slots["backend_outcome"] == "verified" and set_slots["request_key"] is None
    [request] = actions_backend.requests_of(email)
    assert request["status"] == "verified"
    assert actions_backend.mail_count() == mails + 1  # and no second code


def test_the_confirmation_after_the_code_comes_from_the_codes_answer(
    actions_backend: Backend, down_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer to the correct code is the request itself: its confirmation needs no second
    call, so it is given even if the backend went away just after the code."""
    email, sender = "verified.once@example.com", "once-visitor"
    slots = confirmed(email, "chat-once-1")
    mails = actions_backend.mail_count()
    said, set_slots = run(ActionSubmitRightsRequest(), slots, sender)
    slots.update(set_slots)
    result, said = check(new_code(actions_backend, mails), slots, sender)
    [request] = actions_backend.requests_of(email)
    kept = result["filed_request"]
    assert kept == {"reference": request["reference"], "type": "deletion", "email": email,
                    "due_at": kept["due_at"], "awaiting_consumer": False,
                    "duplicate_of": None, "duplicate_of_due_at": None}
    slots.update(result)

    monkeypatch.setenv("BACKEND_URL", down_url)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionVerificationDone().run(
        dispatcher, turns.tracker(slots, sender=sender), {}))
    [filed, *quotes] = dispatcher.messages
    assert filed["response"] == "utter_request_filed" and quotes
    assert (filed["reference"], filed["email"]) == (request["reference"], email)
    due = datetime.fromisoformat(request["due_at"].replace("Z", "+00:00"))
    assert filed["due"] == long_date(due)
    set_slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert set_slots["filed_request"] is None and "backend_outcome" not in set_slots


def test_an_address_verified_earlier_files_the_request_verified_without_a_code(
    actions_backend: Backend
) -> None:
    """The conversation proved the address a moment ago (a marketing code): the request is
    filed verified with that proof, and no second code is emailed."""
    email, sender = "earlier@example.com", "earlier-visitor"
    proof = actions_backend.proof(email, sender)
    earlier = {"verified_email": email, "verified_until": time.time() + 600,
               "verified_proof": proof}
    mails = actions_backend.mail_count()
    said, set_slots = run(ActionSubmitRightsRequest(), {**confirmed(email, "chat-earlier"),
                                                        **earlier}, sender)
    assert said[0] == "utter_request_filed"
    assert set_slots["backend_outcome"] == "verified"
    assert actions_backend.mail_count() == mails
    [request] = actions_backend.requests_of(email)
    assert request["status"] == "verified"
    trail = actions_backend.staff("GET", f"/api/v1/requests/{request['reference']}/audit")
    assert [(e["actor"], e["action"]) for e in trail] == [
        ("assistant", "created"), ("assistant", "status_changed")]


def test_a_proof_the_backend_refuses_asks_for_a_code_instead(actions_backend: Backend) -> None:
    """The slot says verified, but the backend does not take the proof (here: another
    conversation's): the request is filed unverified and a code is emailed."""
    email, sender = "refused.proof@example.com", "refused-visitor"
    proof = actions_backend.proof(email, "another-conversation")
    earlier = {"verified_email": email, "verified_until": time.time() + 600,
               "verified_proof": proof}
    mails = actions_backend.mail_count()
    said, set_slots = run(ActionSubmitRightsRequest(), {**confirmed(email, "chat-refused"),
                                                        **earlier}, sender)
    assert said == ["utter_code_sent"]
    assert actions_backend.mail_count() == mails + 1
    [request] = actions_backend.requests_of(email)
    assert request["status"] == "pending_verification"


def _extracted(text: str, intent: str, entities: list[dict[str, Any]],
               slots: dict[str, Any] | None = None) -> dict[str, Any]:
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0},
               "entities": entities}
    events = [{"event": "user", "text": text, "parse_data": message}]
    state = Tracker("visitor", {"requested_slot": "request_type", **(slots or {})}, message,
                    events, False, None, {"name": "rights_request_form"}, "action_listen")
    return asyncio.run(ValidateRightsRequestForm().extract_request_type(
        CollectingDispatcher(), state, {}))


def test_the_offered_button_starts_the_request_it_names() -> None:
    """`/request_right{"request_type":"know"}` (the "Yes, start it" button) needs no words."""
    entity = [{"entity": "request_type", "value": "know"}]
    assert _extracted('/request_right{"request_type":"know"}', "request_right", entity) == {
        "request_type": "know"}
    unknown = [{"entity": "request_type", "value": "everything"}]
    assert _extracted('/inform{"request_type":"everything"}', "inform", unknown) == {}


@pytest.mark.parametrize("words", ["transfer me to a representative",
                                   "I want to complain about how you deleted my data"])
@pytest.mark.parametrize("intent", ["request_human", "escalate_topic"])
def test_asking_for_a_person_at_the_type_question_is_not_a_request_type(words: str,
                                                                        intent: str) -> None:
    assert _extracted(words, intent, []) == {}
    assert _extracted(words, "inform", []) != {}  # the words alone would name a type
