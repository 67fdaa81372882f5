"""Which privacy right a visitor's own words ask for ("erase everything you have on me" is a
deletion request). Used to fill the request form and to offer the matching request after a
question about a right. Pure functions: no I/O."""

from __future__ import annotations

import re

# Checked in this order: the first kind whose pattern matches wins, so the more specific
# kinds (portability mentions "copy" too; deletion beats "know what you have") come first.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("deletion", re.compile(
        r"\b(delet\w*|eras\w*|remov\w*|wip\w*|destroy\w*|forget me|be forgotten|"
        r"get rid of)\b")),
    ("portability", re.compile(
        r"\b(export\w*|port(ing)?|portab\w*|transfer\w*|machine[- ]readable|"
        r"move my (data|information|info)|another (provider|company|service|organi[sz]ation))\b")),
    ("correction", re.compile(
        r"\b(correct\w*|rectif\w*|updat\w*|fix\w*|wrong|incorrect|inaccurate|out of date|"
        r"outdated|mistake in|change my (name|address|email|phone|details|information|info))\b")),
    ("access", re.compile(
        r"\b(copy|copies|access\w*|download\w*|see (all |the )?(my )?(data|information|info))\b")),
    ("know", re.compile(
        r"\b(right to know|know what|what (data|information|info|personal information|"
        r"personal data) (do )?you (have|hold|keep|store)|collected about me|"
        r"have (collected )?(on|about) me)\b")),
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
