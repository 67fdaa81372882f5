"""Every question of every form has the same ways out, end to end over REST: a statement
question is answered and the form asks its question again; "what does that mean?" explains
the question and asks it again; "talk to a person" hands off; "cancel" ends the flow;
"start over" asks the flow's first question again. What happened is read from the
conversation's tracker (which form is active, which question it asks, which actions ran).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from privacy_assistant.stack import Stack
from tests.e2e.conftest import Chat, last_turn

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

QUESTION = "do you sell my personal information?"
EXPLAIN = "what does that mean?"
PERSON = "I want to talk to a person"

# Each flow: how it starts, and an answer to each of its questions (a fresh address per
# conversation, since codes are limited per address).
FLOWS: dict[str, tuple[str, dict[str, str]]] = {
    "rights_request_form": ("/request_right", {
        "request_type": '/inform{"request_type": "correction"}',
        "correction_details": "my postal address is 12 Oak St, not 21 Oak St",
        "requester_email": "{email}",
        "requester_name": "/deny",
        "requester_region": "/deny",
        # An authorized agent's request, so that the consumer's address is asked too.
        "authorized_agent": "/affirm",
        "consumer_email": "consumer-{email}",
        "request_confirmed": "yes",
    }),
    "status_lookup_form": ("/check_request_status", {
        "lookup_reference": "PR-AB12-CD34",
        "requester_email": "{email}",
    }),
    "appeal_form": ("/appeal_request", {
        "lookup_reference": "PR-AB12-CD34",
        "requester_email": "{email}",
    }),
    # Opting in: an opt-out needs no code, so it would never reach the code question.
    "marketing_form": ("/subscribe_marketing", {
        "marketing_channel": "sms",
        "marketing_topic": "promotions",
        "requester_email": "{email}",
    }),
    "privacy_opt_out_form": ("/do_not_sell", {
        "opt_out_email": "{email}",
    }),
}
# The flows that end at the code question (a privacy opt-out needs no code).
CODE_FLOWS = ("rights_request_form", "status_lookup_form", "appeal_form", "marketing_form")
# Forms reached only through a real request's code: their questions' ways out are tried in
# their own end-to-end tests (the appeal's reason: tests/e2e/test_appeals_rest.py).
AFTER_A_CODE = ("appeal_reason_form",)
FIRST_SLOT = {form: next(iter(answers)) for form, (_, answers) in FLOWS.items()}
SLOTS = [(form, slot) for form, (_, answers) in FLOWS.items()
         for slot in [*answers, *(["verification_code"] if form in CODE_FLOWS else [])]]


class Visitor:
    def __init__(self, stack: Stack, form: str) -> None:
        self.stack = stack
        self.sender = f"hatch-{uuid.uuid4().hex[:12]}"
        self.chat = Chat.of(stack, self.sender)
        self.email = f"{self.sender}@example.com"
        self.opener, self.answers = FLOWS[form]

    def state(self) -> tuple[str | None, str | None, list[str]]:
        """The active form, the slot it asks for, and the actions of the last turn."""
        actions, loop, slots = last_turn(self.stack, self.sender)
        return loop, slots.get("requested_slot"), actions

    def say(self, text: str) -> list[dict[str, Any]]:
        return self.chat.say(text)

    def walk_to(self, slot: str) -> str:
        """Answer the form's questions until it asks for `slot`; the form asking it."""
        self.say(self.opener)
        for _ in range(12):
            loop, asked, _ = self.state()
            if asked == slot:
                assert loop is not None
                return loop
            assert asked in self.answers, f"form asks {asked!r} on the way to {slot!r}"
            self.say(self.answers[asked].replace("{email}", self.email))
        raise AssertionError(f"never asked for {slot}")


def _cited(messages: list[dict[str, Any]]) -> bool:
    return any("citation" in (m.get("custom") or {}) for m in messages)


@pytest.mark.parametrize(("form", "slot"), SLOTS)
def test_a_statement_question_is_answered_and_the_question_asked_again(
        stack: Stack, form: str, slot: str) -> None:
    visitor = Visitor(stack, form)
    loop = visitor.walk_to(slot)
    reply = visitor.say(QUESTION)
    assert _cited(reply), reply
    assert visitor.state()[:2] == (loop, slot)


@pytest.mark.parametrize(("form", "slot"), SLOTS)
def test_what_does_that_mean_explains_and_asks_again(stack: Stack, form: str,
                                                     slot: str) -> None:
    visitor = Visitor(stack, form)
    loop = visitor.walk_to(slot)
    reply = visitor.say(EXPLAIN)
    now_loop, now_slot, actions = visitor.state()
    assert "action_explain_question" in actions and not _cited(reply)
    assert (now_loop, now_slot) == (loop, slot)
    assert len([m for m in reply if m.get("text")]) >= 2  # the explanation, the question


@pytest.mark.parametrize(("form", "slot"), SLOTS)
def test_talk_to_a_person_hands_off(stack: Stack, form: str, slot: str) -> None:
    visitor = Visitor(stack, form)
    visitor.walk_to(slot)
    visitor.say(PERSON)
    loop, _, actions = visitor.state()
    assert "action_handoff" in actions and loop is None


@pytest.mark.parametrize(("form", "slot"), SLOTS)
def test_cancel_ends_the_flow(stack: Stack, form: str, slot: str) -> None:
    visitor = Visitor(stack, form)
    visitor.walk_to(slot)
    visitor.say("cancel")
    loop, _, actions = visitor.state()
    assert "action_cancel_request" in actions and loop is None


@pytest.mark.parametrize(("form", "slot"), SLOTS)
def test_start_over_asks_the_flows_first_question_again(stack: Stack, form: str,
                                                        slot: str) -> None:
    visitor = Visitor(stack, form)
    visitor.walk_to(slot)
    visitor.say("start over")
    loop, asked, actions = visitor.state()
    assert "action_restart_request" in actions
    assert (loop, asked) == (form, FIRST_SLOT[form])


def test_every_question_of_every_form_is_covered() -> None:
    """The table above names every question the domain's forms ask, and the code."""
    from privacy_assistant.domain import load_domain

    domain = load_domain()
    asked = {(form, slot) for form, spec in domain["forms"].items()
             for slot in spec["required_slots"]
             if form != "verification_form" and form not in AFTER_A_CODE}
    covered: set[tuple[str, str]] = {(f, s) for f, s in SLOTS if s != "verification_code"}
    assert asked == covered
    assert all((form, "verification_code") in SLOTS for form in CODE_FLOWS)
