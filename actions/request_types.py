"""Which privacy right a visitor's own words ask for ("erase everything you have on me" is a
deletion request). Used to fill the request form and to offer the matching request after a
question about a right. Pure functions: no I/O."""

from __future__ import annotations

import re

# Checked in this order: the first kind whose pattern matches wins, so the more specific
# kinds (portability mentions "copy" too; deletion beats "know what you have") come first.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("deletion", re.compile(
        r"\b(delet\w*|eras\w*|remov\w*|wip\w*|destroy\w*|purg\w*|forget me|be forgotten|"
        r"get rid of)\b")),
    ("portability", re.compile(
        r"\b(export\w*|port(ing)?|portab\w*|transfer\w*|machine[- ]readable|csv|json|xml|"
        r"spreadsheet|excel|structured|commonly used|(readable|usable|open) format|"
        r"in a format|move (my|the|it) (data|information|info)?|"
        r"another (provider|company|service|organi[sz]ation|vendor|platform)|"
        r"(new|different|other) (provider|company|service|vendor|platform)|switching|"
        r"import (it )?(elsewhere|somewhere)|upload (it )?to)\b")),
    ("correction", re.compile(
        r"\b(correct\w*|rectif\w*|updat\w*|fix\w*|amend\w*|wrong|incorrect|inaccurate|"
        r"out of date|outdated|mistake in|misspel\w*|"
        r"change (my|the) (name|address|email|phone|number|details|information|info|title))\b")),
    ("access", re.compile(
        r"\b(copy|copies|access\w*|download\w*|see (all |the )?(my )?(data|information|info)|"
        r"everything (you|u) (have|hold|got|keep|store)|send me (all )?(my|the) (data|info\w*)|"
        r"my (data|information|info) back)\b")),
    ("know", re.compile(
        r"\b(right to know|request to know|know request|know what|categor\w*|rundown|"
        r"what (personal )?(data|information|info|informations|details) (of mine )?"
        r"((do|have) )?(you|u)('ve| have)? (have|hold|keep|store|stor\w*|collect\w*|gather\w*)|"
        r"what (you|u) (know|collected|gathered|hold|have) (about|on|from) me|"
        r"which (personal )?(data|information|info|informations)|"
        r"collected (about|on|from) me|have (collected )?(on|about) me|"
        r"report of what|tell me what|inform me (what|which))\b")),
]

TYPES = ("know", "access", "portability", "deletion", "correction")

LABELS = {
    "know": "right-to-know",
    "access": "access",
    "portability": "data portability",
    "deletion": "deletion",
    "correction": "correction",
}

# Words a visitor may type (or a button may send) when asked which kind of request.
_NAMES = {
    "know": "know", "right to know": "know", "right-to-know": "know",
    "access": "access", "copy": "access",
    "portability": "portability", "data portability": "portability", "export": "portability",
    "deletion": "deletion", "delete": "deletion", "erase": "deletion",
    "correction": "correction", "correct": "correction", "update": "correction",
}


def detect_request_type(text: str) -> str | None:
    """The kind of request the text asks for, or None when it names none."""
    lowered = " ".join(text.lower().split())
    if not lowered:
        return None
    name = lowered.strip(" .!?")
    if name in _NAMES:
        return _NAMES[name]
    for kind, pattern in _PATTERNS:
        if pattern.search(lowered):
            return kind
    return None
