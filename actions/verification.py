"""One-time email codes in the chat, shared by every flow that needs to know the visitor
owns an address: a filed rights request ("request"), a status lookup ("status") and
marketing choices ("marketing"). A verified address is remembered for VERIFIED_FOR seconds
of the same conversation, so the visitor types one code for both flows."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api.errors import BackendError, RateLimited, VerificationFailed
from actions.marketing import apply_marketing
from actions.request_types import LABELS
from actions.rights_requests import (
    REQUEST_SLOTS,
    STATUS_LABELS,
    VERIFICATION_SLOTS,
    call_backend,
    long_date,
    reset,
    tell_filed,
)
from actions.verified_email import mark_verified


class ValidateVerificationForm(FormValidationAction):
    """Check the code with the backend: for a filed request, a status lookup, or marketing
    choices."""

    def name(self) -> str:
        return "validate_verification_form"

    async def validate_verification_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = "".join(str(value or "").split())
        digits = "".join(ch for ch in code if ch.isdigit())
        if len(digits) != 6:
            dispatcher.utter_message(response="utter_code_format")
            return {"verification_code": None}
        purpose = tracker.get_slot("verification_purpose")
        try:
            if purpose == "request":
                reference = tracker.get_slot("request_reference")
                await call_backend(lambda client: client.verify_request(reference, digits))
                return {"verification_code": "verified"}
            verification_id = tracker.get_slot("verification_id")
            result = await call_backend(
                lambda client: client.confirm_verification(verification_id, digits))
            return {"verification_code": "verified",
                    "request_reference": result.request_reference}
        except VerificationFailed as error:
            if error.reason == "invalid_code" and error.attempts_left > 0:
                dispatcher.utter_message(response="utter_wrong_code",
                                         attempts_left=error.attempts_left)
                return {"verification_code": None}
            dispatcher.utter_message(response="utter_code_unusable")
            return {"verification_code": "failed"}
        except BackendError:
            dispatcher.utter_message(response="utter_backend_down")
            return {"verification_code": None}


class ActionVerificationDone(Action):
    """After the code form: confirm the filed request, show the looked-up status, or apply
    the marketing choice."""

    def name(self) -> str:
        return "action_verification_done"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # Whatever happens next, this request or lookup is over: clear its answers, so that
        # the next one starts empty instead of replaying them. (The actions below read the
        # slots from the tracker as it came in; these events apply afterwards.)
        done = [*reset(*VERIFICATION_SLOTS, *REQUEST_SLOTS)]
        if tracker.get_slot("verification_code") != "verified":
            return done
        done += mark_verified(tracker.get_slot("requester_email"))
        purpose = tracker.get_slot("verification_purpose")
        if purpose == "marketing":
            return [*done, *await apply_marketing(dispatcher, tracker, verified=True)]
        reference = tracker.get_slot("request_reference")
        if not reference:
            return done
        try:
            request = await call_backend(lambda client: client.get_request(reference))
        except BackendError:
            dispatcher.utter_message(response="utter_backend_down")
            return done
        if purpose == "request":
            tell_filed(dispatcher, request)
            return done
        dispatcher.utter_message(
            response="utter_request_status", reference=request.reference,
            request_label=LABELS[request.type.value],
            status=STATUS_LABELS.get(request.status.value, request.status.value),
            received=long_date(request.created_at), due=long_date(request.due_at),
        )
        return done




class ActionResendCode(Action):
    def name(self) -> str:
        return "action_resend_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            if tracker.get_slot("verification_purpose") == "request":
                reference = tracker.get_slot("request_reference")
                await call_backend(lambda client: client.resend_code(reference))
                dispatcher.utter_message(response="utter_code_sent",
                                         email=tracker.get_slot("requester_email"))
                return []
            email = tracker.get_slot("requester_email")
            if tracker.get_slot("verification_purpose") == "marketing":
                sent = await call_backend(lambda client: client.start_verification(
                    email, "preferences", conversation_id=tracker.sender_id))
                dispatcher.utter_message(response="utter_code_sent", email=email)
                return [SlotSet("verification_id", sent.verification_id)]
            reference = tracker.get_slot("lookup_reference")
            sent = await call_backend(lambda client: client.start_status_lookup(
                reference, email, conversation_id=tracker.sender_id))
        except RateLimited:
            dispatcher.utter_message(response="utter_too_many_codes")
            return []
        except BackendError:
            dispatcher.utter_message(response="utter_backend_down")
            return []
        dispatcher.utter_message(response="utter_status_code_sent")
        return [SlotSet("verification_id", sent.verification_id)]


