"""The references people read aloud and type back (`PR-7KQ2-M9XD` for a request,
`OO-7K2M9QXA` for an opt-out): random characters from an alphabet without look-alikes."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L or U: easy to read aloud and to type back.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def random_chars(count: int = 8) -> str:
    """`count` characters of REFERENCE_ALPHABET, from `secrets`."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(count))
