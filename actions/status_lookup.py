"""A request's status in the chat: the visitor gives its reference and email, types the code
the backend emails when they match, and is told where the request stands.

The visitor is told the same thing whether or not reference and email match, so the chat
reveals nothing about other people's requests. What a correct code does for a status lookup
is registered here (`Purpose.STATUS_LOOKUP`); the code form is `actions.verification`, and
the lookup code itself (shared with appeals, `actions.appeals`) is `actions.common`'s.

Besides the status, the answer says what follows from it: how to appeal a denied request (or
its appeal's reference, status and due date), which request a duplicate repeats, and that an
agent's request waits for its consumer's confirmation.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api.requests import PrivacyRequest, RequestStatus
from actions.common import (
    EmailForm,
    Purpose,
    VerificationFlow,
    check_lookup_code,
    register_verification,
    send_lookup_code,
    start_lookup,
    status_label,
    validated_reference,
    verified_request,
)
from actions.request_types import LABELS
from privacy_assistant.dates import long_date

APPEAL_LABELS = {
    "open": "open, being reviewed by our privacy team",
    "granted": "granted: we reopened the request",
    "denied": "decided: the denial stands (we wrote to you with the reasons)",
}


class ValidateStatusLookupForm(EmailForm):
    def name(self) -> str:
        return "validate_status_lookup_form"

    def validate_lookup_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return validated_reference(value, dispatcher)


class ActionStartStatusLookup(Action):
    """Ask the backend to email a code if reference and email match. The visitor is told
    the same thing either way, so the chat reveals nothing about other people's requests."""

    def name(self) -> str:
        return "action_start_status_lookup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await start_lookup(dispatcher, tracker, Purpose.STATUS_LOOKUP.value,
                                  "utter_status_code_sent",
                                  ("lookup_reference", "requester_email"))


# --- what the code of a status lookup does (see actions.common) ------------------------------

async def lookup_verified(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Show the looked-up request's status."""
    request = await verified_request(dispatcher, tracker)
    if request is not None:
        dispatcher.utter_message(
            response="utter_request_status", reference=request.reference,
            request_label=LABELS[request.type.value],
            status=("waiting for a confirmation" if request.awaiting_consumer
                    else status_label(request.status.value)),
            received=long_date(request.created_at), due=long_date(request.due_at),
        )
        tell_what_follows(dispatcher, request)
    return []


def tell_what_follows(dispatcher: CollectingDispatcher, request: PrivacyRequest) -> None:
    """What the status alone does not say: a denied request's appeal (filed, or how to file
    one), the request a duplicate repeats, and an agent's request waiting for its consumer."""
    if request.status is RequestStatus.REJECTED:
        if request.appeal is None:
            dispatcher.utter_message(response="utter_status_how_to_appeal",
                                     reference=request.reference)
        else:
            dispatcher.utter_message(
                response="utter_status_appeal", appeal=request.appeal.reference,
                appeal_status=APPEAL_LABELS.get(request.appeal.status.value,
                                                request.appeal.status.value),
                due=long_date(request.appeal.due_at))
    elif request.status is RequestStatus.DUPLICATE and request.duplicate_of:
        due = request.duplicate_of_due_at
        dispatcher.utter_message(response="utter_status_duplicate",
                                 first=request.duplicate_of,
                                 due=long_date(due) if due else "its due date")
    elif request.awaiting_consumer:
        dispatcher.utter_message(response="utter_status_awaiting_consumer")


register_verification(Purpose.STATUS_LOOKUP, VerificationFlow(
    check=check_lookup_code, resend=send_lookup_code, verified=lookup_verified))
