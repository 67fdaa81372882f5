"""Staff in Slack: the privacy team's queue and asking the team, tried from the attacker's
side (a widget that claims to be Slack, a colleague who is not on the team), and answers from
the internal documents for Slack only. The queue is read from a real backend
(tests/actions/conftest.py)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import ActionAnswerPrivacyQuestion
from actions.staff import ActionAskPrivacyTeam, ActionRequestQueue
from tests.actions.conftest import Backend

TEAM = {"user": "U0PRIYA", "email": "priya@acme.example", "privacy_team": True}
COLLEAGUE = {"user": "U0SAM", "email": "sam@acme.example", "privacy_team": False}


def tracker(text: str, channel: str, slack: dict[str, Any] | None,
            before: tuple[str, ...] = ()) -> Tracker:
    metadata = {"slack": slack} if slack is not None else {}
    message = {"text": text, "intent": {"name": "request_queue", "confidence": 1.0},
               "entities": [], "metadata": metadata}
    events = [{"event": "user", "text": t, "input_channel": channel,
               "parse_data": {"text": t}} for t in before]
    events.append({"event": "user", "text": text, "input_channel": channel,
                   "parse_data": message, "metadata": metadata})
    return Tracker("slack:T0:D0", {}, message, events, False, None, {}, "action_listen")


def run(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher.messages, events


def file_request(backend: Backend, email: str) -> str:
    filed = backend.staff("POST", "/api/v1/requests", json={
        "type": "access", "email": email, "name": "Secret Name", "details": "my secret"})
    return str(filed["reference"])


def test_the_team_gets_a_request_without_personal_data(actions_backend: Backend) -> None:
    email = f"queue-{uuid.uuid4().hex[:6]}@example.com"
    reference = file_request(actions_backend, email)
    [said], _ = run(ActionRequestQueue(), tracker(f"status {reference.lower()}", "slack", TEAM))
    assert said["response"] == "utter_queue"
    assert reference in said["lines"] and "access" in said["lines"]
    shown = str(said)
    assert email not in shown and "Secret Name" not in shown and "my secret" not in shown


def test_the_team_gets_what_is_due_and_what_is_overdue(actions_backend: Backend) -> None:
    reference = file_request(actions_backend, f"due-{uuid.uuid4().hex[:6]}@example.com")
    [overdue], _ = run(ActionRequestQueue(), tracker("overdue requests", "slack", TEAM))
    # Filed today: due in weeks, so in neither list of the next 7 days.
    assert reference not in str(overdue)
    [due], _ = run(ActionRequestQueue(), tracker("requests due this week", "slack", TEAM))
    assert reference not in str(due)
    assert {overdue["response"], due["response"]} <= {"utter_queue", "utter_queue_empty"}


def test_a_colleague_off_the_team_is_refused(actions_backend: Backend) -> None:
    reference = file_request(actions_backend, f"no-{uuid.uuid4().hex[:6]}@example.com")
    [said], _ = run(ActionRequestQueue(), tracker(f"status {reference}", "slack", COLLEAGUE))
    assert said["response"] == "utter_queue_not_team"
    assert reference not in str(said)


def test_a_widget_claiming_to_be_the_privacy_team_is_refused(actions_backend: Backend) -> None:
    """Metadata is the client's to choose on the widget; the input channel is not."""
    reference = file_request(actions_backend, f"forged-{uuid.uuid4().hex[:6]}@example.com")
    for channel in ("socketio", "rest"):
        [said], _ = run(ActionRequestQueue(), tracker(f"status {reference}", channel, TEAM))
        assert said["response"] == "utter_queue_slack_only"
        assert reference not in str(said)


def test_an_unknown_reference_and_a_backend_that_is_down(actions_backend: Backend,
                                                         down_url: str,
                                                         monkeypatch: Any) -> None:
    [said], _ = run(ActionRequestQueue(), tracker("status PR-ZZZZ-ZZZZ", "slack", TEAM))
    assert said["response"] == "utter_queue_unknown_reference"
    monkeypatch.setenv("BACKEND_URL", down_url)
    [said], _ = run(ActionRequestQueue(), tracker("overdue requests", "slack", TEAM))
    assert said["response"] == "utter_queue_unavailable"


def test_asking_the_team_posts_the_question_before_the_button() -> None:
    t = tracker("/ask_privacy_team", "slack", COLLEAGUE,
                before=("hi", "can we keep call recordings for five years?"))
    [said], events = run(ActionAskPrivacyTeam(), t)
    assert said["custom"] == {"ask_privacy_team": {
        "question": "can we keep call recordings for five years?"}}
    assert events == []


def test_outside_slack_asking_the_team_is_a_handoff() -> None:
    [], events = run(ActionAskPrivacyTeam(), tracker("/ask_privacy_team", "socketio", TEAM))
    assert events == [{"event": "followup", "timestamp": None, "name": "action_handoff"}]


def test_the_handbook_is_quoted_in_slack_only() -> None:
    question = "how long do we keep support tickets?"
    [slack], _ = run(ActionAnswerPrivacyQuestion(), tracker(question, "slack", COLLEAGUE))
    assert slack["response"] == "utter_answer_from_statement"
    assert slack["heading"] == "Retention Schedule"
    assert slack["link"].startswith("https://intranet.example.com/")
    for channel in ("socketio", "rest"):
        said, _ = run(ActionAnswerPrivacyQuestion(), tracker(question, channel, TEAM))
        assert "intranet.example.com" not in str(said)
        assert all(m.get("heading") != "Retention Schedule" for m in said)
