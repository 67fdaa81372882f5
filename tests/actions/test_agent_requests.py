"""An authorized agent's request and a duplicate request in the rights request form, as the
action server runs them against a real backend (tests/actions/conftest.py): the consumer's
address is asked only of agents and may not be the agent's own; the code goes to the agent;
after it, the chat says the consumer must confirm, or which request a duplicate repeats,
instead of "filed". End to end: tests/e2e/test_agent_requests_rest.py."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.api.requests import PrivacyRequestsClient
from actions.rights_requests import (
    ActionAskRequestConfirmed,
    ActionSubmitRightsRequest,
    ValidateRightsRequestForm,
)
from actions.verification import ActionVerificationDone
from privacy_assistant.dates import long_date
from tests.actions import turns
from tests.actions.conftest import Backend
from tests.actions.turns import check, new_code, run

AGENT, CONSUMER = "agent.action@example.com", "consumer.action@example.com"
DOMAIN_SLOTS = ["request_type", "correction_details", "requester_email", "requester_name",
                "requester_region", "authorized_agent", "consumer_email", "request_confirmed"]


def form_tracker(slots: dict[str, Any]) -> Tracker:
    return turns.tracker(slots, loop="rights_request_form")


def test_the_consumers_address_is_asked_of_agents_only() -> None:
    form = ValidateRightsRequestForm()
    for agent, asked in [(True, True), (False, False), (None, False)]:
        slots = asyncio.run(form.required_slots(
            DOMAIN_SLOTS, CollectingDispatcher(),
            form_tracker({"request_type": "deletion", "authorized_agent": agent}), {}))
        assert ("consumer_email" in slots) is asked
        assert "correction_details" not in slots


def test_the_consumers_address_must_be_an_address_and_not_the_agents() -> None:
    form = ValidateRightsRequestForm()
    for typed, stored, said in [
        ("Consumer.Action@Example.com", CONSUMER, []),
        ("AGENT.action@example.com", None, ["utter_consumer_email_same"]),
        ("my client", None, ["utter_invalid_email"]),
    ]:
        dispatcher = CollectingDispatcher()
        result = form.validate_consumer_email(typed, dispatcher,
                                              form_tracker({"requester_email": AGENT}), {})
        assert result == {"consumer_email": stored}
        assert [m["response"] for m in dispatcher.messages] == said


def test_the_summary_names_the_consumer() -> None:
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAskRequestConfirmed().run(dispatcher, form_tracker({
        "request_type": "deletion", "requester_email": AGENT, "authorized_agent": True,
        "consumer_email": CONSUMER}), {}))
    [summary] = dispatcher.messages
    assert CONSUMER in summary["consumer"]
    assert summary["on_behalf"] == "yes, as an authorized agent"


def agents_request(key: str) -> dict[str, Any]:
    return {"request_type": "deletion", "requester_email": AGENT, "requester_name": "-",
            "requester_region": "California", "authorized_agent": True,
            "consumer_email": CONSUMER, "request_confirmed": True, "request_key": key}


def test_an_agents_request_is_filed_for_the_consumer_and_the_code_goes_to_the_agent(
    actions_backend: Backend
) -> None:
    sender = "agent-action-visitor"
    slots = agents_request("chat-agent-1")
    mails = actions_backend.mail_count()
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionSubmitRightsRequest().run(
        dispatcher, turns.tracker(slots, sender=sender), {}))
    [sent] = dispatcher.messages
    assert (sent["response"], sent["email"]) == ("utter_code_sent", AGENT)
    slots.update({e["name"]: e["value"] for e in events if e["event"] == "slot"})
    [request] = actions_backend.requests_of(CONSUMER)
    assert (request["email"], request["agent_email"]) == (CONSUMER, AGENT)
    assert request["authorized_agent"] is True

    code = new_code(actions_backend, mails)
    result, said = check(code, slots, sender)
    assert said == [] and result["verification_code"] == "verified"
    assert result["filed_request"]["awaiting_consumer"] is True
    slots.update(result)
    said, set_slots = run(ActionVerificationDone(), slots, sender)
    assert said == ["utter_request_awaiting_consumer"]  # not "filed", and no quotes
    assert set_slots["verified_email"] == AGENT
    [request] = actions_backend.requests_of(CONSUMER)
    assert request["status"] == "pending_verification" and request["awaiting_consumer"]


def test_a_request_that_repeats_an_open_one_says_which(actions_backend: Backend) -> None:
    """The conversation proved the address with the first request's code: the second one
    of the same type is filed at once, and linked to the first."""
    email, sender = "duplicate.action@example.com", "duplicate-action-visitor"
    mails = actions_backend.mail_count()
    with PrivacyRequestsClient.from_env() as client:
        first = client.create_request("access", email, channel="rest", conversation_id=sender)
        proof = client.verify_request(first.reference, new_code(actions_backend, mails))
    slots = {"request_type": "access", "requester_email": email, "requester_name": "-",
             "requester_region": "-", "authorized_agent": False, "request_confirmed": True,
             "request_key": "chat-duplicate-1", "verified_email": email,
             "verified_until": time.time() + 600, "verified_proof": proof.verification_id}
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionSubmitRightsRequest().run(
        dispatcher, turns.tracker(slots, sender=sender), {}))
    [said] = dispatcher.messages
    assert said["response"] == "utter_request_duplicate"
    assert said["first"] == first.reference
    assert said["due"] == long_date(datetime.fromisoformat(first.due_at.isoformat()))
    second = [r for r in actions_backend.requests_of(email) if r["reference"] != first.reference]
    assert [(r["status"], r["duplicate_of"]) for r in second] == [
        ("duplicate", first.reference)]
