"""Staff in Slack: asking the privacy team what the documents don't answer, and, for the
privacy team's own members, the request queue.

Who a Slack user is comes from the Slack channel (`channels/slack.py`), which adds it to each
message's metadata from Slack's own API (`users.info`, `conversations.members`). That metadata
is trusted only when the Rasa server says the message came in on the Slack channel: the web
widget sends metadata of its own choosing, but no client chooses its input channel.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api.errors import BackendError, NotFound
from actions.api.requests import QueueItem
from actions.common import call_backend
from actions.request_types import LABELS
from privacy_assistant.dates import long_date

SLACK = "slack"
_REFERENCE = re.compile(r"\bPR[\s-]*([A-Z0-9]{4})[\s-]?([A-Z0-9]{4})\b", re.I)
_OVERDUE = re.compile(r"\b(overdue|late|past due)\b", re.I)
QUEUE_DAYS = 7
SHOWN = 20


def slack_sender(tracker: Tracker) -> dict[str, Any] | None:
    """The Slack channel's record of who wrote the latest message, or None when it did not
    come in on the Slack channel."""
    if tracker.get_latest_input_channel() != SLACK:
        return None
    slack = (tracker.latest_message.get("metadata") or {}).get("slack")
    return slack if isinstance(slack, dict) else None


def question_before(tracker: Tracker) -> str:
    """What the staff member asked: their latest typed message that is not a button."""
    typed = [str(e.get("text") or "").strip() for e in tracker.events
             if e.get("event") == "user"]
    typed = [t for t in typed if t and not t.startswith("/")]
    return typed[-1] if typed else ""


class ActionAskPrivacyTeam(Action):
    """Post the staff member's question to the privacy team's channel, with a link back to
    the thread (the Slack channel does the posting and confirms it in the thread)."""

    def name(self) -> str:
        return "action_ask_privacy_team"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        if slack_sender(tracker) is None:
            # Outside Slack the privacy team is reached through a handoff.
            return [FollowupAction("action_handoff")]
        dispatcher.utter_message(json_message={
            "ask_privacy_team": {"question": question_before(tracker)}})
        return []


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def queue_line(item: QueueItem) -> str:
    """One request, with nothing about the person: reference, type, status, due date."""
    days = item.days_left
    left = (f"{_days(-days)} overdue" if days < 0 else "due today" if days == 0
            else f"{_days(days)} left")
    kind = LABELS.get(item.request_type, item.request_type)
    return (f"• {item.reference}: {kind}, {item.status.replace('_', ' ')}, "
            f"due {long_date(item.due_at)} ({left})")


class ActionRequestQueue(Action):
    """"requests due this week", "overdue requests", "status PR-XXXX-XXXX", for members of
    the privacy team's channel only; everyone else is told politely that it is not for them."""

    def name(self) -> str:
        return "action_request_queue"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        sender = slack_sender(tracker)
        if sender is None:
            dispatcher.utter_message(response="utter_queue_slack_only")
            return []
        if sender.get("privacy_team") is not True:
            dispatcher.utter_message(response="utter_queue_not_team")
            return []
        text = str(tracker.latest_message.get("text") or "")
        reference = _REFERENCE.search(text)
        try:
            if reference:
                ref = f"PR-{reference[1]}-{reference[2]}".upper()
                total, items = await call_backend(lambda c: c.queue(reference=ref))
                title = f"Request {ref}:"
            elif _OVERDUE.search(text):
                total, items = await call_backend(lambda c: c.queue(view="overdue"))
                title = "Overdue requests:"
            else:
                total, items = await call_backend(lambda c: c.queue(view="due", days=QUEUE_DAYS))
                title = (f"Open requests due within {QUEUE_DAYS} days, overdue ones first "
                         f"({total}):")
        except NotFound:
            dispatcher.utter_message(response="utter_queue_unknown_reference")
            return []
        except BackendError:
            dispatcher.utter_message(response="utter_queue_unavailable")
            return []
        if not items:
            dispatcher.utter_message(response="utter_queue_empty")
            return []
        lines = [queue_line(item) for item in items[:SHOWN]]
        if total > len(lines):
            lines.append(f"…and {total - len(lines)} more (see the console).")
        dispatcher.utter_message(response="utter_queue", title=title, lines="\n".join(lines))
        return []
