"""The one pattern for a one-time code typed by a person, and its mask.

A code is six digits, or nine while its address is over its guessing limit (the backend's
`services/code_limits.py`); people write it as `123456`, `123 456`, `123-456`, `123.456`,
`1 2 3 4 5 6` or `123 456 789`, so one separator (a space, a dash or a dot) may stand
between any two digits. A number of another length (a phone number, a date such as
`2024-01-15`) is not a code: a digit, or a separator and a digit, right before or after the
digits means they are part of something longer. A nine-digit number is masked wherever it
stands (a US social security number among them), which hides more, never less.

Standard library only: the Rasa server's tracker store (`rasa_server/tracker_store.py`),
the action server (the handoff summary, `actions/handoff.py`) and the backend (handoff
summaries) all use it.
"""

from __future__ import annotations

import re

MASK = "[code]"
CODE_DIGITS = 6
LONG_CODE_DIGITS = 9
_SEP = r"[\s.\-\u2013]"
# Nine digits first, so that a long code is masked whole rather than judged too long.
_DIGITS = rf"(?:(?:\d{_SEP}?){{{LONG_CODE_DIGITS - 1}}}\d|(?:\d{_SEP}?){{{CODE_DIGITS - 1}}}\d)"
CODE = re.compile(rf"(?<!\d)(?<!\d{_SEP}){_DIGITS}(?!{_SEP}?\d)")
ONLY_A_CODE = re.compile(rf"^\s*{_DIGITS}\s*\.?\s*$")


def mask_codes(text: str) -> str:
    """`text` with every one-time code replaced by `[code]`."""
    return CODE.sub(MASK, text)


def is_only_a_code(text: str) -> bool:
    return ONLY_A_CODE.match(text) is not None
