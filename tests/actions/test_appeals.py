"""Appeals and the status answers of the request lifecycle, as the action server runs them
against a real backend (tests/actions/conftest.py): the appeal form's reference, the code of
an appeal, filing with the conversation's proof (and not without it), and what a status
lookup adds for a denied request, its appeal, a duplicate and an agent's request. The
conversations are covered end to end in tests/e2e/test_appeals_rest.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.api.requests import PrivacyRequestsClient
from actions.appeals import (
    ActionFileAppeal,
    ActionStartAppeal,
    ValidateAppealForm,
    ValidateAppealReasonForm,
)
from actions.cancel_restart import ActionCancelRequest, ActionRestartRequest
from actions.status_lookup import ActionStartStatusLookup
from actions.verification import ActionVerificationDone
from privacy_assistant.dates import long_date
from tests.actions.conftest import Backend
from tests.actions.turns import check, new_code, run, tracker


def opening(text: str, slots: dict[str, Any] | None = None) -> Tracker:
    """The tracker of the message that starts the appeal form (no question asked yet)."""
    message = {"text": text, "intent": {"name": "appeal_request", "confidence": 1.0},
               "entities": []}
    events = [{"event": "user", "text": text, "parse_data": message}]
    return Tracker("visitor", slots or {}, message, events, False, None,
                   {"name": "appeal_form"}, "action_listen")


def extracted(text: str, slots: dict[str, Any] | None = None) -> dict[str, Any]:
    return asyncio.run(ValidateAppealForm().extract_lookup_reference(
        CollectingDispatcher(), opening(text, slots), {}))


def test_the_reference_in_the_opening_message_is_taken() -> None:
    assert extracted("I want to appeal pr 7kq2 m9xd please") == {
        "lookup_reference": "PR-7KQ2-M9XD"}
    assert extracted("I want to appeal") == {}
    # Only before the form asks anything: an answer to another question is not a reference.
    assert extracted("PR-7KQ2-M9XD", {"requested_slot": "requester_email"}) == {}


def test_an_oversize_reason_is_refused() -> None:
    dispatcher = CollectingDispatcher()
    form = ValidateAppealReasonForm()
    assert form.validate_appeal_reason("x" * 2001, dispatcher, opening("x"), {}) == {
        "appeal_reason": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_too_long"]
    assert form.validate_appeal_reason("  it  was wrong ", dispatcher, opening("x"), {}) == {
        "appeal_reason": "it was wrong"}


def test_start_over_at_the_reason_asks_for_the_reference_again() -> None:
    dispatcher = CollectingDispatcher()
    slots = {"appeal_stage": "reason", "appeal_for": "PR-7KQ2-M9XD", "appeal_reason": None,
             "requested_slot": "appeal_reason"}
    events = asyncio.run(ActionRestartRequest().run(
        dispatcher, tracker(slots, loop="appeal_reason_form"), {}))
    assert {"event": "followup", "name": "appeal_form", "timestamp": None} in events
    cleared = {e["name"] for e in events if e["event"] == "slot" and e["value"] is None}
    assert {"appeal_stage", "appeal_for", "appeal_reason"} <= cleared


def test_cancel_at_the_reason_forgets_the_appeal() -> None:
    said, set_slots = run(ActionCancelRequest(), {"appeal_stage": "reason",
                                                  "appeal_for": "PR-7KQ2-M9XD"})
    assert said == ["utter_cancelled"]
    assert set_slots["appeal_stage"] is None and set_slots["appeal_for"] is None


# --- against the real backend ------------------------------------------------------------------

def filed(backend: Backend, email: str, region: str = "Virginia") -> str:
    """A request filed and verified as the assistant does it; its reference."""
    mails = backend.mail_count()
    with PrivacyRequestsClient.from_env() as client:
        request = client.create_request("deletion", email, region=region, channel="rest")
        client.verify_request(request.reference, new_code(backend, mails))
    return request.reference


def deny(backend: Backend, reference: str) -> None:
    backend.staff("PATCH", f"/api/v1/requests/{reference}",
                  json={"status": "rejected", "note": "We found no account for this address."})


def prove(backend: Backend, reference: str, email: str, sender: str,
          start: Any = None) -> dict[str, Any]:
    """The appeal form's answers, its code sent and typed, and the code form finished: the
    slots as the conversation holds them then, and what the finish said."""
    slots: dict[str, Any] = {"lookup_reference": reference, "requester_email": email}
    mails = backend.mail_count()
    said, set_slots = run(start or ActionStartAppeal(), slots, sender)
    assert said[0] in ("utter_appeal_code_sent", "utter_status_code_sent")
    slots.update(set_slots)
    result, said = check(new_code(backend, mails), slots, sender)
    assert said == [] and result["verification_code"] == "verified"
    slots.update(result)
    said, set_slots = run(ActionVerificationDone(), slots, sender)
    slots.update(set_slots)
    slots["said"] = said
    return slots


def test_a_denied_request_is_appealed_with_the_reason_and_its_due_date_is_said(
    actions_backend: Backend
) -> None:
    email, sender = "appeal.action@example.com", "appeal-action-visitor"
    reference = filed(actions_backend, email)
    deny(actions_backend, reference)

    slots = prove(actions_backend, reference, email, sender)
    assert slots["said"] == []
    assert (slots["appeal_stage"], slots["appeal_for"]) == ("reason", reference)

    slots["appeal_reason"] = "I do have an account, under this very address."
    said, set_slots = run(ActionFileAppeal(), slots, sender)
    assert said == ["utter_appeal_filed"]
    assert all(set_slots[name] is None for name in ("appeal_stage", "appeal_for",
                                                     "appeal_reason"))
    [appeal] = [a for a in actions_backend.staff("GET", "/api/v1/appeals")
                if a["request_reference"] == reference]
    assert appeal["status"] == "open"
    due = datetime.fromisoformat(appeal["due_at"].replace("Z", "+00:00"))
    # Virginia decides appeals within 60 days of receipt.
    assert due.date() == datetime.now(timezone.utc).date() + timedelta(days=60)

    # Filing again (a second conversation) says it is filed already, with the same appeal.
    again = prove(actions_backend, reference, email, "appeal-action-again")
    assert again["said"] == ["utter_appeal_exists"]
    assert "appeal_stage" not in again or again["appeal_stage"] is None
    assert len([a for a in actions_backend.staff("GET", "/api/v1/appeals")
                if a["request_reference"] == reference]) == 1


def test_the_appeal_needs_the_proof_of_this_conversation(actions_backend: Backend) -> None:
    """A conversation whose proof is gone (or was never there) files nothing: the slots alone
    are not enough."""
    email, sender = "appeal.noproof@example.com", "appeal-noproof-visitor"
    reference = filed(actions_backend, email)
    deny(actions_backend, reference)
    forged = {"appeal_stage": "reason", "appeal_for": reference,
              "appeal_reason": "Let me appeal", "verified_email": email,
              "verified_until": 9e12, "verified_proof": "not-a-verification"}
    said, _ = run(ActionFileAppeal(), forged, sender)
    assert said == ["utter_appeal_proof_expired"]
    # Another conversation's real proof of the address does not do either.
    proved = prove(actions_backend, reference, email, "someone-else")
    said, _ = run(ActionFileAppeal(), {**forged, "verified_proof": proved["verified_proof"]},
                  sender)
    assert said == ["utter_appeal_proof_expired"]
    assert [a for a in actions_backend.staff("GET", "/api/v1/appeals")
            if a["request_reference"] == reference] == []


def test_a_request_that_is_not_denied_cannot_be_appealed(actions_backend: Backend) -> None:
    email, sender = "appeal.open@example.com", "appeal-open-visitor"
    reference = filed(actions_backend, email)
    slots = prove(actions_backend, reference, email, sender)
    assert slots["said"] == ["utter_appeal_not_denied"]
    assert slots.get("appeal_stage") is None


def status_answer(backend: Backend, reference: str, email: str, sender: str
                  ) -> list[str]:
    return list(prove(backend, reference, email, sender, ActionStartStatusLookup())["said"])


def test_the_status_of_a_denied_request_says_how_to_appeal_then_the_appeal(
    actions_backend: Backend
) -> None:
    email = "status.denied@example.com"
    reference = filed(actions_backend, email)
    deny(actions_backend, reference)
    assert status_answer(actions_backend, reference, email, "status-denied-1") == [
        "utter_request_status", "utter_status_how_to_appeal"]
    actions_backend.staff("POST", f"/api/v1/requests/{reference}/appeals",
                          json={"reason": "Please look again", "channel": "rest"})
    assert status_answer(actions_backend, reference, email, "status-denied-2") == [
        "utter_request_status", "utter_status_appeal"]


def test_the_status_of_a_duplicate_names_the_first_request(actions_backend: Backend) -> None:
    email = "status.duplicate@example.com"
    first = filed(actions_backend, email)
    second = filed(actions_backend, email)
    [request] = [r for r in actions_backend.requests_of(email) if r["reference"] == second]
    assert (request["status"], request["duplicate_of"]) == ("duplicate", first)
    slots: dict[str, Any] = {"lookup_reference": second, "requester_email": email}
    mails = actions_backend.mail_count()
    _, set_slots = run(ActionStartStatusLookup(), slots, "status-duplicate")
    slots.update(set_slots)
    result, _ = check(new_code(actions_backend, mails), slots, "status-duplicate")
    slots.update(result)
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionVerificationDone().run(
        dispatcher, tracker(slots, sender="status-duplicate"), {}))
    [status, duplicate] = dispatcher.messages
    assert status["response"] == "utter_request_status"
    assert duplicate["response"] == "utter_status_duplicate"
    [original] = [r for r in actions_backend.requests_of(email) if r["reference"] == first]
    due = datetime.fromisoformat(original["due_at"].replace("Z", "+00:00"))
    assert (duplicate["first"], duplicate["due"]) == (first, long_date(due))
