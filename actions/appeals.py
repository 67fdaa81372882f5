"""Appeals in the chat: "I want to appeal PR-…" asks for the request's reference and email,
emails the status-lookup code when they match, and once the code is right reads the request.
A denied (`rejected`) request is appealed with the visitor's reason, in their words; any other
status is told, with the fact that only a denied request can be appealed.

The visitor is told the same thing whether or not reference and email match (the lookup's
rule), so the chat reveals nothing about other people's requests; the backend files the
appeal only with the proof of the request's address (or its agent's) that the code gave this
conversation. What a correct code does for an appeal is registered here (`APPEAL_FLOW`); the
code form is `actions.verification`, the lookup code `actions.status_lookup`.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api.errors import BackendError, Conflict, Unauthorized
from actions.api.requests import Appeal, Channel, RequestStatus
from actions.common import (
    APPEAL_FLOW,
    APPEAL_SLOTS,
    CHANNELS,
    EmailForm,
    VerificationFlow,
    bounded,
    call_backend,
    check_lookup_code,
    proof_for,
    reference_of,
    register_verification,
    reset,
    send_lookup_code,
    start_lookup,
    status_label,
    validated_reference,
    verified_request,
)
from privacy_assistant.api_models.appeals import APPEAL_TEXT_MAX
from privacy_assistant.dates import long_date

# The step `appeal_stage` marks: the appealed request is denied and proved, its reason is due.
REASON = "reason"


class ValidateAppealForm(EmailForm):
    """The request to appeal (a reference, taken from the message that starts the form when
    it names one) and the email address the code goes to."""

    def name(self) -> str:
        return "validate_appeal_form"

    async def extract_lookup_reference(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("lookup_reference") or tracker.get_slot("requested_slot"):
            return {}
        reference = reference_of(tracker.latest_message.get("text") or "")
        return {"lookup_reference": reference} if reference else {}

    def validate_lookup_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return validated_reference(value, dispatcher)


class ActionStartAppeal(Action):
    """Ask the backend to email the status-lookup code if reference and email match; the
    visitor is told the same thing either way."""

    def name(self) -> str:
        return "action_start_appeal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await start_lookup(dispatcher, tracker, APPEAL_FLOW, "utter_appeal_code_sent",
                                  ("lookup_reference", "requester_email", *APPEAL_SLOTS))


class ValidateAppealReasonForm(FormValidationAction):
    """Why the visitor disagrees with the denial: their words, at most `APPEAL_TEXT_MAX`
    characters (the backend's limit)."""

    def name(self) -> str:
        return "validate_appeal_reason_form"

    def validate_appeal_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"appeal_reason": bounded(value, APPEAL_TEXT_MAX, dispatcher)}


class ActionFileAppeal(Action):
    """File the appeal of the request in `appeal_for` with the visitor's reason and this
    conversation's proof of the address, and say its reference and due date."""

    def name(self) -> str:
        return "action_file_appeal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        done = reset(*APPEAL_SLOTS)
        reference, reason = tracker.get_slot("appeal_for"), tracker.get_slot("appeal_reason")
        if not reference or not reason:
            return done
        proof = proof_for(tracker, tracker.get_slot("verified_email"))
        channel = CHANNELS.get(tracker.get_latest_input_channel() or "", Channel.REST)
        try:
            appeal = await call_backend(lambda client: client.file_appeal(
                reference, reason, verification_id=proof, channel=channel,
                conversation_id=tracker.sender_id))
        except Unauthorized:
            dispatcher.utter_message(response="utter_appeal_proof_expired")
            return done
        except Conflict:
            dispatcher.utter_message(response="utter_appeal_not_appealable_now")
            return done
        except BackendError:
            dispatcher.utter_message(response="utter_appeal_not_filed")
            return done
        tell_appeal(dispatcher, appeal)
        return done


def tell_appeal(dispatcher: CollectingDispatcher, appeal: Appeal) -> None:
    """Confirm the appeal: filed now, or filed before (`created` false)."""
    dispatcher.utter_message(
        response="utter_appeal_filed" if appeal.created else "utter_appeal_exists",
        appeal=appeal.reference, reference=appeal.request_reference,
        due=long_date(appeal.due_at))


# --- what the code of an appeal does (see actions.common) -------------------------------------

async def send_appeal_code(dispatcher: CollectingDispatcher, tracker: Tracker
                           ) -> list[EventType]:
    """The status-lookup code for the request to appeal: the first one, or a new one."""
    return await send_lookup_code(dispatcher, tracker, "utter_appeal_code_sent")


async def appeal_verified(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Read the proved request: a denied one without an appeal asks for the reason (the rule
    on `appeal_stage` starts that form); a denied one with an appeal says it is filed already;
    any other says its status and that only a denied request can be appealed."""
    request = await verified_request(dispatcher, tracker)
    if request is None:
        return []
    if request.status is not RequestStatus.REJECTED:
        dispatcher.utter_message(response="utter_appeal_not_denied",
                                 reference=request.reference,
                                 status=status_label(request.status.value))
        return []
    if request.appeal is not None:
        dispatcher.utter_message(response="utter_appeal_exists", appeal=request.appeal.reference,
                                 reference=request.reference,
                                 due=long_date(request.appeal.due_at))
        return []
    return [SlotSet("appeal_for", request.reference), SlotSet("appeal_stage", REASON)]


register_verification(APPEAL_FLOW, VerificationFlow(
    check=check_lookup_code, resend=send_appeal_code, verified=appeal_verified))

