""""What does that mean?" at any question of a form: say why the question is asked and what
a good answer looks like, then the form asks it again (rules in data/rules/explain.yml).
Outside a form, say what the last answer was and where to go next."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

# The slots whose question has an explanation of its own (`utter_explain_<slot>`).
EXPLAINED = frozenset({
    "request_type", "requester_email", "requester_name", "requester_region",
    "correction_details", "authorized_agent", "consumer_email", "request_confirmed",
    "verification_code",
    "lookup_reference", "appeal_reason", "marketing_channel", "marketing_topic", "opt_out_email",
})


class ActionExplainQuestion(Action):
    def name(self) -> str:
        return "action_explain_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        slot = tracker.get_slot("requested_slot") if tracker.active_loop.get("name") else None
        if slot in EXPLAINED:
            dispatcher.utter_message(response=f"utter_explain_{slot}")
        elif tracker.get_slot("last_question"):
            dispatcher.utter_message(response="utter_explain_answer")
        else:
            dispatcher.utter_message(response="utter_explain_nothing")
        return []
