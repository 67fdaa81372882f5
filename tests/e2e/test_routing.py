"""Questions answered, requests acted on, end to end over REST (issue #10).

One sample per class of message the issue names, each checked for where it went (read from
the tracker) and for what the visitor saw; and the held-out set
(`tests/heldout/routing.yml`, never trained or tuned on) with floors at the scores recorded
in docs/benchmarks.md, so that understanding cannot quietly get worse.
"""

from __future__ import annotations

from typing import Any

import pytest

from privacy_assistant import routing_eval
from privacy_assistant.stack import Stack
from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import Chat, last_turn, rasa_tracker

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HELD_OUT = PROJECT_ROOT / "tests" / "heldout" / "routing.yml"
# The held-out scores (docs/benchmarks.md, "Routing", "Reproducible training"): the lowest
# that four trainings reached (one before the Slack intents, three of one commit's data).
# `make train` is deterministic, so one commit always scores the same; the floors leave room
# for the spread between trainings that a change to the domain alone causes (requests 93 to
# 98), and a test fails below it.
FLOORS = {"answer": 107 / 139, "request": 93 / 110, "status": 12 / 15, "marketing": 17 / 19,
          "handoff": 15 / 15, "decline": 29 / 29}
# Statement questions that started a request, status, marketing or handoff flow in that run.
MAX_QUESTIONS_INTO_FLOWS = 1


def _turn(stack: Stack, chat: Chat, text: str) -> tuple[list[dict[str, Any]], list[str], Any]:
    """The replies, the actions the turn ran, and the active form after it."""
    replies = chat.say(text)
    actions, loop, _ = last_turn(stack, chat.sender)
    return replies, actions, loop


def _citation(replies: list[dict[str, Any]]) -> dict[str, Any] | None:
    found = [m["custom"]["citation"] for m in replies
             if "citation" in (m.get("custom") or {})]
    return found[0] if found else None


# Issue #20's answer engine declines these: its calibrated probability is below the threshold.
# The visitor still gets "the statement doesn't cover that" and, for a right, the offer.
DECLINED = "declined by the calibrated answer engine (issue #20)"


@pytest.mark.parametrize(("text", "offer"), [
    # A question about a right: the statement's answer, then the offer to file it.
    ("could I ask you to erase my details?", "/request_right"),
    pytest.param("is it possible to get my data as a file?", None, marks=pytest.mark.xfail(
        strict=True, reason=DECLINED)),
    pytest.param("am I able to see what you know about me?", None, marks=pytest.mark.xfail(
        strict=True, reason=DECLINED)),
    # A question that mentions a request, a page or a visit: not the status lookup.
    ("do you record which links I click?", None),
    ("can I mail my request instead of emailing it?", None),
    # A question about support calls: not a handoff.
    ("do you listen in on calls to your help desk?", None),
    # Residency, phishing, marketing questions: answered.
    ("I live in Nevada, does any of this apply to me?", None),
    ("would you ever email me asking for my login?", None),
    pytest.param("do partners send me ads on your behalf?", None, marks=pytest.mark.xfail(
        strict=True, reason=DECLINED)),
])
def test_a_question_is_answered_from_the_statement(stack: Stack, text: str,
                                                   offer: str | None) -> None:
    chat = Chat.of(stack, f"route-q-{abs(hash(text))}")
    replies, actions, loop = _turn(stack, chat, text)
    assert "action_answer_privacy_question" in actions and loop is None
    assert "action_handoff" not in actions
    citation = _citation(replies)
    assert citation is not None, replies
    assert citation["heading"] in " ".join(m.get("text", "") for m in replies)
    if offer is not None:
        payloads = [b["payload"] for m in replies for b in m.get("buttons", [])]
        assert any(p.startswith(offer) for p in payloads), replies


def test_the_offer_after_a_question_about_a_right_starts_that_request(stack: Stack) -> None:
    chat = Chat.of(stack, "route-offer")
    replies, _, _ = _turn(stack, chat, "could I ask you to erase my details?")
    [payload] = [b["payload"] for m in replies for b in m.get("buttons", [])
                 if b["payload"].startswith("/request_right")]
    _, actions, loop = _turn(stack, chat, payload)
    assert loop == "rights_request_form"
    assert rasa_tracker(stack, chat.sender)["slots"]["request_type"] == "deletion"


@pytest.mark.parametrize(("text", "loop", "request_type"), [
    ("delete my data", "rights_request_form", "deletion"),
    ("give me my data as a csv file", "rights_request_form", "portability"),
    ("where is my request PR-AB12-CD34?", "status_lookup_form", None),
    ("stop sending me promo emails", "marketing_form", None),
])
def test_a_request_starts_its_flow_at_once(stack: Stack, text: str, loop: str,
                                           request_type: str | None) -> None:
    chat = Chat.of(stack, f"route-r-{abs(hash(text))}")
    replies, actions, active = _turn(stack, chat, text)
    assert active == loop and _citation(replies) is None
    if request_type:
        assert rasa_tracker(stack, chat.sender)["slots"]["request_type"] == request_type


def test_a_wish_for_a_person_hands_off(stack: Stack) -> None:
    chat = Chat.of(stack, "route-person")
    _, actions, loop = _turn(stack, chat, "can I talk to a person please")
    assert "action_handoff" in actions and loop is None


def test_the_held_out_set_keeps_its_scores(stack: Stack) -> None:
    """Every held-out message as a new conversation; each expected route scores at least
    the floor recorded when the set was last run (docs/benchmarks.md)."""
    outcomes = routing_eval.evaluate(routing_eval.Assistant(stack.env),
                                     routing_eval.load_items(HELD_OUT))
    scores = routing_eval.scores(outcomes)
    print(routing_eval.table(outcomes))
    assert set(scores) == set(FLOORS)
    below = {route: (round(score, 3), FLOORS[route]) for route, score in scores.items()
             if score + 1e-9 < FLOORS[route]}
    assert not below, below
    # The target is none; no more statement questions start a flow than in that run.
    into_flows = [o.text for o in outcomes if o.expect == "answer"
                  and o.route in ("request", "status", "marketing", "handoff")]
    assert len(into_flows) <= MAX_QUESTIONS_INTO_FLOWS, into_flows

