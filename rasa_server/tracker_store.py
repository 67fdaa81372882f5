"""Rasa's SQL tracker store, with one-time codes masked before anything is persisted.

A visitor verifies an address by typing the 6-digit code from the email, so the code is a
user message (and the value of the `verification_code` slot until the form validates it).
Rasa keeps every event forever, and the console shows transcripts, so `save` masks the code
in place before Rasa writes the events (or streams them to an event broker):

* the text of a user message sent while the form asks for `verification_code`, and of any
  user message that is only a code (six digits, a space, dash or dot allowed between any
  two: `123 456`, `123-456`, `1 2 3 4 5 6`; the one pattern of `privacy_assistant.code_mask`);
* any `verification_code` slot value that still holds digits (the form replaces it with
  `verified` or `failed` once the backend has checked it).

The backend checks codes itself and stores only their keyed hashes, so nothing needs the
clear code once the turn is over.
"""

from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from privacy_assistant.code_mask import MASK, is_only_a_code, mask_codes
from privacy_assistant.tombstones import drop_erased_events

CODE_SLOT = "verification_code"
__all__ = ["MASK", "MaskingSQLTrackerStore", "mask_codes", "mask_tracker"]


def _mask_user(event: UserUttered, asked_for_code: bool) -> None:
    text = event.text or ""
    if not (asked_for_code or is_only_a_code(text)):
        return
    masked = mask_codes(text)
    if masked == text:
        return
    event.text = masked
    parse_data: dict[str, Any] = event.parse_data or {}
    if isinstance(parse_data.get("text"), str):
        parse_data["text"] = mask_codes(parse_data["text"])
    for entity in parse_data.get("entities") or []:
        if isinstance(entity.get("value"), str):
            entity["value"] = mask_codes(entity["value"])


def mask_tracker(tracker: DialogueStateTracker) -> None:
    """Mask every code in the tracker's events, in place (idempotent)."""
    requested: Any = None
    for event in tracker.events:
        if isinstance(event, SlotSet):
            if event.key == "requested_slot":
                requested = event.value
            elif event.key == CODE_SLOT and isinstance(event.value, str) \
                    and any(ch.isdigit() for ch in event.value):
                event.value = MASK
        elif isinstance(event, UserUttered):
            _mask_user(event, requested == CODE_SLOT)


class MaskingSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` that masks one-time codes first; configured like it."""

    async def save(self, tracker: DialogueStateTracker) -> None:
        mask_tracker(tracker)
        # A turn that loaded the tracker before the backend erased the conversation must not
        # write the erased events back (`privacy_assistant.tombstones`).
        drop_erased_events(self.engine, tracker)
        await super().save(tracker)
