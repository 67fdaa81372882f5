"""What the capability modules share, so that none of them imports another: the request-API
call, the channel map, slot resets, email parsing, dates, a request's reference and status
words and its status-lookup code (a status lookup and an appeal both use it), the visitor's
bounded free text, the address this conversation has proved it owns, the "misunderstood
twice" test, and the one table that says what a one-time code is for (`Purpose` →
`VerificationFlow`).

Each capability module registers the flows it owns (rights requests: `request` and
`status_lookup`; marketing: `preferences`; appeals: `appeal`, which proves the address with a
status-lookup code) when it is imported; the rasa-sdk imports every module of the package
before it serves an action, and `actions.verification` looks the flow up by the
`verification_purpose` slot. Nothing here calls the backend at import time.
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from email_validator import EmailNotValidError, validate_email
from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api.base import call_off_loop
from actions.api.errors import BackendError, RateLimited
from actions.api.requests import (
    Channel,
    PrivacyRequest,
    PrivacyRequestsClient,
    Purpose,
    VerificationResult,
    from_env,
)
from actions.settings import settings
from privacy_assistant.code_mask import CODE_DIGITS

__all__ = [
    "APPEAL_FLOW", "APPEAL_SLOTS", "CHANNELS", "REFERENCE", "REQUEST_SLOTS", "STATUS_LABELS",
    "VERIFICATION_SLOTS", "EmailForm", "Purpose", "VerificationFlow", "bounded",
    "check_lookup_code", "reference_of", "send_lookup_code", "status_label",
    "verified_request", "call_backend", "confirm_code", "intent_of", "mark_verified",
    "misunderstood_twice", "proof_for", "read_request", "recently_verified",
    "refuse_code", "register_verification", "requests_client", "reset", "valid_email",
    "verification_flow", "verified_for",
]

T = TypeVar("T")

# Rasa's input channel name → the channel the backend records.
CHANNELS = {"socketio": Channel.WEB, "slack": Channel.SLACK, "rest": Channel.REST}

# Slots of one request; cleared when it is filed, cancelled or started over.
REQUEST_SLOTS = ("request_type", "requester_email", "requester_name", "requester_region",
                 "correction_details", "authorized_agent", "consumer_email",
                 "request_confirmed", "request_key")
# Slots of one appeal: the request appealed and the visitor's reason; cleared when it is filed,
# cancelled or started over.
APPEAL_SLOTS = ("appeal_stage", "appeal_for", "appeal_reason")
# Slots of one code being asked for; cleared once the code form is over. `filed_request`:
# what the answer to a filed request's correct code said about it, for its confirmation.
VERIFICATION_SLOTS = ("verification_code", "verification_id", "verification_purpose",
                      "request_reference", "lookup_reference", "filed_request")


def verified_for() -> float:
    """Seconds one code is enough for every flow, within the same conversation
    (`VERIFIED_FOR_MINUTES`: the backend accepts the code as proof for as long)."""
    return settings().verified_for_minutes * 60.0


# --- the request API ---------------------------------------------------------------------------

def requests_client() -> PrivacyRequestsClient:
    """A client for the backend request API, configured from the environment."""
    return from_env()


async def call_backend(method: Callable[[PrivacyRequestsClient], T]) -> T:
    """One request-API call off the event loop; raises BackendError subclasses."""
    return await call_off_loop(requests_client, method)


async def confirm_code(tracker: Tracker, code: str) -> VerificationResult:
    """Check `code` against the verification in the `verification_id` slot (the codes of
    status lookups and preference changes; a filed request's code is checked on the request)."""
    verification_id = tracker.get_slot("verification_id")
    return await call_backend(lambda client: client.confirm_verification(verification_id, code))


async def read_request(tracker: Tracker, reference: str) -> PrivacyRequest:
    """Read the request the code just confirmed, with that code's verification as proof."""
    proof = tracker.get_slot("verification_id")
    return await call_backend(lambda client: client.get_request(
        reference, verification_id=proof, conversation_id=tracker.sender_id))


# --- a request's reference and status, and the status-lookup code ------------------------------
# (the status lookup and the appeal both prove a request's address with that code)

REFERENCE = re.compile(r"\bPR[\s-]*([A-Z0-9]{4})[\s-]*([A-Z0-9]{4})\b")

STATUS_LABELS = {
    "pending_verification": "waiting for the email to be verified",
    "verified": "verified and queued for our privacy team",
    "in_progress": "in progress with our privacy team",
    "completed": "completed",
    "rejected": "closed without action (we wrote to you with the reason)",
    "closed_unverified": "closed, because the email was not verified within {days} days",
    "duplicate": "closed as a repeat of an earlier request of yours",
}


def status_label(status: str) -> str:
    """The status as the visitor reads it; the days a request waits for its code are the
    backend's (`UNVERIFIED_CLOSE_DAYS`)."""
    label = STATUS_LABELS.get(status, status)
    return label.format(days=settings().unverified_close_days)


def reference_of(text: str) -> str | None:
    """The request reference in `text`, written as the backend writes it, or None."""
    match = REFERENCE.search(text.upper())
    return None if match is None else f"PR-{match.group(1)}-{match.group(2)}"


async def check_lookup_code(tracker: Tracker, code: str) -> dict[str, Any]:
    result = await confirm_code(tracker, code)
    return {"request_reference": result.request_reference}


async def send_lookup_code(
    dispatcher: CollectingDispatcher, tracker: Tracker, response: str = "utter_status_code_sent"
) -> list[EventType]:
    """Ask for a code for `lookup_reference` and `requester_email`: the first one, or a new
    one, and say so with `response`. The backend answers the same whether or not they
    match."""
    reference, email = tracker.get_slot("lookup_reference"), tracker.get_slot("requester_email")
    sent = await call_backend(lambda client: client.start_status_lookup(
        reference, email, conversation_id=tracker.sender_id))
    dispatcher.utter_message(response=response)
    return [SlotSet("verification_id", sent.verification_id)]


def validated_reference(value: Any, dispatcher: CollectingDispatcher) -> dict[str, Any]:
    """The `lookup_reference` slot from an answer: the reference as the backend writes it,
    or None after saying it was not one."""
    reference = reference_of(str(value or ""))
    if reference is None:
        dispatcher.utter_message(response="utter_invalid_reference")
    return {"lookup_reference": reference}


async def start_lookup(dispatcher: CollectingDispatcher, tracker: Tracker, purpose: str,
                       response: str, forget: tuple[str, ...]) -> list[EventType]:
    """Send the status-lookup code for `lookup_reference` and `requester_email` (said with
    `response`; the visitor hears the same whether or not they match) and wait for it under
    `purpose`. If the backend refuses, say why and forget `forget`: "declined", not
    "unavailable", since "try again" retries filing a request, not this."""
    try:
        sent = await send_lookup_code(dispatcher, tracker, response)
    except BackendError as error:
        refuse_code(dispatcher, error)
        return [SlotSet("backend_outcome", "declined"), *reset(*forget)]
    return [*sent, SlotSet("verification_purpose", purpose),
            SlotSet("verification_code", None), SlotSet("backend_outcome", "ok")]


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


def bounded(value: Any, limit: int, dispatcher: CollectingDispatcher) -> str | None:
    """The visitor's free text with its spaces tidied, or None when empty or longer than
    `limit` (after saying so)."""
    text = " ".join(str(value or "").split())
    if not text:
        return None
    if len(text) > limit:
        dispatcher.utter_message(response="utter_too_long", limit=limit)
        return None
    return text


# --- slots and words ---------------------------------------------------------------------------

def tell_code_sent(dispatcher: CollectingDispatcher, email: str | None,
                   mail_status: str | None, digits: int = CODE_DIGITS) -> None:
    """Say the code was emailed only when the backend handed its email over; that it is
    delayed while the backend's outbox keeps trying (until the code expires); otherwise
    that it could not be sent. `digits`: how long the code is (9 while the address is over
    its guessing limit)."""
    response = {"sent": "utter_code_sent", "queued": "utter_code_delayed"}.get(
        mail_status or "", "utter_code_not_sent")
    dispatcher.utter_message(response=response, email=email, digits=digits)


def refuse_code(dispatcher: CollectingDispatcher, error: BackendError) -> None:
    """Say why no code was sent: too many asked for (429), or the backend could not do it."""
    dispatcher.utter_message(response="utter_too_many_codes" if isinstance(error, RateLimited)
                             else "utter_backend_down")


def reset(*names: str) -> list[EventType]:
    return [SlotSet(name, None) for name in names]


def valid_email(text: str, dispatcher: CollectingDispatcher) -> str | None:
    """The address in `text` (normalised), or None after telling the visitor why not."""
    candidates = [word.strip("<>()[],;:.!?'\"") for word in text.split() if "@" in word]
    if len(candidates) != 1:
        dispatcher.utter_message(response="utter_invalid_email",
                                 reason="I couldn't find one email address in that")
        return None
    try:
        checked = validate_email(candidates[0], check_deliverability=False)
    except EmailNotValidError as error:
        dispatcher.utter_message(response="utter_invalid_email", reason=str(error).rstrip("."))
        return None
    # The backend keys addresses in lower case; so does the conversation's verified address.
    return str(checked.normalized).lower()


class EmailForm(FormValidationAction, ABC):
    """A form that asks for the visitor's email address (`requester_email`): the address is
    checked the same way in every flow, and `needed_slots` says which of the form's questions
    this conversation is asked (all of them unless a subclass says otherwise)."""

    @abstractmethod
    def name(self) -> str:
        """The form's validation action (an abstract base: the SDK registers none for it)."""

    def needed_slots(self, domain_slots: list[str], tracker: Tracker) -> list[str]:
        return domain_slots

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return self.needed_slots(domain_slots, tracker)

    def validate_requester_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"requester_email": valid_email(str(value or ""), dispatcher)}


