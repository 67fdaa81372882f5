"""One-time email codes in the chat, shared by every flow that needs to know the visitor
owns an address: a filed rights request, a status lookup, an appeal and marketing choices.

The code form is the same for all of them; what differs (how the backend checks the code,
how a new one is sent, what a correct code unlocks) is the `VerificationFlow` that the
owning capability module registers for its `Purpose` in `actions.common`. The
`verification_purpose` slot picks the flow. A verified address is remembered, with the id of
the verification that proved it, for `verified_for()` seconds of the same conversation, so the
visitor types one code for all flows; the backend takes that id as the proof.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api.errors import BackendError, RateLimited, VerificationFailed
from actions.common import (
    REQUEST_SLOTS,
    VERIFICATION_SLOTS,
    VerificationFlow,
    mark_verified,
    reset,
    verification_flow,
)
from privacy_assistant.code_mask import CODE_DIGITS, LONG_CODE_DIGITS


def flow_of(tracker: Tracker) -> VerificationFlow | None:
    return verification_flow(tracker.get_slot("verification_purpose"))


class ValidateVerificationForm(FormValidationAction):
    """Check the code with the backend, the way its purpose's flow says."""

    def name(self) -> str:
        return "validate_verification_form"

    async def validate_verification_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        code = "".join(str(value or "").split())
        digits = "".join(ch for ch in code if ch.isdigit())
        if len(digits) not in (CODE_DIGITS, LONG_CODE_DIGITS):
            dispatcher.utter_message(response="utter_code_format")
            return {"verification_code": None}
        flow = flow_of(tracker)
        if flow is None:
            # No flow asked for this code: nothing it could unlock, so end the form.
            dispatcher.utter_message(response="utter_code_unusable")
            return {"verification_code": "failed"}
        try:
            return {"verification_code": "verified", **await flow.check(tracker, digits)}
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
    """After the code form: remember the verified address and let the purpose's flow finish
    (confirm the filed request, show the looked-up status, apply the marketing choice)."""

    def name(self) -> str:
        return "action_verification_done"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        # Whatever happens next, this request or lookup is over: clear its answers, so that
        # the next one starts empty instead of replaying them. (The flow reads the slots from
        # the tracker as it came in; these events apply afterwards.)
        # (`appeal_stage` is set again by an appeal's flow when the appeal goes on.)
        done = [*reset(*VERIFICATION_SLOTS, *REQUEST_SLOTS, "appeal_stage")]
        if tracker.get_slot("verification_code") != "verified":
            return done
        # The confirmed verification: the lookup's or the preferences' own, or the one a
        # filed request's code confirmed (its flow's check puts it in `verification_id`).
        done += mark_verified(tracker.get_slot("requester_email"),
                              tracker.get_slot("verification_id"))
        flow = flow_of(tracker)
        if flow is None:
            return done
        return [*done, *await flow.verified(dispatcher, tracker)]


class ActionResendCode(Action):
    """Email a new code for the purpose under way."""

    def name(self) -> str:
        return "action_resend_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        flow = flow_of(tracker)
        if flow is None:
            # No flow asked for a code, so there is none to send again.
            dispatcher.utter_message(response="utter_code_unusable")
            return []
        try:
            return await flow.resend(dispatcher, tracker)
        except RateLimited:
            dispatcher.utter_message(response="utter_too_many_codes")
            return []
        except BackendError:
            dispatcher.utter_message(response="utter_backend_down")
            return []
