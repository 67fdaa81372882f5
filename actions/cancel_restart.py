"""Cancel and start over, at any question of a flow: a rights request, a status lookup, an
appeal, a marketing change, or the code question of one of them (rules in data/rules/)."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    APPEAL_FLOW,
    APPEAL_SLOTS,
    REQUEST_SLOTS,
    VERIFICATION_SLOTS,
    Purpose,
    reset,
)
from actions.settings import settings


class ActionCancelRequest(Action):
    """"Cancel": end the form under way and forget its answers. A request already filed and
    waiting for its code stays filed: the visitor is told it closes by itself."""

    def name(self) -> str:
        return "action_cancel_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        loop = (tracker.active_loop or {}).get("name")
        filed_unverified = loop == "verification_form" and (
            tracker.get_slot("verification_purpose") == Purpose.REQUEST)
        if filed_unverified:
            # The request stays filed, unverified, until the backend closes it.
            dispatcher.utter_message(response="utter_cancelled_unverified",
                                     days=settings().unverified_close_days)
        else:
            dispatcher.utter_message(response="utter_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None),
                *reset(*REQUEST_SLOTS, *VERIFICATION_SLOTS, *APPEAL_SLOTS)]


# The form "start over" goes back to, by what the code being awaited is for.
RESTART_FORMS = {Purpose.REQUEST.value: "rights_request_form",
                 Purpose.STATUS_LOOKUP.value: "status_lookup_form",
                 Purpose.PREFERENCES.value: "marketing_form",
                 APPEAL_FLOW: "appeal_form"}
# Forms that start over at their own first question (the rule starts the rights request form).
OWN_RESTART = ("status_lookup_form", "appeal_form", "marketing_form", "privacy_opt_out_form")
# Marketing answers that "start over" clears; the choice itself (opt out, opt in, view) stays.
MARKETING_ANSWERS = ("marketing_channel", "marketing_topic", "marketing_key")


class ActionRestartRequest(Action):
    """"Start over": clear the answers and ask the first question of the same flow again. The
    rule that runs this goes on to the rights request form (a rights request, or no flow
    under way); a status lookup or a marketing change restarts its own form instead, and so
    does the code question of one (`verification_purpose` says which)."""

    def name(self) -> str:
        return "action_restart_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        loop = tracker.active_loop.get("name")
        form = loop
        if loop == "verification_form":
            form = RESTART_FORMS.get(tracker.get_slot("verification_purpose") or "",
                                     "rights_request_form")
        elif loop == "appeal_reason_form":
            form = "appeal_form"
        dispatcher.utter_message(response="utter_starting_over")
        # backend_outcome too: a "try again" must not replay a flow that was started over.
        events: list[EventType] = [SlotSet("requested_slot", None),
                                   SlotSet("backend_outcome", None),
                                   *reset(*REQUEST_SLOTS, *VERIFICATION_SLOTS, *APPEAL_SLOTS)]
        if form in OWN_RESTART:
            if form == "marketing_form":
                events += reset(*MARKETING_ANSWERS)
            if form == "privacy_opt_out_form":
                events += reset("opt_out_email")
            return [*events, ActiveLoop(None), FollowupAction(form)]
        if loop == "verification_form":
            events.append(ActiveLoop(None))  # the rule starts the rights request form
        return events