# --- the address this conversation has proved it owns -------------------------------------------

def recently_verified(tracker: Tracker, email: str | None) -> bool:
    until = tracker.get_slot("verified_until") or 0
    return bool(email) and tracker.get_slot("verified_email") == email and until > time.time()


def proof_for(tracker: Tracker, email: str | None) -> str | None:
    """The id of the confirmed code that proves `email` to the backend, while it does."""
    return tracker.get_slot("verified_proof") if recently_verified(tracker, email) else None


def mark_verified(email: str | None, verification_id: str | None) -> list[EventType]:
    """Remember, for `verified_for()` seconds, that this conversation proved it owns `email`
    with the code of `verification_id` (the backend asks for that id as the proof)."""
    if not email or not verification_id:
        return []
    return [SlotSet("verified_email", email),
            SlotSet("verified_until", time.time() + verified_for()),
            SlotSet("verified_proof", verification_id)]


# --- the conversation so far -------------------------------------------------------------------

def misunderstood_twice(tracker: Tracker) -> bool:
    """The latest message and the one before it were both not understood: the first got
    the re-prompt (utter_default), and this one is a low-confidence message too."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    if len(users) < 2 or not all(intent_of(e) == "nlu_fallback" for e in users[-2:]):
        return False
    previous = users[-2]
    after = tracker.events[tracker.events.index(previous) + 1:]
    said = [e.get("metadata", {}).get("utter_action") for e in after if e.get("event") == "bot"]
    return "utter_default" in said


def intent_of(event: dict[str, Any]) -> str:
    return str(((event.get("parse_data") or {}).get("intent") or {}).get("name", ""))


# --- what a one-time code is for ---------------------------------------------------------------

Check = Callable[[Tracker, str], Awaitable[dict[str, Any]]]
Step = Callable[[CollectingDispatcher, Tracker], Awaitable[list[EventType]]]


@dataclass(frozen=True)
class VerificationFlow:
    """The three things the code form needs to know about one purpose.

    `check(tracker, digits)` asks the backend whether the six digits are right and returns
    the slots to set besides `verification_code` (it raises `BackendError`, and
    `VerificationFailed` for a wrong or spent code). `resend(dispatcher, tracker)` emails a
    new code and tells the visitor. `verified(dispatcher, tracker)` finishes the job once the
    code is right; it reads the slots as they were while the code was asked for.
    """

    check: Check
    resend: Step
    verified: Step


# A flow of the chat's own whose code is one of the backend's purposes: an appeal proves the
# request's address with a status-lookup code, then files the appeal.
APPEAL_FLOW = "appeal"

_FLOWS: dict[str, VerificationFlow] = {}


def register_verification(purpose: Purpose | str, flow: VerificationFlow) -> None:
    """Called once per purpose (a backend `Purpose`, or a chat flow such as `APPEAL_FLOW`) by
    the capability module that owns it, at import. A second registration replaces the first:
    the SDK's --auto-reload re-imports a changed module."""
    _FLOWS[purpose.value if isinstance(purpose, Purpose) else purpose] = flow


def verification_flow(purpose: str | None) -> VerificationFlow | None:
    """The flow for a `verification_purpose` slot value, or None when there is none."""
    return _FLOWS.get(purpose or "")
