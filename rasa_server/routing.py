"""Tell a question about a topic from a request to act on it.

The intent classifier learns what a message is about; whether the visitor asks about it or
asks for it is in the form of the sentence, which a few hundred examples teach it poorly:
"could I ask you to erase my details?" and "erase my details" share every content word. So
after the classifier, `QuestionRouter` (`rasa_server/question_router.py`) looks at the
message's form, and a question classified into a flow is answered from the statement
instead (the answer then offers that flow as a button). What stays a flow:

- an imperative or a wish ("delete my data", "I want a copy", "please stop texting me"); one
  that names a right, or says to stop marketing, is that flow even when the classifier took
  it for a question ("give me my data as a csv", "unsubscribe me from marketing emails");
- a polite request ("can you delete my data?", "could you send me my data") — "can you" +
  an action is a request in English, "can I" / "do you" / "would you ever" is a question;
- a status question that refers to a filed request (a reference, or status words:
  "where is my request?", "any update on PR-7KQ2-M9XD?");
- a question asking for a person ("can I talk to someone?");
- "what am I subscribed to?": it reads the visitor's own choices.

The rules are plain regular expressions over the lower-cased text, so each decision can be
read and tested (`tests/assistant/test_routing.py`). Standard library only, and the request
type words of `actions.request_types` (also pure): the Rasa server imports this module from
its own environment.
"""

from __future__ import annotations

import re

from actions.request_types import detect_request_type

QUESTION_INTENT = "ask_privacy"
# Intents that start a flow; a question classified as one of these is answered instead.
HANDOFF_INTENTS = frozenset({"request_human", "escalate_topic"})
FLOW_INTENTS = frozenset({
    "request_right", "check_request_status", "opt_out_marketing", "subscribe_marketing",
    "request_human", "escalate_topic", "do_not_sell", "limit_sensitive_use",
})

_LEAD = (r"(?:(?:hi|hello|hey|ok|okay|so|um|hmm|well|and|also|btw|sorry|yes|yeah|thanks|"
         r"thank you|quick question|one more thing|one question|question|excuse me|dear sir|"
         r"dear madam|good morning|good afternoon|good evening|please|pls|plz|kindly|"
         r"if possible|if you can|if you could)\b[\s,!.:;-]*)*")
_OPENER = (r"(?:can|could|may|might|would|will|shall|should|do(?! not\b)|does|did|is|are|am|"
           r"was|were|have(?= (?:you|u|we|i|they|any)\b)|has|had|how|what|whats|what's|which|"
           r"who|whom|whose|when|where|why|if(?! possible| you can| you could)|"
           r"whether|isn't|isnt|aren't|arent|doesn't|doesnt|"
           r"r|ru|wat|wut|howcome|how come)")
_QUESTION_START = re.compile(rf"^{_LEAD}{_OPENER}\b")
_EMBEDDED_QUESTION = re.compile(
    r"\b(?:i was wondering|i'?m wondering|im wondering|i wonder|wondering (?:if|whether|how)|"
    r"just curious|curious (?:if|whether|about|how)|"
    r"(?:want|wanted|like|need|would like|'d like) to (?:know|understand|find out|ask) "
    r"(?:if|whether|how|why|when|who|where|about)|"
    r"is it (?:possible|true|ok|okay|allowed|legal|normal)|is that (?:possible|true|allowed)|"
    r"am i (?:able|allowed|entitled)|do i have (?:the|a|any) right|"
    r"does (?:this|that|it|any of this|the statement|your policy) (?:apply|cover)|"
    r"tell me (?:if|whether|how|why)|explain (?:how|why|whether|if))\b")
# The verbs of a request, said as an imperative or after "can you" ("delete my data", "could
# you stop texting me"); each pattern below adds the ones only it takes.
_ACTION_VERBS = (r"delete|erase|remove|wipe|purge|send|give|email|list|export|transfer|move|"
                 r"forward|correct|fix|update|change|amend|unsubscribe|stop|opt me|take me off|"
                 r"sign me|subscribe|let me (?:talk|speak|chat)")
# "can you" + an action: a request, however politely put ("could you please delete my data?").
_POLITE_REQUEST = re.compile(
    rf"^{_LEAD}(?:can|could|would|will)\s+(?:you|u|ya|you guys|u guys)\s+"
    r"(?:please\s+|pls\s+|plz\s+|kindly\s+|just\s+)?"
    rf"(?:{_ACTION_VERBS}|destroy|get rid of|e-mail|mail|show|tell me what|download|edit|"
    r"add me|connect|put me|get me|check (?:on |the status|my)|look up|find my|help me)\b")
