"""A request's status in the chat: the visitor gives its reference and email, types the code
the backend emails when they match, and is told where the request stands.

The visitor is told the same thing whether or not reference and email match, so the chat
reveals nothing about other people's requests. What a correct code does for a status lookup
is registered here (`Purpose.STATUS_LOOKUP`); the code form is `actions.verification`.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api.errors import BackendError
from actions.api.requests import PrivacyRequest
from actions.common import (
    EmailForm,
    Purpose,
    VerificationFlow,
    call_backend,
    confirm_code,
    read_request,
    refuse_code,
    register_verification,
    reset,
)
from actions.request_types import LABELS
from actions.settings import settings
from privacy_assistant.dates import long_date

REFERENCE = re.compile(r"\bPR[\s-]*([A-Z0-9]{4})[\s-]*([A-Z0-9]{4})\b")

STATUS_LABELS = {
    "pending_verification": "waiting for the email to be verified",
    "verified": "verified and queued for our privacy team",
    "in_progress": "in progress with our privacy team",
    "completed": "completed",
    "rejected": "closed without action (we wrote to you with the reason)",
    "closed_unverified": "closed, because the email was not verified within {days} days",
}


def status_label(status: str) -> str:
    """The status as the visitor reads it; the days a request waits for its code are the
    backend's (`UNVERIFIED_CLOSE_DAYS`)."""
    label = STATUS_LABELS.get(status, status)
    return label.format(days=settings().unverified_close_days)


class ValidateStatusLookupForm(EmailForm):
    def name(self) -> str:
        return "validate_status_lookup_form"

    def validate_lookup_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        match = REFERENCE.search(str(value or "").upper())
        if match is None:
            dispatcher.utter_message(response="utter_invalid_reference")
            return {"lookup_reference": None}
        return {"lookup_reference": f"PR-{match.group(1)}-{match.group(2)}"}


class ActionStartStatusLookup(Action):
    """Ask the backend to email a code if reference and email match. The visitor is told
    the same thing either way, so the chat reveals nothing about other people's requests."""

    def name(self) -> str:
        return "action_start_status_lookup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            sent = await send_lookup_code(dispatcher, tracker)
        except BackendError as error:
            refuse_code(dispatcher, error)
            # "declined", not "unavailable": "try again" retries filing a request, not this.
            return [SlotSet("backend_outcome", "declined"),
                    *reset("lookup_reference", "requester_email")]
        return [
            *sent,
            SlotSet("verification_purpose", Purpose.STATUS_LOOKUP.value),
            SlotSet("verification_code", None),
            SlotSet("backend_outcome", "ok"),
        ]


# --- what the code of a status lookup does (see actions.common) ------------------------------

async def check_lookup_code(tracker: Tracker, code: str) -> dict[str, Any]:
    result = await confirm_code(tracker, code)
    return {"request_reference": result.request_reference}


async def send_lookup_code(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> list[EventType]:
    """Ask for a code for `lookup_reference` and `requester_email`: the first one, or a new
    one. The backend answers the same whether or not they match."""
    reference, email = tracker.get_slot("lookup_reference"), tracker.get_slot("requester_email")
    sent = await call_backend(lambda client: client.start_status_lookup(
        reference, email, conversation_id=tracker.sender_id))
    dispatcher.utter_message(response="utter_status_code_sent")
    return [SlotSet("verification_id", sent.verification_id)]


async def lookup_verified(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Show the looked-up request's status."""
    request = await verified_request(dispatcher, tracker)
    if request is not None:
        dispatcher.utter_message(
            response="utter_request_status", reference=request.reference,
            request_label=LABELS[request.type.value],
            status=status_label(request.status.value),
            received=long_date(request.created_at), due=long_date(request.due_at),
        )
    return []


async def verified_request(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> PrivacyRequest | None:
    """The request the verified code belongs to, or None (after saying so if the backend is
    down)."""
    reference = tracker.get_slot("request_reference")
    if not reference:
        return None
    try:
        return await read_request(tracker, reference)
    except BackendError:
        dispatcher.utter_message(response="utter_backend_down")
        return None


register_verification(Purpose.STATUS_LOOKUP, VerificationFlow(
    check=check_lookup_code, resend=send_lookup_code, verified=lookup_verified))
