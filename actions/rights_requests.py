"""Privacy rights requests in the chat: collect, confirm, file, and confirm once the emailed
code is right.

The backend does the work (request API, one-time codes, audit); these actions read slots,
call `actions.api.requests`, and pick responses. What a correct code does for a filed request
is registered here too (`Purpose.REQUEST`); the code form itself is `actions.verification`,
a status lookup `actions.status_lookup`, and cancelling or starting over
`actions.cancel_restart`. Every backend failure is answered politely and leaves the
conversation where a retry files exactly one request (the idempotency key lives in the
`request_key` slot until the request is filed).

An authorized agent gives the consumer's address too (`consumer_email`): the code goes to the
agent, and a correct code leaves the request waiting for the consumer's confirmation, which
the chat says instead of "filed". A request that repeats one already open is linked to it by
the backend (`duplicate`), which the chat says instead of "filed" too.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api.errors import (
    BackendError,
    BackendUnavailable,
    RateLimited,
    Unauthorized,
)
from actions.api.requests import Channel, FiledRequest, PrivacyRequest, RequestStatus
from actions.common import (
    CHANNELS,
    REQUEST_SLOTS,
    EmailForm,
    Purpose,
    VerificationFlow,
    bounded,
    call_backend,
    proof_for,
    read_request,
    register_verification,
    reset,
    tell_code_sent,
    valid_email,
)
from actions.request_types import LABELS, TYPES, detect_request_type
from privacy_assistant.dates import long_date

SKIPPED = "-"
# Messages that are not an answer to "which request?" even when they name one ("what does
# deletion mean?"): the rules answer, explain, cancel or start over instead.
NOT_AN_ANSWER = frozenset({"ask_privacy", "explain", "cancel", "restart_request"})
MAX_FIELD = 200
MAX_DETAILS = 1000
# Intents the handoff rules answer at every slot of every form.
HANDOFF_INTENTS = ("request_human", "escalate_topic")

# A replayed request in one of these was verified already: it is filed.
VERIFIED_STATUSES = frozenset({RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS,
                               RequestStatus.COMPLETED})


def optional(value: str | None) -> str | None:
    return None if value in (None, "", SKIPPED) else value


class ValidateRightsRequestForm(EmailForm):
    def name(self) -> str:
        return "validate_rights_request_form"

    def needed_slots(self, domain_slots: list[str], tracker: Tracker) -> list[str]:
        skipped = set()
        if tracker.get_slot("request_type") != "correction":
            skipped.add("correction_details")
        if not tracker.get_slot("authorized_agent"):
            skipped.add("consumer_email")
        return [slot for slot in domain_slots if slot not in skipped]

    async def extract_request_type(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("request_type"):
            return {}
        # Only the message that started the form, or the answer to "which request?"; a
        # request for a person is handed off by the rules, never read as a request type.
        requested = tracker.get_slot("requested_slot")
        if requested not in (None, "request_type"):
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in HANDOFF_INTENTS or intent in NOT_AN_ANSWER:
            return {}
        chosen = [v for v in tracker.get_latest_entity_values("request_type") if v in TYPES]
        if chosen:  # a button of ours ("Yes, start it"), or the type typed as a payload
            return {"request_type": chosen[0]}
        detected = detect_request_type(tracker.latest_message.get("text") or "")
        return {"request_type": detected} if detected else {}

    def validate_request_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"request_type": value if value in TYPES else None}

    def validate_requester_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"requester_name": bounded(value, MAX_FIELD, dispatcher)}

    def validate_requester_region(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"requester_region": bounded(value, MAX_FIELD, dispatcher)}

    def validate_consumer_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The consumer's address, for an agent's request: not the agent's own (the consumer
        confirms from their own mailbox)."""
        email = valid_email(str(value or ""), dispatcher)
        if email is not None and email == tracker.get_slot("requester_email"):
            dispatcher.utter_message(response="utter_consumer_email_same")
            return {"consumer_email": None}
        return {"consumer_email": email}

    def validate_correction_details(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"correction_details": bounded(value, MAX_DETAILS, dispatcher)}