# An instruction: a wish or an imperative ("I'd like a copy", "delete my data", "please
# stop texting me"). One that names a right is that request even when the classifier took
# it for a question about it ("give me my data as a csv").
_INSTRUCTION = re.compile(
    rf"^{_LEAD}(?:i want|i wanna|i'd like|id like|i would like|"
    r"i need(?! to (?:know|understand|find out|ask))|i demand|i request|request to|"
    rf"i am requesting|i'm requesting|{_ACTION_VERBS}|show(?! me how)|make me|provide|"
    r"do not|don't|dont|have my)\b")
# An instruction to stop marketing ("unsubscribe me from marketing emails", "opt me out of
# your newsletters", "stop sending me promotional emails"). Said so, it is that flow even when
# the classifier took it for a question about marketing: such a message shares nearly every
# word with questions the statement answers ("do you send marketing emails?"), and a person
# asking to be left alone is owed the opt-out, not a quote. The verb must have marketing as
# its object, or none ("unsubscribe me", "opt me out"): "opt out" alone is a topic to answer,
# and "unsubscribe requests: how long do we have?" is a question about them.
_MARKETING_WORDS = (r"(?:marketing|e-?mails?|newsletters?|promotional|promotions?|offers?|"
                    r"texts?|sms|mail|mailings?|mailing list|calls?|spam|communications?|"
                    r"everything|all of it)")
_OBJECT = (rf"(?:(?:all|any|your|the|these|those|of|such|future)\s+)*(?:(?!my\b)\w+\s+)?"
           rf"{_MARKETING_WORDS}\b")
_END = r"\s*[.!]*$"
_OPT_OUT = re.compile(
    rf"^{_LEAD}(?:(?:i want|i wanna|i'd like|id like|i would like|i need) (?:you )?to )?"
    rf"(?:unsubscribe(?:{_END}|\s+me\b(?:{_END}|\s+(?:from|of)\s+{_OBJECT})|"
    rf"\s+(?:from|of)\s+{_OBJECT})|"
    rf"opt me out(?:{_END}|\s+(?:of|from)\s+{_OBJECT})|"
    rf"opt out (?:of|from)\s+{_OBJECT}|"
    rf"(?:take|remove) me (?:off|from)\s+(?:\w+\s+){{0,3}}(?:lists?|{_MARKETING_WORDS})\b|"
    r"stop (?:emailing|e-mailing|texting|calling|mailing|spamming) me\b|"
    rf"stop sending (?:me\s+)?(?:any\s+more\s+|more\s+|your\s+)?{_OBJECT}|"
    rf"no more {_OBJECT})")
# What makes an opt-out another flow: the sale or sharing of data and the advertising it
# feeds (do_not_sell), sensitive data (limit_sensitive_use), or one's data or account. Such
# a message is left to the classifier and the question route; so is one that goes on to
# name a right after the opt-out ("no more emails, delete me": `detect_request_type`).
_NOT_MARKETING = re.compile(
    r"\b(?:sell\w*|sale|sold|shar\w*|sensitive|profil\w*|data|information|info|details|"
    r"advertis\w*|ads|adverts?|target\w*|behaviou?r\w*|cross-context|cookies?|track\w*|"
    r"retarget\w*|pixels?|ccpa|cpra|gpc|geolocation|location|biometric\w*|facial|health|"
    r"medical|race|ethnic\w*|religio\w*|genetic|sexual|third|partners?|advertisers?|"
    r"vendors?|affiliates?|account|close|cancel|deactivate)\b")
# A message about a request already filed: its reference (PR-7KQ2-M9XD, not a word that
# begins with "pr"), or words about its progress.
_REFERS_TO_FILED = re.compile(
    r"\bpr[\s-]+[a-z0-9]{4}[\s-]?[a-z0-9]{4}\b|"
    r"\b(?:status|update on|any updates?|progress|any news|news on|processed|"
    r"been (?:handled|done|completed|dealt with|looked at|received)|heard back|"
    r"where(?:'s| is| are)? (?:my|the) (?:\w+ )?request|how far along|still waiting|"
    r"finished|completed|pending|what happened (?:to|with) my|yet|ago|last (?:week|month)|"
    r"i (?:filed|submitted|made|sent|asked|put in)|already (?:filed|submitted|asked|requested))\b")
