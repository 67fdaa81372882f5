"""What a visitor's own words say about their marketing choices: which channel ("no more
promo texts" is SMS), which topic (promotions), or everything everywhere. Pure functions."""

from __future__ import annotations

import re

CHANNEL_LABELS = {"email": "email", "sms": "text messages", "phone": "phone calls",
                  "postal": "postal mail"}
TOPIC_LABELS = {"product_news": "product news", "events": "events", "newsletters": "newsletters",
                "promotions": "promotions and offers"}

_CHANNELS = [
    ("sms", re.compile(r"\b(sms|texts?|texting|text messages?)\b")),
    ("phone", re.compile(r"\b(phone|calls?|calling|ring(ing)?|telemarketing)\b")),
    ("postal", re.compile(r"\b(post|postal|letters?|mail ?outs?|snail ?mail|catalogs?)\b")),
    ("email", re.compile(r"\b(e-?mails?|e-?mailing|newsletters?|inbox|mailing list)\b")),
]
_TOPICS = [
    ("newsletters", re.compile(r"\bnewsletters?\b")),
    ("promotions", re.compile(r"\b(promos?|promotions?|promotional|offers?|deals?|discounts?|"
                              r"sales)\b")),
    ("events", re.compile(r"\b(events?|webinars?|conferences?|invitations?|invites?)\b")),
    ("product_news", re.compile(r"\b(product (news|updates?|announcements?)|release notes|"
                                r"what'?s new)\b")),
]
_EVERYTHING = re.compile(
    r"\b(everything|all (marketing|of it|communications?|channels)|any marketing|"
    r"all marketing|everywhere|global|completely|at all)\b")

# Button payloads and short answers name a channel or topic directly.
_NAMES = {**{k: k for k in CHANNEL_LABELS}, **{v: k for k, v in CHANNEL_LABELS.items()},
          "text": "sms", "texts": "sms", "phone": "phone", "mail": "postal"}


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def detect_channel(text: str) -> str | None:
    words = _normal(text)
    if words.strip(" .!?") in _NAMES:
        return _NAMES[words.strip(" .!?")]
    for channel, pattern in _CHANNELS:
        if pattern.search(words):
            return channel
    return None


def detect_topic(text: str) -> str | None:
    words = _normal(text)
    for topic, pattern in _TOPICS:
        if pattern.search(words):
            return topic
    return None


def wants_everything(text: str) -> bool:
    return bool(_EVERYTHING.search(_normal(text)))
