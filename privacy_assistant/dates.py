"""How a date is written to a person, in chat and in mail alike: "January 5, 2027"."""

from __future__ import annotations

from datetime import date


def long_date(moment: date) -> str:
    """The day of `moment` (a date or datetime) as "January 5, 2027", without a leading zero."""
    return f"{moment:%B} {moment.day}, {moment.year}"