# A wish for a person, whatever the classifier made of the rest ("transfer me to your
# privacy officer", "can someone from your team call me?").
_WANTS_PERSON = re.compile(
    r"\b(?:(?:transfer|connect|put) me (?:through )?to|(?:i want|i need|i'd like|id like|"
    r"let me|can i|could i|may i) (?:to )?(?:talk|speak|chat)(?: to| with)?)\b.{0,25}"
    r"\b(?:person|human|agent|someone|somebody|representative|officer|staff|team|employee|"
    r"manager|supervisor)\b|"
    r"\b(?:someone|somebody|a person|an agent)\b.{0,30}\b(?:call|phone|contact|email) me\b|"
    r"\b(?:i want|i need|i'd like|id like|get me|give me) (?:a|an|some|to see a) "
    r"(?:real )?(?:person|human|agent|representative|manager|supervisor)(?![-\w])")
# "don't have someone call me": a wish for a person, negated.
_NEGATED = re.compile(r"\b(?:don't|dont|do not|never|no need to|without)\W+(?:\w+\W+){0,3}$")
_PERSON = re.compile(
    r"\b(?:talk|speak|chat|connect|transfer|put me through|get me|hand me)\b.{0,30}"
    r"\b(?:person|human|agent|someone|somebody|representative|rep|staff|operator|"
    r"team member|employee|real)\b|\b(?:human(?![-\w])|real person|live agent|live person|"
    r"live chat)\b")


# Keyboard mashing ("asdf qwerty", "ghjk uiop") is not understood, whatever the classifier
# makes of it: the visitor is asked to rephrase, and a second time offered a person.
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
NOT_UNDERSTOOD = "nlu_fallback"


def _mashed(token: str) -> bool:
    in_a_row = any(token in row or token in row[::-1] for row in _KEYBOARD_ROWS)
    return in_a_row or (len(token) >= 4 and not re.search(r"[aeiouy]", token))


def is_gibberish(text: str) -> bool:
    """Every word of three letters or more is a run of keys or has no vowel."""
    words = [w for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 3]
    return bool(words) and all(_mashed(w) for w in words)


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("’", "'")).strip()


def is_question(text: str) -> bool:
    """Whether the message asks about something rather than asking for it."""
    t = normalise(text)
    if _POLITE_REQUEST.search(t):
        return False
    if _QUESTION_START.search(t) or _EMBEDDED_QUESTION.search(t):
        return True
    return "?" in t and not _INSTRUCTION.search(t)


# --- what the form of a question says, for the answer --------------------------------------
# The router puts it into the message's parse data under QUESTION_FORM; the action that
# answers reads it there (`actions/knowledge.py`) instead of analysing the text again.
QUESTION_FORM = "question_form"
# A question about exercising a right oneself ("can I get a copy?", "how do I delete my
# account?"), or asking whether the assistant can ("could you delete it?").
_ABOUT_MY_RIGHT = re.compile(
    r"\b(can|could|may|might) (i|we)\b|\bam i (able|allowed|entitled)\b|"
    r"\bdo i have (the|a|any) right\b|\bis it possible\b|\bwould i be able\b|"
    r"\bhow (do|can|could|would) i\b|\b(i|we) (ask|request|make) (you|u|a|an)\b|"
    r"\b(can|could|would|will) (you|u)\b|\bif (i|we) (ask|request)\b")
_PERSONAL = re.compile(r"\b(me|my|mine|myself)\b")


def question_form(text: str) -> dict[str, str | bool | None]:
    """What the answer to `text` needs from its form, as plain JSON: the request type it
    names (`request_type`, or None), whether it asks about exercising a right oneself
    (`about_my_right`), and whether it speaks of the visitor's own data (`personal`)."""
    lowered = text.lower()
    return {"request_type": detect_request_type(text),
            "about_my_right": bool(_ABOUT_MY_RIGHT.search(lowered)),
            "personal": bool(_PERSONAL.search(lowered))}


