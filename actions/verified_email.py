"""Which address this conversation has proved it owns, and until when. One code is enough
for every flow (rights requests, status lookups, marketing choices) for VERIFIED_FOR
seconds of the same conversation."""

from __future__ import annotations

import time

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

VERIFIED_FOR = 30 * 60


def recently_verified(tracker: Tracker, email: str | None) -> bool:
    until = tracker.get_slot("verified_until") or 0
    return bool(email) and tracker.get_slot("verified_email") == email and until > time.time()


def mark_verified(email: str | None) -> list[EventType]:
    """Remember, for a short while, that this conversation proved it owns `email`."""
    if not email:
        return []
    return [SlotSet("verified_email", email), SlotSet("verified_until", time.time() + VERIFIED_FOR)]
