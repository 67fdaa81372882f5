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
from actions.request_types import LABELS
from actions.settings import settings
from privacy_kb import Answer, KnowledgeBase
from privacy_kb.kb import AUDIENCE_SCOPES
from privacy_kb.vocabulary import US_STATES
from rasa_server.routing import QUESTION_FORM, question_form

PUBLIC = "public"
INTERNAL = "internal"
STATEMENT_ID = "privacy-statement"


@lru_cache(maxsize=2)
def knowledge_base(audience: str = PUBLIC) -> KnowledgeBase:
    """The knowledge base of one audience's documents, built on first use (never at import)
    and then kept: the public one holds no internal document at all."""
    return KnowledgeBase.from_directory(settings().knowledge_dir,
                                        audiences=AUDIENCE_SCOPES[audience])


@lru_cache(maxsize=2)
def internal_anchors(kb: KnowledgeBase) -> frozenset[str]:
    """The sections of the knowledge base's internal documents (the staff handbook)."""
    return frozenset(p.anchor for p in kb.passages if p.audience == INTERNAL)


def audience_of(tracker: Tracker) -> str:
    """Staff on Slack read the internal documents too; everyone else the public ones. The
    input channel is set by the Rasa server from the channel the message came in on; no
    client can choose it (unlike metadata, which the widget sends)."""
    return INTERNAL if tracker.get_latest_input_channel() == "slack" else PUBLIC


@lru_cache(maxsize=1)
def _site_url() -> str:
    """SITE_URL as the action server started with it, read once (not on every answer)."""
    return settings().site_base_url


def statement_link(anchor: str) -> str:
    """The address of a section on the demo page that shows the statement."""
    return f"{_site_url()}/#{anchor}"


def answer_link(answer: Answer, audience: str) -> str:
    """The statement's section on the site; another document's section where it is
    published (its `source`, e.g. the intranet page of the staff handbook)."""
    if not answer.document_id or answer.document_id == STATEMENT_ID:
        return statement_link(answer.anchor)
    return f"{knowledge_base(audience).source_of(answer.document_id)}#{answer.anchor}"


def one_message(quote: str) -> str:
    """The quote with its paragraph breaks as single line breaks: channels split a message
    at blank lines, which would cut a quote apart from its heading. The words are unchanged."""
    return re.sub(r"\n\s*\n", "\n", quote.strip())


def utter_answer(dispatcher: CollectingDispatcher, answer: Answer,
                 audience: str = PUBLIC) -> None:
    link = answer_link(answer, audience)
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


# The offer after an answer, by the flow the question was routed away from
# (`routed_from`, set by rasa_server/question_router.py).
FLOW_OFFERS = {
    "check_request_status": "utter_offer_status",
    "opt_out_marketing": "utter_offer_opt_out",
    "subscribe_marketing": "utter_offer_subscribe",
    "request_human": "utter_offer_person",
    "escalate_topic": "utter_offer_person",
}


def routed_from(tracker: Tracker) -> str | None:
    """The flow the classifier chose for the latest message, when it was phrased as a
    question and so answered instead."""
    routed = tracker.latest_message.get("routed_from") or {}
    name = routed.get("name") if isinstance(routed, dict) else None
    return str(name) if name else None


def form_of(tracker: Tracker, question: str) -> dict[str, Any]:
    """What the question's form says (`rasa_server.routing.question_form`): as the Rasa
    server's router found it for the latest message, or, in a tracker without it (one from
    before the router kept it, a test without the router), read from the question here."""
    found = tracker.latest_message.get(QUESTION_FORM)
    return found if isinstance(found, dict) else question_form(question)


def offer_matching_flow(
    dispatcher: CollectingDispatcher, tracker: Tracker, question: str
) -> None:
    """After a question about a right ("can I ask you to delete my data?"), offer to start
    that request; after a question the classifier took for another flow (a status lookup,
    a marketing change, a person), offer that flow. Nothing while a form is under way."""
    if tracker.active_loop.get("name"):
        return
    flow = routed_from(tracker)
    form = form_of(tracker, question)
    kind = form.get("request_type")
    # A question about the visitor's own data or right gets the offer ("can I have my data
    # deleted?"); a general one ("what data do you collect?") only the answer.
    personal = flow == "request_right" or form.get("about_my_right") or form.get("personal")
    if kind is not None and flow in (None, "request_right") and personal:
        dispatcher.utter_message(
            response="utter_offer_request", request_type=kind, request_label=LABELS[kind]
        )
    elif flow == "request_right":
        dispatcher.utter_message(response="utter_offer_any_request")
    elif flow in FLOW_OFFERS:
        dispatcher.utter_message(response=FLOW_OFFERS[flow])