def route(intent: str, text: str) -> str | None:
    """The intent a message classified as `intent` is handled as, when that differs: not
    understood for keyboard mashing; a handoff for a wish for a person; the statement
    question intent for a question classified into a flow; a request for an instruction that
    names a right but was taken for a question, or for a "status" that names no filed
    request ("I am submitting an access request"); the marketing opt-out for an instruction
    to stop marketing taken for a question; else None."""
    t = normalise(text)
    if intent != NOT_UNDERSTOOD and is_gibberish(t):
        return NOT_UNDERSTOOD
    wish = _WANTS_PERSON.search(t)
    if (wish and intent not in HANDOFF_INTENTS and intent != "view_preferences"
            and not _NEGATED.search(t[:wish.start()])):
        return "request_human"
    if intent in (QUESTION_INTENT, "nlu_fallback"):
        if is_question(text):
            return None
        # First: "remove me from your mailing list" names marketing, not a deletion.
        opt_out = _OPT_OUT.search(t)
        if (opt_out and not _NOT_MARKETING.search(t)
                and detect_request_type(t[opt_out.end():]) is None):
            return "opt_out_marketing"
        if _INSTRUCTION.search(t) and detect_request_type(t) is not None:
            return "request_right"
        return None
    if intent not in FLOW_INTENTS:
        return None
    refers_to_filed = bool(_REFERS_TO_FILED.search(t))
    if not is_question(text):
        if (intent == "check_request_status" and not refers_to_filed
                and detect_request_type(t) is not None):
            return "request_right"
        return None
    if intent == "check_request_status" and refers_to_filed:
        return None
    if intent in HANDOFF_INTENTS and _PERSON.search(t):
        return None
    return QUESTION_INTENT


# --- Slack: staff, not visitors ---------------------------------------------------------------
# Staff asking in Slack get answers and, if they are on the privacy team, the request queue;
# rights requests and marketing changes are made by the person concerned on the public
# channels, where their address is verified, so in Slack those flows are explained instead.
QUEUE_INTENT = "request_queue"
PUBLIC_FLOW_INTENT = "public_flow_elsewhere"
ASK_TEAM_INTENT = "ask_privacy_team"
PUBLIC_FLOWS = frozenset({"request_right", "check_request_status", "opt_out_marketing",
                          "subscribe_marketing", "view_preferences", "do_not_sell",
                          "limit_sensitive_use", "appeal_request"})
_QUEUE = re.compile(
    r"^(?:(?:show|list|give|get|what are|what's|whats|which are|which|any|the)\W+(?:me\W+)?"
    r"(?:the\W+|all\W+)?)?"
    r"(?:(?:open|overdue|late|pending)\W+(?:privacy\W+|rights\W+)?requests?\b"
    r"|(?:privacy\W+|rights\W+)?requests?\W+(?:that\W+|which\W+)?(?:are\W+|is\W+)?"
    r"(?:overdue|late|due\b)"
    r"|(?:what'?s|whats|what is)\W+(?:overdue|due)\b"
    r"|(?:the\W+)?(?:request\W+)?queue\b)"
    r"|^(?:status|state)\W+(?:of\W+)?pr[\s-]+[a-z0-9]{4}[\s-]?[a-z0-9]{4}\b")


# Words that make a message a privacy question for staff even when the classifier, trained on
# visitors, takes it for something off-topic ("lawful basis for employee biometrics?", "how
# long do we keep support tickets?"): whom the data is about, the law, and what is done
# with records (kept, stored, deleted, shared).
_STAFF_PRIVACY = re.compile(
    r"\b(?:privacy|personal|data|info(?:rmation)?|customers?|clients?|employees?|staff|"
    r"applicants?|consent|gdpr|ccpa|cpra|dpia|dpa|lawful|biometrics?|retention|retain|"
    r"breach(?:es)?|cookies?|tracking|vendors?|processing|records?|recordings?|"
    r"keep(?:s|ing)?|kept|stor(?:e|es|ed|ing)|delet(?:e|es|ed|ing)|eras(?:e|es|ed|ing)|"
    r"shar(?:e|es|ed|ing)|tickets?|transcripts?|emails?|spreadsheets?)\b")


def is_queue_command(text: str) -> bool:
    """"requests due this week", "overdue requests", "status PR-XXXX-XXXX", "the queue"."""
    return bool(_QUEUE.search(normalise(text)))


def route_slack(intent: str, text: str) -> str | None:
    """Where a message from Slack goes, when that differs from `intent` (the intent after
    `route`): the queue for a queue command, an explanation for a visitor's flow, the privacy
    team for a wish for a person, the documents for a privacy question the classifier took
    for an off-topic one (they answer, or the bot offers to ask the team); else None."""
    if is_queue_command(text):
        return QUEUE_INTENT
    if intent in PUBLIC_FLOWS:
        return PUBLIC_FLOW_INTENT
    if intent in HANDOFF_INTENTS:
        return ASK_TEAM_INTENT
    if intent == "out_of_scope" and _STAFF_PRIVACY.search(normalise(text)):
        return QUESTION_INTENT
    return None

