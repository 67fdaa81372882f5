"""The one pattern for a one-time code typed by a person, and its mask.

A code is six digits; people write it as `123456`, `123 456`, `123-456`, `123.456` or
`1 2 3 4 5 6`, so one separator (a space, a dash or a dot) may stand between any two digits.
A longer number (a phone number, a date such as `2024-01-15`) is not a code: a digit, or a
separator and a digit, right before or after the six digits means they are part of
something longer.

Standard library only: the Rasa server's tracker store (`rasa_server/tracker_store.py`),
the action server (the handoff summary, `actions/handoff.py`) and the backend (handoff
summaries) all use it.
"""

from __future__ import annotations

import re

MASK = "[code]"
_SEP = r"[\s.\-\u2013]"
CODE = re.compile(rf"(?<!\d)(?<!\d{_SEP})(?:\d{_SEP}?){{5}}\d(?!{_SEP}?\d)")
ONLY_A_CODE = re.compile(rf"^\s*(?:\d{_SEP}?){{5}}\d\s*\.?\s*$")


def mask_codes(text: str) -> str:
    """`text` with every one-time code replaced by `[code]`."""
    return CODE.sub(MASK, text)


def is_only_a_code(text: str) -> bool:
    return ONLY_A_CODE.match(text) is not None