class ActionAskRequestConfirmed(Action):
    """Summarise the request and ask whether to send the verification code."""

    def name(self) -> str:
        return "action_ask_request_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        agent = tracker.get_slot("authorized_agent")
        details = optional(tracker.get_slot("correction_details"))
        consumer = tracker.get_slot("consumer_email") if agent else None
        dispatcher.utter_message(
            response="utter_ask_request_confirmed",
            request_label=LABELS.get(tracker.get_slot("request_type") or "", "privacy"),
            email=tracker.get_slot("requester_email"),
            name=optional(tracker.get_slot("requester_name")) or "not given",
            region=optional(tracker.get_slot("requester_region")) or "not given",
            on_behalf="yes, as an authorized agent" if agent else "no, for myself",
            consumer=f"\n• The consumer's email: {consumer}" if consumer else "",
            details=f"\n• What to correct: {details}" if details else "",
        )
        return []


class ActionSubmitRightsRequest(Action):
    """File the confirmed request; the backend emails the one-time code, unless this
    conversation proved the address a moment ago: then the request is filed verified with that
    proof (`verified_proof`). A retry replays the same request (the key in `request_key`): if
    it was verified meanwhile, say it is filed; if its code can no longer be typed, ask for a
    new one before saying a code was emailed."""

    def name(self) -> str:
        return "action_submit_rights_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not tracker.get_slot("request_confirmed"):
            dispatcher.utter_message(response="utter_request_not_confirmed")
            return [SlotSet("backend_outcome", "declined"), *reset(*REQUEST_SLOTS)]
        key = tracker.get_slot("request_key") or f"chat-{uuid.uuid4().hex}"
        proof = proof_for(tracker, tracker.get_slot("requester_email"))
        try:
            try:
                request = await file_request(tracker, key, proof)
            except Unauthorized:
                if proof is None:
                    raise
                # The backend no longer takes that code as proof: file it with a new code.
                request = await file_request(tracker, key, None)
        except (BackendUnavailable, RateLimited) as error:
            return not_filed(dispatcher, error, key)
        except BackendError:
            return refused(dispatcher)
        if request.status in VERIFIED_STATUSES or request.awaiting_consumer or (
                request.status is RequestStatus.DUPLICATE):
            tell_filed(dispatcher, filed_facts(request))
            return [SlotSet("backend_outcome", "verified"), *reset(*REQUEST_SLOTS)]
        if request.status is not RequestStatus.PENDING_VERIFICATION:
            return refused(dispatcher)
        mail_status: str | None = request.mail_status
        digits = request.code_digits
        if not request.code_live:
            try:
                sent = await call_backend(lambda client: client.resend_code(request.reference))
            except (BackendUnavailable, RateLimited) as error:
                return not_filed(dispatcher, error, key)
            except BackendError:
                return refused(dispatcher)
            mail_status, digits = sent.mail_status, sent.code_digits
        tell_code_sent(dispatcher, request.agent_email or request.email, mail_status, digits)
        return [
            SlotSet("request_key", key),
            SlotSet("request_reference", request.reference),
            SlotSet("verification_purpose", Purpose.REQUEST.value),
            SlotSet("verification_code", None),
            SlotSet("backend_outcome", "ok"),
        ]


async def file_request(tracker: Tracker, key: str, proof: str | None) -> FiledRequest:
    """File (or replay) the request in the slots; with `proof`, filed verified."""
    channel = CHANNELS.get(tracker.get_latest_input_channel() or "", Channel.REST)
    agent = bool(tracker.get_slot("authorized_agent"))
    return await call_backend(lambda client: client.create_request(
        tracker.get_slot("request_type"), tracker.get_slot("requester_email"),
        name=optional(tracker.get_slot("requester_name")),
        region=optional(tracker.get_slot("requester_region")),
        authorized_agent=agent,
        consumer_email=tracker.get_slot("consumer_email") if agent else None,
        details=optional(tracker.get_slot("correction_details")),
        channel=channel, conversation_id=tracker.sender_id, idempotency_key=key,
        verification_id=proof,
    ))


def not_filed(dispatcher: CollectingDispatcher, error: BackendError, key: str
              ) -> list[EventType]:
    """Nothing is lost: the answers and the key stay, so "try again" files it once."""
    limited = isinstance(error, RateLimited)
    dispatcher.utter_message(
        response="utter_too_many_codes" if limited else "utter_request_not_filed")
    return [SlotSet("request_key", key), SlotSet("backend_outcome", "unavailable")]


