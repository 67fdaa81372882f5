"""Privacy rights requests in the chat: collect, confirm, verify by emailed code, file;
and look up a request's status after verifying the email again.

The backend does the work (request API, one-time codes, audit); these actions read slots,
call `actions.api.requests`, and pick responses. What a correct code does for a filed request
and for a status lookup is registered here too (`Purpose.REQUEST`, `Purpose.STATUS_LOOKUP`);
the code form itself is `actions.verification`. Every backend failure is answered politely
and leaves the conversation where a retry files exactly one request (the idempotency key
lives in the `request_key` slot until the request is filed).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
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
    VERIFICATION_SLOTS,
    Purpose,
    VerificationFlow,
    call_backend,
    confirm_code,
    long_date,
    proof_for,
    register_verification,
    reset,
    tell_code_sent,
    valid_email,
)
from actions.request_types import LABELS, TYPES, detect_request_type

SKIPPED = "-"
# Messages that are not an answer to "which request?" even when they name one ("what does
# deletion mean?"): the rules answer, explain, cancel or start over instead.
NOT_AN_ANSWER = frozenset({"ask_privacy", "explain", "cancel", "restart_request"})
REFERENCE = re.compile(r"\bPR[\s-]*([A-Z0-9]{4})[\s-]*([A-Z0-9]{4})\b")
MAX_FIELD = 200
MAX_DETAILS = 1000
# Intents the handoff rules answer at every slot of every form.
HANDOFF_INTENTS = ("request_human", "escalate_topic")

# A replayed request in one of these was verified already: it is filed.
VERIFIED_STATUSES = frozenset({RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS,
                               RequestStatus.COMPLETED})

STATUS_LABELS = {
    "pending_verification": "waiting for the email to be verified",
    "verified": "verified and queued for our privacy team",
    "in_progress": "in progress with our privacy team",
    "completed": "completed",
    "rejected": "closed without action (we wrote to you with the reason)",
    "closed_unverified": "closed, because the email was not verified within 7 days",
}


def optional(value: str | None) -> str | None:
    return None if value in (None, "", SKIPPED) else value


class ValidateRightsRequestForm(FormValidationAction):
    def name(self) -> str:
        return "validate_rights_request_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("request_type") == "correction":
            return domain_slots
        return [slot for slot in domain_slots if slot != "correction_details"]

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

    def validate_requester_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        email = valid_email(str(value or ""), dispatcher)
        return {"requester_email": email}

    def validate_requester_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"requester_name": bounded(value, MAX_FIELD, dispatcher)}

    def validate_requester_region(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"requester_region": bounded(value, MAX_FIELD, dispatcher)}

    def validate_correction_details(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"correction_details": bounded(value, MAX_DETAILS, dispatcher)}


def bounded(value: Any, limit: int, dispatcher: CollectingDispatcher) -> str | None:
    text = " ".join(str(value or "").split())
    if not text:
        return None
    if len(text) > limit:
        dispatcher.utter_message(response="utter_too_long", limit=limit)
        return None
    return text


class ActionAskRequestConfirmed(Action):
    """Summarise the request and ask whether to send the verification code."""

    def name(self) -> str:
        return "action_ask_request_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        agent = tracker.get_slot("authorized_agent")
        details = optional(tracker.get_slot("correction_details"))
        dispatcher.utter_message(
            response="utter_ask_request_confirmed",
            request_label=LABELS.get(tracker.get_slot("request_type") or "", "privacy"),
            email=tracker.get_slot("requester_email"),
            name=optional(tracker.get_slot("requester_name")) or "not given",
            region=optional(tracker.get_slot("requester_region")) or "not given",
            on_behalf="yes, as an authorized agent" if agent else "no, for myself",
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
        if request.status in VERIFIED_STATUSES:
            tell_filed(dispatcher, request)
            return [SlotSet("backend_outcome", "verified"), *reset(*REQUEST_SLOTS)]
        if request.status is not RequestStatus.PENDING_VERIFICATION:
            return refused(dispatcher)
        mail_status: str | None = request.mail_status
        if not request.code_live:
            try:
                sent = await call_backend(lambda client: client.resend_code(request.reference))
            except (BackendUnavailable, RateLimited) as error:
                return not_filed(dispatcher, error, key)
            except BackendError:
                return refused(dispatcher)
            mail_status = sent.mail_status
        tell_code_sent(dispatcher, request.email, mail_status)
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
    return await call_backend(lambda client: client.create_request(
        tracker.get_slot("request_type"), tracker.get_slot("requester_email"),
        name=optional(tracker.get_slot("requester_name")),
        region=optional(tracker.get_slot("requester_region")),
        authorized_agent=bool(tracker.get_slot("authorized_agent")),
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


def tell_filed(dispatcher: CollectingDispatcher, request: PrivacyRequest) -> None:
    dispatcher.utter_message(
        response="utter_request_filed", reference=request.reference,
        request_label=LABELS[request.type.value], due=long_date(request.due_at),
        email=request.email,
    )
    if request.type.value in ("deletion", "access"):
        dispatcher.utter_message(response="utter_quote_no_guarantee")
    dispatcher.utter_message(response="utter_quote_no_discrimination")


class ValidateStatusLookupForm(FormValidationAction):
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

    def validate_requester_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"requester_email": valid_email(str(value or ""), dispatcher)}


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
            limited = isinstance(error, RateLimited)
            dispatcher.utter_message(
                response="utter_too_many_codes" if limited else "utter_backend_down")
            # "declined", not "unavailable": "try again" retries filing a request, not this.
            return [SlotSet("backend_outcome", "declined"),
                    *reset("lookup_reference", "requester_email")]
        return [
            *sent,
            SlotSet("verification_purpose", Purpose.STATUS_LOOKUP.value),
            SlotSet("verification_code", None),
            SlotSet("backend_outcome", "ok"),
        ]


class ActionCancelRequest(Action):
    def name(self) -> str:
        return "action_cancel_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        loop = (tracker.active_loop or {}).get("name")
        filed_unverified = loop == "verification_form" and (
            tracker.get_slot("verification_purpose") == Purpose.REQUEST)
        dispatcher.utter_message(
            response="utter_cancelled_unverified" if filed_unverified else "utter_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None),
                *reset(*REQUEST_SLOTS, *VERIFICATION_SLOTS)]


# The form "start over" goes back to, by what the code being awaited is for.
RESTART_FORMS = {Purpose.REQUEST.value: "rights_request_form",
                 Purpose.STATUS_LOOKUP.value: "status_lookup_form",
                 Purpose.PREFERENCES.value: "marketing_form"}
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
        dispatcher.utter_message(response="utter_starting_over")
        # backend_outcome too: a "try again" must not replay a flow that was started over.
        events: list[EventType] = [SlotSet("requested_slot", None),
                                   SlotSet("backend_outcome", None),
                                   *reset(*REQUEST_SLOTS, *VERIFICATION_SLOTS)]
        if form in ("status_lookup_form", "marketing_form"):
            if form == "marketing_form":
                events += reset(*MARKETING_ANSWERS)
            return [*events, ActiveLoop(None), FollowupAction(form)]
        if loop == "verification_form":
            events.append(ActiveLoop(None))  # the rule starts the rights request form
        return events


# --- what the code is for: a filed request, or a status lookup (see actions.common) ----------

async def check_request_code(tracker: Tracker, code: str) -> dict[str, Any]:
    """Check the filed request's code; the verification it confirmed is the proof."""
    reference = tracker.get_slot("request_reference")
    verified = await call_backend(lambda client: client.verify_request(reference, code))
    return {"verification_id": verified.verification_id}


