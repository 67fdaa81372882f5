"""Privacy opt-outs in the chat: "do not sell or share my information" and "limit the use of
my sensitive information".

The law forbids asking for proof of identity for these (CCPA regs §7026(d), §7027(e)), so
there is no code: the form asks only which address the opt-out is for, or "this chat only",
and `action_record_privacy_opt_out` records it at once through the backend's opt-out API
(`POST /api/v1/opt-outs`). The answer carries the reference and the due date (15 business
days) and nothing else about the address, so giving someone else's address reveals nothing.
An opt-out for "this chat only" is linked by the backend to the address verified later in the
same conversation.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api.base import call_off_loop
from actions.api.errors import BackendError, RateLimited
from actions.api.opt_outs import OptOutsClient
from actions.common import EmailForm, recently_verified, valid_email
from privacy_assistant.contract import OptOutKind
from privacy_assistant.dates import long_date

KINDS = {"do_not_sell": OptOutKind.SALE_SHARING, "limit_sensitive_use": OptOutKind.LIMIT_SENSITIVE}
WHAT = {OptOutKind.SALE_SHARING: "your opt-out of the sale and sharing of your personal "
                                 "information",
        OptOutKind.LIMIT_SENSITIVE: "your request to limit the use of your sensitive personal "
                                    "information"}
# The slot value for "this chat only" (the form's "This chat only" button sends /deny).
THIS_CHAT = "-"
OPT_OUT_SLOTS = ("opt_out_kind", "opt_out_email")


class ActionPreparePrivacyOptOut(Action):
    """Remember which opt-out was asked for; an address verified a moment ago in this
    conversation is used without asking again."""

    def name(self) -> str:
        return "action_prepare_privacy_opt_out"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name", "")
        kind = KINDS.get(intent, OptOutKind.SALE_SHARING)
        verified = tracker.get_slot("verified_email")
        return [SlotSet("opt_out_kind", kind.value),
                SlotSet("opt_out_email", verified if recently_verified(tracker, verified)
                        else None)]


class ValidatePrivacyOptOutForm(EmailForm):
    def name(self) -> str:
        return "validate_privacy_opt_out_form"

    def validate_opt_out_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == THIS_CHAT:
            return {"opt_out_email": THIS_CHAT}
        return {"opt_out_email": valid_email(str(value or ""), dispatcher)}


class ActionRecordPrivacyOptOut(Action):
    """Record the opt-out and confirm it with its reference and due date."""

    def name(self) -> str:
        return "action_record_privacy_opt_out"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        kind = OptOutKind(tracker.get_slot("opt_out_kind") or OptOutKind.SALE_SHARING.value)
        given = tracker.get_slot("opt_out_email")
        email = None if given in (None, THIS_CHAT) else str(given)
        done = [SlotSet(name, None) for name in OPT_OUT_SLOTS]
        try:
            recorded = await call_off_loop(OptOutsClient.from_env, lambda client: client.create(
                kind, email=email, conversation_id=tracker.sender_id))
        except RateLimited:
            # Too many opt-outs from this chat, for this address, or in all just now: nothing
            # new recorded (an address at its limit is opted out by the hour's records).
            dispatcher.utter_message(response="utter_privacy_opt_out_limited")
            return done
        except BackendError:
            # Nothing recorded; saying the same words again records it once.
            dispatcher.utter_message(response="utter_privacy_opt_out_failed")
            return done
        dispatcher.utter_message(
            response=("utter_privacy_opt_out_already" if recorded.already_recorded
                      else "utter_privacy_opt_out_recorded"),
            what=WHAT[kind], whom=email or "this chat", reference=recorded.reference,
            due_date=long_date(recorded.due_date))
        return done