# The statement's passages on exercising rights, preferred for a question about exercising
# one ("can I get a copy of my data?"), which shares its words with the passages on what is
# collected.
RIGHTS_ANCHORS = frozenset({"privacy-rights", "submitting-a-request"})


# A visitor naming the US state they live in (other than California, which the statement
# covers in a passage of its own) asks whether the state-law rights apply to them.
_OTHER_STATE = re.compile(r"\b(" + "|".join(US_STATES) + r")\b")


# Questions whose subject has a section of its own, which word overlap with the longer
# sections on collection and rights often outranks.
_TOPIC_ANCHORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(kids?|child|children|childs|minors?|teens?|teenagers?|underage|"
                r"\d+ ?(year|yr)s?[- ]old|my (son|daughter))\b"),
     "collection-and-use-of-childrens-information"),
    (re.compile(r"\b(link(ed|s)? to|linked|other|partner|third[- ]party|external) "
                r"(site|sites|website|websites|page|pages)\b"),
     "links-to-third-party-websites-and-services"),
    (re.compile(r"\b(discriminat\w*|treat me (differently|worse)|penali[sz]\w*|punish\w*|"
                r"retaliat\w*|charge me more)\b"), "privacy-rights"),
)
# Who to write to, when the question is not about exercising a right.
_CONTACT = re.compile(r"\b(privacy (team|office|officer|department)|dpo|get in touch|"
                      r"(contact|reach|write to|email|call) (you|u|someone|somebody))\b")
CONTACT_ANCHORS = frozenset({"contact-us",
                             "overview-accessing-deleting-and-updating-your-information-"
                             "and-contact-us"})


def prefer_for(tracker: Tracker, question: str) -> frozenset[str]:
    """The anchors to prefer for this question: the section of its own for children or
    linked sites; the rights passages when it asks about exercising a right (it names one,
    and asks whether or how the visitor can), or names the state the visitor lives in."""
    flow = routed_from(tracker)
    lowered = question.lower()
    for pattern, anchor in _TOPIC_ANCHORS:
        if pattern.search(lowered):
            return frozenset({anchor})
    form = form_of(tracker, question)
    if flow == "request_right" or (
            form.get("request_type") is not None and form.get("about_my_right")):
        return RIGHTS_ANCHORS
    if _OTHER_STATE.search(lowered):
        return frozenset({"privacy-rights"})
    if _CONTACT.search(lowered):
        return CONTACT_ANCHORS
    return frozenset()


class ActionAnswerPrivacyQuestion(Action):
    """Quote the sentence that answers the latest message, or say the statement is silent."""

    def __init__(self) -> None:
        # The SDK creates each action once, when the action server starts: building the
        # knowledge bases here (sentence model, embeddings: a few seconds) keeps that wait
        # out of the first visitor's question.
        for audience in AUDIENCE_SCOPES:
            knowledge_base(audience)

    def name(self) -> str:
        return "action_answer_privacy_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        question = (tracker.latest_message.get("text") or "").strip()
        audience = audience_of(tracker)
        kb = knowledge_base(audience)
        prefer = prefer_for(tracker, question)
        if audience == INTERNAL:
            # Staff asking in Slack ("how long do we keep support tickets?") ask about the
            # company's own practice: the handbook's sections come first.
            prefer = prefer | internal_anchors(kb)
        answer = kb.answer(question, audience=audience, prefer=prefer) if question else None
        if answer is None:
            understood = tracker.latest_message.get("intent", {}).get("name") != "nlu_fallback"
            if audience == INTERNAL:
                # Staff get "I don't know" and the offer to ask the privacy team
                # (action_ask_privacy_team posts this question with a link to the thread).
                dispatcher.utter_message(response="utter_internal_silent")
                return [SlotSet("last_question", None), SlotSet("shown_passages", [])]
            if not understood and misunderstood_twice(tracker):
                return [FollowupAction("action_handoff")]
            # A privacy question the statement does not cover is declined as such; a message
            # that was not understood at all gets the re-prompt instead.
            dispatcher.utter_message(
                response="utter_statement_silent" if understood else "utter_default"
            )
            offer_matching_flow(dispatcher, tracker, question)
            return [SlotSet("last_question", None), SlotSet("shown_passages", [])]
        utter_answer(dispatcher, answer, audience)
        if audience == PUBLIC:
            offer_matching_flow(dispatcher, tracker, question)
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
        audience = audience_of(tracker)
        answer = knowledge_base(audience).answer(question, audience=audience, exclude=shown)
        if answer is None:
            dispatcher.utter_message(response="utter_no_more")
            return []
        utter_answer(dispatcher, answer, audience)
        return [SlotSet("shown_passages", [*shown, answer.passage_id])]
