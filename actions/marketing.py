"""Marketing choices in the chat: opt out (a channel, a topic, or everything), opt back in,
and see the current choices.

Opting out needs only the address and the choice (CAN-SPAM allows no more): it is recorded at
once through the backend's proof-free opt-out (`client.opt_out`), whose answer says nothing of
the address's other choices. Seeing the choices and opting back in need the email verified
with a one-time code (or verified earlier in the same conversation: see
`actions.common.recently_verified`), since they show or widen what the address receives.

The backend's preference API records each change with its source and conversation; these
actions read slots, call `actions.api.preferences`, and pick responses. What a correct code
does for `Purpose.PREFERENCES` is registered here; the code form is `actions.verification`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.api.base import call_off_loop
from actions.api.errors import BackendError, RateLimited
from actions.api.preferences import MarketingPreferences, MarketingPreferencesClient
from actions.api.preferences import from_env as preferences_from_env
from actions.common import (
    EmailForm,
    Purpose,
    VerificationFlow,
    call_backend,
    confirm_code,
    proof_for,
    recently_verified,
    refuse_code,
    register_verification,
    tell_code_sent,
)
from actions.preference_words import (
    CHANNEL_LABELS,
    TOPIC_LABELS,
    detect_channel,
    detect_topic,
    wants_everything,
)

T = TypeVar("T")
ACTIONS = {"opt_out_marketing": "opt_out", "subscribe_marketing": "opt_in",
           "view_preferences": "view"}
MARKETING_SLOTS = ("marketing_action", "marketing_channel", "marketing_topic", "marketing_key")


def preferences_client() -> MarketingPreferencesClient:
    return preferences_from_env()


async def call_preferences(method: Callable[[MarketingPreferencesClient], T]) -> T:
    return await call_off_loop(preferences_client, method)


class ActionPrepareMarketing(Action):
    """Read what the visitor asked for before the form asks anything."""

    def name(self) -> str:
        return "action_prepare_marketing"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name", "")
        action = ACTIONS.get(intent, "view")
        events: list[EventType] = [SlotSet(name, None) for name in MARKETING_SLOTS]
        events.append(SlotSet("marketing_action", action))
        channel, topic = detect_channel(text), detect_topic(text)
        if action != "view":
            if wants_everything(text) and channel is None:
                channel, topic = "all", "all"
            events.append(SlotSet("marketing_channel", channel))
            if topic is not None:
                events.append(SlotSet("marketing_topic", topic))
        verified = tracker.get_slot("verified_email")
        if recently_verified(tracker, verified):
            events.append(SlotSet("requester_email", verified))
        return events


class ValidateMarketingForm(EmailForm):
    def name(self) -> str:
        return "validate_marketing_form"

    def needed_slots(self, domain_slots: list[str], tracker: Tracker) -> list[str]:
        if tracker.get_slot("marketing_action") == "view":
            return ["requester_email"]
        if tracker.get_slot("marketing_channel") == "all":
            return ["marketing_channel", "requester_email"]
        return domain_slots

    def validate_marketing_channel(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value in (*CHANNEL_LABELS, "all"):
            return {"marketing_channel": value}
        return {"marketing_channel": detect_channel(str(value or ""))}

    def validate_marketing_topic(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value in (*TOPIC_LABELS, "all"):
            return {"marketing_topic": value}
        text = str(value or "")
        return {"marketing_topic": "all" if wants_everything(text) else detect_topic(text)}


class ActionStartMarketingVerification(Action):
    """Send a code to the address, unless this conversation verified it a moment ago or the
    visitor is opting out (`no_code`: recorded at once, see the module's docstring)."""

    def name(self) -> str:
        return "action_start_marketing_verification"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        email = tracker.get_slot("requester_email")
        if tracker.get_slot("marketing_action") == "opt_out":
            return [SlotSet("backend_outcome", "no_code")]
        if recently_verified(tracker, email):
            return [SlotSet("backend_outcome", "verified")]
        try:
            sent = await send_preferences_code(dispatcher, tracker)
        except BackendError as error:
            refuse_code(dispatcher, error)
            return [SlotSet("backend_outcome", "declined")]
        return [*sent, SlotSet("verification_purpose", Purpose.PREFERENCES.value),
                SlotSet("verification_code", None), SlotSet("backend_outcome", "ok")]


def changes_for(action: str, channel: str, topic: str | None) -> dict[str, Any]:
    """The PATCH body for what the visitor chose."""
    wanted = action == "opt_in"
    if channel == "all":
        if not wanted:
            return {"global_opt_out": True}
        return {"global_opt_out": False, "channels": {c: True for c in CHANNEL_LABELS}}
    choice: bool | dict[str, bool] = wanted if topic in (None, "all") else {str(topic): wanted}
    return {"channels": {channel: choice}, **({"global_opt_out": False} if wanted else {})}


def describe(prefs: MarketingPreferences) -> str:
    if prefs.global_opt_out:
        return "• You are opted out of all marketing, on every channel."
    lines = []
    for channel, label in CHANNEL_LABELS.items():
        topics = [TOPIC_LABELS[t] for t, on in prefs.channels.get(channel, {}).items() if on]
        lines.append(f"• {label.capitalize()}: {', '.join(topics) if topics else 'nothing'}")
    return "\n".join(lines)


def opt_out_scope(channel: str | None, topic: str | None) -> dict[str, str | None]:
    """The proof-free opt-out's `channel` and `topic` for what the visitor chose: neither for
    everything, a channel alone for all of its topics."""
    if channel in (None, "all"):
        return {"channel": None, "topic": None}
    return {"channel": channel, "topic": None if topic in (None, "all") else topic}


def describe_opt_out(channel: str | None, topic: str | None) -> str:
    if channel in (None, "all"):
        return "all marketing, on every channel"
    label = CHANNEL_LABELS.get(channel, channel)
    if topic in (None, "all"):
        return f"all marketing by {label}"
    return f"{TOPIC_LABELS.get(topic, topic)} by {label}"


async def opt_out_marketing(dispatcher: CollectingDispatcher, tracker: Tracker
                            ) -> list[EventType]:
    """Record the opt-out without a code; the answer shows only what was recorded."""
    email = tracker.get_slot("requester_email")
    channel, topic = tracker.get_slot("marketing_channel"), tracker.get_slot("marketing_topic")
    try:
        await call_preferences(lambda client: client.opt_out(
            email, conversation_id=tracker.sender_id, **opt_out_scope(channel, topic)))
    except RateLimited:
        # Too many code-free opt-outs for this address or from this chat just now.
        dispatcher.utter_message(response="utter_marketing_opt_out_limited")
        return [SlotSet("backend_outcome", "declined"),
                *[SlotSet(s, None) for s in MARKETING_SLOTS]]
    except BackendError:
        # Nothing recorded; "try again" records it once (the slots are kept for it).
        dispatcher.utter_message(response="utter_marketing_not_changed")
        return [SlotSet("requester_email", email), SlotSet("backend_outcome", "apply_failed")]
    dispatcher.utter_message(response="utter_marketing_opted_out", email=email,
                             what=describe_opt_out(channel, topic))
    dispatcher.utter_message(response="utter_quote_marketing_timing")
    return [SlotSet("backend_outcome", "ok"), *[SlotSet(s, None) for s in MARKETING_SLOTS]]


async def apply_marketing(dispatcher: CollectingDispatcher, tracker: Tracker,
                          verified: bool = False) -> list[EventType]:
    """Opt out (no code), or show or widen the verified visitor's choices; the outcome
    drives the next rule. `verified`: the code was checked in this very turn (the slots
    saying so come after)."""
    action = tracker.get_slot("marketing_action")
    if action == "opt_out":
        return await opt_out_marketing(dispatcher, tracker)
    email = tracker.get_slot("requester_email")
    # The backend's proof: the code confirmed in this very turn, or the one remembered.
    proof = tracker.get_slot("verification_id") if verified else proof_for(tracker, email)
    if not proof:
        # Never show or widen choices for an address this conversation has not proved it owns.
        dispatcher.utter_message(response="utter_cancelled")
        return [SlotSet("backend_outcome", "declined"),
                *[SlotSet(name, None) for name in MARKETING_SLOTS]]
    key = tracker.get_slot("marketing_key") or f"chat-{uuid.uuid4().hex}"
    try:
        if action == "view":
            prefs = await call_preferences(lambda client: client.get(
                email, verification_id=proof, conversation_id=tracker.sender_id))
            dispatcher.utter_message(response="utter_marketing_view", email=email,
                                     choices=describe(prefs))
            return [SlotSet("backend_outcome", "ok"), *[SlotSet(s, None) for s in MARKETING_SLOTS]]
        changes = changes_for(action, tracker.get_slot("marketing_channel"),
                              tracker.get_slot("marketing_topic"))
        prefs = await call_preferences(lambda client: client.update(
            email, changes, source="chat", conversation_id=tracker.sender_id,
            idempotency_key=key, verification_id=proof))
    except BackendError:
        # Nothing half-applied: the PATCH is one transaction, and the key makes a retry
        # record the change once. The address stays too: when the code was accepted in this
        # turn, the code form's end clears it, and "try again" needs it (the conversation
        # has proved it owns the address: see `mark_verified`).
        dispatcher.utter_message(response="utter_marketing_not_changed")
        return [SlotSet("marketing_key", key), SlotSet("requester_email", email),
                SlotSet("backend_outcome", "apply_failed")]
    dispatcher.utter_message(response="utter_marketing_opted_in", choices=describe(prefs))
    return [SlotSet("backend_outcome", "ok"), *[SlotSet(s, None) for s in MARKETING_SLOTS]]


class ActionApplyMarketing(Action):
    def name(self) -> str:
        return "action_apply_marketing"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return await apply_marketing(dispatcher, tracker)


# --- what the code is for: marketing choices (see actions.common) -----------------------------

async def check_preferences_code(tracker: Tracker, code: str) -> dict[str, Any]:
    await confirm_code(tracker, code)
    return {}


async def send_preferences_code(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> list[EventType]:
    """Email a code for the address in `requester_email`: the first one, or a new one."""
    email = tracker.get_slot("requester_email")
    sent = await call_backend(lambda client: client.start_verification(
        email, Purpose.PREFERENCES, conversation_id=tracker.sender_id))
    tell_code_sent(dispatcher, email, sent.mail_status, sent.code_digits)
    return [SlotSet("verification_id", sent.verification_id)]


async def preferences_verified(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> list[EventType]:
    """Apply the choice: the code was checked in this very turn."""
    return await apply_marketing(dispatcher, tracker, verified=True)


register_verification(Purpose.PREFERENCES, VerificationFlow(
    check=check_preferences_code, resend=send_preferences_code, verified=preferences_verified))
