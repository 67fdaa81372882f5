"""Hand a conversation to a person: when the visitor asks for one, when a topic needs one
(a complaint, a legal threat, a child's data), or after two messages in a row the assistant
did not understand. The backend records the handoff for the agent console; the bot pauses
itself so that the agent's replies are the only ones, and resumes when the agent hands back.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api.base import call_off_loop
from actions.api.errors import BackendError
from actions.api.handoffs import HandoffsClient
from actions.api.requests import Channel
from actions.common import CHANNELS
from privacy_assistant.code_mask import mask_codes

REASONS = {
    "request_human": "The visitor asked for a person.",
    "escalate_topic": "A topic that needs a person (complaint, legal, a child's data).",
    "nlu_fallback": "The assistant did not understand two messages in a row.",
}
# Channels where an agent's messages reach the visitor at once (Rasa pushes them).
LIVE_CHANNELS = {Channel.WEB}
SUMMARY_MESSAGES = 5
SUMMARY_CHARS = 500


def handoffs_client() -> HandoffsClient:
    return HandoffsClient.from_env()


def summary(tracker: Tracker) -> str:
    """The visitor's last few messages, for the agent's queue (buttons show as their intent)."""
    said = [str(e.get("text") or "") for e in tracker.events if e.get("event") == "user"]
    text = " / ".join(s for s in said[-SUMMARY_MESSAGES:] if s)
    # A one-time code typed in the chat ("123456", "123 456", "1 2 3 4 5 6") has no business
    # in the agents' queue or the privacy team's Slack channel.
    return mask_codes(text)[:SUMMARY_CHARS]


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name", "request_human")
        if tracker.get_latest_input_channel() == "slack":
            # Staff reach the privacy team in its own Slack channel, not in the console.
            return [FollowupAction("action_ask_privacy_team")]
        channel = CHANNELS.get(tracker.get_latest_input_channel() or "", None)
        if channel not in LIVE_CHANNELS:
            # An agent's replies are pushed to the visitor; a request/response channel such
            # as REST cannot receive them, so no live handoff is queued there.
            dispatcher.utter_message(response="utter_handoff_not_live")
            return []

        try:
            handoff = await call_off_loop(handoffs_client, lambda client: client.create(
                conversation_id=tracker.sender_id, channel=channel.value,
                reason=REASONS.get(intent, REASONS["request_human"]), summary=summary(tracker)))
        except BackendError:
            dispatcher.utter_message(response="utter_handoff_failed")
            return []
        if handoff.agents_online < 1:
            # The request stays in the queue; an agent who takes it later pauses the bot.
            dispatcher.utter_message(response="utter_handoff_no_agents")
            return []
        dispatcher.utter_message(response="utter_handoff_connecting")
        # A paused conversation never runs the action_listen that would follow this action;
        # record it first, so that when the agent hands back the tracker is in the listening
        # state the rules expect (otherwise the handback intent falls through to fallback).
        return [ActionExecuted("action_listen"), ConversationPaused()]