def refused(dispatcher: CollectingDispatcher) -> list[EventType]:
    dispatcher.utter_message(response="utter_request_refused")
    return [SlotSet("backend_outcome", "declined"), *reset(*REQUEST_SLOTS)]


def filed_facts(request: PrivacyRequest) -> dict[str, Any]:
    """What the confirmation of a filed request says about it, as plain JSON (a slot can
    carry it from the code's check to the confirmation): also whether it waits for its
    consumer (an agent's) and the request it repeats (a duplicate's)."""
    first_due = request.duplicate_of_due_at
    return {"reference": request.reference, "type": request.type.value,
            "email": request.agent_email or request.email, "due_at": request.due_at.isoformat(),
            "awaiting_consumer": request.awaiting_consumer,
            "duplicate_of": request.duplicate_of if request.status is RequestStatus.DUPLICATE
            else None,
            "duplicate_of_due_at": first_due.isoformat() if first_due else None}


def tell_filed(dispatcher: CollectingDispatcher, facts: dict[str, Any]) -> None:
    """Confirm a filed request (`filed_facts`): its reference, due date and the quotes; or,
    for an agent's request, that the consumer must confirm first; or, for a duplicate, the
    request it repeats."""
    if facts.get("awaiting_consumer"):
        dispatcher.utter_message(response="utter_request_awaiting_consumer",
                                 reference=facts["reference"], email=facts["email"])
        return
    if facts.get("duplicate_of"):
        first_due = facts.get("duplicate_of_due_at")
        dispatcher.utter_message(
            response="utter_request_duplicate", reference=facts["reference"],
            request_label=LABELS[facts["type"]], first=facts["duplicate_of"],
            due=long_date(datetime.fromisoformat(first_due)) if first_due else "its due date")
        return
    dispatcher.utter_message(
        response="utter_request_filed", reference=facts["reference"],
        request_label=LABELS[facts["type"]],
        due=long_date(datetime.fromisoformat(facts["due_at"])), email=facts["email"],
    )
    if facts["type"] in ("deletion", "access"):
        dispatcher.utter_message(response="utter_quote_no_guarantee")
    dispatcher.utter_message(response="utter_quote_no_discrimination")


# --- what the code of a filed request does (see actions.common) -------------------------------

async def check_request_code(tracker: Tracker, code: str) -> dict[str, Any]:
    """Check the filed request's code; the verification it confirmed is the proof. The answer
    is the request itself, so what its confirmation says is kept (`filed_request`) instead of
    reading it back."""
    reference = tracker.get_slot("request_reference")
    verified = await call_backend(lambda client: client.verify_request(reference, code))
    return {"verification_id": verified.verification_id, "filed_request": filed_facts(verified)}


async def resend_request_code(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> list[EventType]:
    reference = tracker.get_slot("request_reference")
    sent = await call_backend(lambda client: client.resend_code(reference))
    tell_code_sent(dispatcher, tracker.get_slot("requester_email"), sent.mail_status,
                   sent.code_digits)
    return []


async def request_verified(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Confirm the filed request, now verified, from what the code's check kept of it; only a
    tracker without that (one from before it was kept) reads it back. If it cannot be read
    back, it is filed all the same: its answers and key stay, so that "try again" replays it
    (files nothing new) and tells its reference and due date."""
    reference = tracker.get_slot("request_reference")
    if not reference:
        return []
    facts = tracker.get_slot("filed_request")
    if not isinstance(facts, dict) or facts.get("reference") != reference:
        try:
            facts = filed_facts(await read_request(tracker, reference))
        except BackendError:
            dispatcher.utter_message(response="utter_backend_down")
            return [*[SlotSet(name, tracker.get_slot(name)) for name in REQUEST_SLOTS],
                    SlotSet("backend_outcome", "unavailable")]
    tell_filed(dispatcher, facts)
    return []


register_verification(Purpose.REQUEST, VerificationFlow(
    check=check_request_code, resend=resend_request_code, verified=request_verified))
