"""Answers about the privacy statement, quoted from it, or an honest "it does not say".

The retrieval and the decision to abstain live in `privacy_kb`; these actions read the
question, ask the knowledge base, and pick the response.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import misunderstood_twice
from actions.request_types import LABELS, detect_request_type
from actions.settings import settings
from privacy_kb import Answer, KnowledgeBase

PUBLIC = "public"


@lru_cache(maxsize=1)
def knowledge_base() -> KnowledgeBase:
    """The knowledge base, built on first use (never at import) and then kept."""
    return KnowledgeBase.from_directory(settings().knowledge_dir)


@lru_cache(maxsize=1)
def _site_url() -> str:
    """SITE_URL as the action server started with it, read once (not on every answer)."""
    return settings().site_base_url


def statement_link(anchor: str) -> str:
    """The address of a section on the demo page that shows the statement."""
    return f"{_site_url()}/#{anchor}"


def one_message(quote: str) -> str:
    """The quote with its paragraph breaks as single line breaks: channels split a message
    at blank lines, which would cut a quote apart from its heading. The words are unchanged."""
    return re.sub(r"\n\s*\n", "\n", quote.strip())


def utter_answer(dispatcher: CollectingDispatcher, answer: Answer) -> None:
    link = statement_link(answer.anchor)
    citation: dict[str, Any] = {
        "heading": answer.heading,
        "anchor": answer.anchor,
        "link": link,
        "score": round(answer.score, 4),
    }
    dispatcher.utter_message(
        response="utter_answer_from_statement",
        quote=one_message(answer.quote),
        heading=answer.heading,
        link=link,
        json_message={"citation": citation},
    )


def offer_matching_request(
    dispatcher: CollectingDispatcher, tracker: Tracker, question: str
) -> None:
    """After a question about a right ("can I ask you to delete my data?"), offer to start
    that request, unless a request or lookup is already under way."""
    if tracker.active_loop.get("name"):
        return
    kind = detect_request_type(question)
    if kind is not None:
        dispatcher.utter_message(
            response="utter_offer_request", request_type=kind, request_label=LABELS[kind]
        )


class ActionAnswerPrivacyQuestion(Action):
    """Quote the passage that answers the latest message, or say the statement is silent."""

    def name(self) -> str:
        return "action_answer_privacy_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        question = (tracker.latest_message.get("text") or "").strip()
        answer = knowledge_base().answer(question, audience=PUBLIC) if question else None
        if answer is None:
            understood = tracker.latest_message.get("intent", {}).get("name") != "nlu_fallback"
            if not understood and misunderstood_twice(tracker):
                return [FollowupAction("action_handoff")]
            # A privacy question the statement does not cover is declined as such; a message
            # that was not understood at all gets the re-prompt instead.
            dispatcher.utter_message(
                response="utter_statement_silent" if understood else "utter_default"
            )
            return [SlotSet("last_question", None), SlotSet("shown_passages", [])]
        utter_answer(dispatcher, answer)
        offer_matching_request(dispatcher, tracker, question)
        return [
            SlotSet("last_question", question),
            SlotSet("shown_passages", [answer.passage_id]),
        ]


class ActionTellMeMore(Action):
    """The next most relevant passage for the last question, never one already shown."""

    def name(self) -> str:
        return "action_tell_me_more"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        question = tracker.get_slot("last_question")
        if not question:
            dispatcher.utter_message(response="utter_nothing_to_expand")
            return []
        shown = list(tracker.get_slot("shown_passages") or [])
        answer = knowledge_base().answer(question, audience=PUBLIC, exclude=shown)
        if answer is None:
            dispatcher.utter_message(response="utter_no_more")
            return []
        utter_answer(dispatcher, answer)
        return [SlotSet("shown_passages", [*shown, answer.passage_id])]