async def resend_request_code(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> list[EventType]:
    reference = tracker.get_slot("request_reference")
    sent = await call_backend(lambda client: client.resend_code(reference))
    tell_code_sent(dispatcher, tracker.get_slot("requester_email"), sent.mail_status)
    return []


async def request_verified(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Confirm the filed request, now verified. If it cannot be read back, it is filed all
    the same: its answers and key stay, so that "try again" replays it (files nothing new)
    and tells its reference and due date."""
    reference = tracker.get_slot("request_reference")
    if not reference:
        return []
    try:
        request = await read_request(tracker, reference)
    except BackendError:
        dispatcher.utter_message(response="utter_backend_down")
        return [*[SlotSet(name, tracker.get_slot(name)) for name in REQUEST_SLOTS],
                SlotSet("backend_outcome", "unavailable")]
    tell_filed(dispatcher, request)
    return []


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
            status=STATUS_LABELS.get(request.status.value, request.status.value),
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


async def read_request(tracker: Tracker, reference: str) -> PrivacyRequest:
    """Read the request the code just confirmed, with that code's verification as proof."""
    proof = tracker.get_slot("verification_id")
    return await call_backend(lambda client: client.get_request(
        reference, verification_id=proof, conversation_id=tracker.sender_id))


register_verification(Purpose.REQUEST, VerificationFlow(
    check=check_request_code, resend=resend_request_code, verified=request_verified))
register_verification(Purpose.STATUS_LOOKUP, VerificationFlow(
    check=check_lookup_code, resend=send_lookup_code, verified=lookup_verified))
