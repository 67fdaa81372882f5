"""The question/request rules the Rasa server applies after the intent classifier
(`rasa_server/routing.py`), one case per class of message the issue names, and the
contrasting request for each. (The held-out set measures the whole assistant; these pin
the rules.)"""

from __future__ import annotations

import pytest

from rasa_server.routing import (
    ASK_TEAM_INTENT,
    PUBLIC_FLOW_INTENT,
    QUESTION_INTENT,
    QUEUE_INTENT,
    is_question,
    is_queue_command,
    route,
    route_slack,
)


@pytest.mark.parametrize(("intent", "text"), [
    # A question about a right is answered first (then the request is offered).
    ("request_right", "could I ask you to erase my details?"),
    ("request_right", "is it possible to get my data as a file?"),
    ("request_right", "am I able to see what you know about me?"),
    ("request_right", "do i have the right to get my info corrected"),
    ("request_right", "i was wondering if u can delete old accounts"),
    # A question that mentions a request, a page or a visit is not a status lookup.
    ("check_request_status", "do you record which links I click?"),
    ("check_request_status", "can I mail my request instead of emailing it?"),
    # A question about calls or complaints is not a handoff.
    ("request_human", "do you listen in on calls to your help desk?"),
    ("escalate_topic", "where can i send a complaint about privacy?"),
    # Marketing questions are answered.
    ("opt_out_marketing", "do partners send me ads on your behalf?"),
    ("opt_out_marketing", "would you ever email me asking for my login?"),
    ("subscribe_marketing", "how do i sign up for the newsletter again?"),
])
def test_a_question_classified_into_a_flow_is_answered(intent: str, text: str) -> None:
    assert route(intent, text) == QUESTION_INTENT


@pytest.mark.parametrize(("intent", "text"), [
    ("request_right", "delete my data"),
    ("request_right", "erase my details please"),
    ("request_right", "I want a copy of my data"),
    ("request_right", "can you delete my data?"),  # a polite request, not a question
    ("request_right", "could u pls send me everything you have on me"),
    ("request_right", "Hi, i'd like to correct my address"),
    ("check_request_status", "where is my request?"),
    ("check_request_status", "any update on PR-7KQ2-M9XD?"),
    ("check_request_status", "has my deletion request been processed yet?"),
    ("request_human", "can i talk to a person"),
    ("request_human", "is there a human I can speak with?"),
    ("escalate_topic", "I want to complain about how you handled my data"),
    ("opt_out_marketing", "stop emailing me"),
    ("opt_out_marketing", "can you stop sending me texts?"),
])
def test_a_request_keeps_its_flow(intent: str, text: str) -> None:
    assert route(intent, text) is None


@pytest.mark.parametrize("intent", ["ask_privacy", "out_of_scope", "greet", "inform",
                                    "view_preferences", "nlu_fallback"])
def test_only_flow_intents_are_rerouted(intent: str) -> None:
    assert route(intent, "could I ask you to erase my details?") is None


@pytest.mark.parametrize(("text", "question"), [
    ("Do you sell my data", True),
    ("so, how long do u keep my stuff", True),
    ("i live in nevada, does any of this apply to me?", True),
    ("delete my account?", False),  # an imperative with a question mark
    ("please delete my data?", False),
    ("what's an authorized agent", True),
])
def test_the_form_of_the_sentence(text: str, question: bool) -> None:
    assert is_question(text) is question


@pytest.mark.parametrize(("intent", "text", "routed"), [
    ("request_right", "transfer me to your privacy officer", "request_human"),
    ("out_of_scope", "can someone from your team call me about this", "request_human"),
    ("check_request_status", "I am submitting a data access request", "request_right"),
    ("check_request_status", "I have a problem with my request", None),
    ("check_request_status", "has my data been deleted yet? i asked 2 weeks ago", None),
    ("opt_out_marketing", "dont send me any more promotional emails", None),
])
def test_a_wish_for_a_person_or_a_new_request_wins(intent: str, text: str,
                                                   routed: str | None) -> None:
    assert route(intent, text) == routed


@pytest.mark.parametrize(("intent", "text", "routed"), [
    ("ask_privacy", "give me my data in a csv file", "request_right"),
    ("ask_privacy", "remove my data from your systems", "request_right"),
    ("ask_privacy", "i need my information exported for my new provider", "request_right"),
    ("ask_privacy", "can i get my data as a csv?", None),  # a question: answered, offered
    ("ask_privacy", "tell me about cookies", None),  # an instruction, but names no right
    ("escalate_topic", "this is outrageous, i want a real person", None),
    ("ask_privacy", "i'm upset about my data, i want a person now", "request_human"),
])
def test_an_instruction_naming_a_right_is_that_request(intent: str, text: str,
                                                       routed: str | None) -> None:
    assert route(intent, text) == routed


@pytest.mark.parametrize(("intent", "text", "routed"), [
    ("ask_privacy", "unsubscribe me from marketing emails", "opt_out_marketing"),
    ("ask_privacy", "please opt me out of your newsletters", "opt_out_marketing"),
    ("nlu_fallback", "stop sending me promotional emails!", "opt_out_marketing"),
    ("ask_privacy", "I'd like to unsubscribe from everything", "opt_out_marketing"),
    ("ask_privacy", "no more marketing emails please", "opt_out_marketing"),
    # Questions about opting out are answered (the answer offers the flow).
    ("ask_privacy", "how do I unsubscribe from marketing emails?", None),
    ("ask_privacy", "can i opt out of marketing?", None),
    ("ask_privacy", "do you stop sending emails if I ask?", None),
    ("ask_privacy", "tell me about marketing emails", None),
    ("ask_privacy", "take me off your mailing list", "opt_out_marketing"),
    ("ask_privacy", "stop texting me", "opt_out_marketing"),
    ("ask_privacy", "unsubscribe", "opt_out_marketing"),
    ("ask_privacy", "opt me out of sms marketing", "opt_out_marketing"),
    ("ask_privacy", "remove me from your newsletter", "opt_out_marketing"),  # not a deletion
    # Other opt-outs are other flows, and a message naming more than marketing is more than
    # an opt-out: left to the classifier (a request that names a right stays that request).
    ("ask_privacy", "opt me out of the sale of my data", None),
    ("ask_privacy", "opt out of sharing my information", None),
    ("ask_privacy", "opt me out of targeted advertising", None),
    ("ask_privacy", "opt out of cross-context behavioral advertising", None),
    ("ask_privacy", "opt me out of the use of my precise geolocation", None),
    ("ask_privacy", "opt me out of the arbitration agreement", None),
    ("ask_privacy", "stop sending my data to partners", None),
    ("ask_privacy", "stop sending my email address to third parties", None),
    ("ask_privacy", "no more emails, delete me", None),
    ("ask_privacy", "unsubscribe me and cancel my account", None),
    ("ask_privacy", "remove me from your systems", "request_right"),  # a deletion
    # A topic, or a question about opt-outs (a staff one in Slack), is answered.
    ("ask_privacy", "opt out", None),
    ("ask_privacy", "opt out options", None),
    ("ask_privacy", "unsubscribe requests - how long do we have", None),
    ("ask_privacy", "unsubscribe link - where is it?", None),
])
def test_an_instruction_to_stop_marketing_is_the_opt_out(intent: str, text: str,
                                                        routed: str | None) -> None:
    assert route(intent, text) == routed


@pytest.mark.parametrize(("intent", "text", "routed"), [
    # Instructions that begin like a question.
    ("opt_out_marketing", "Do not sell my personal information", None),
    ("opt_out_marketing", "do not contact me again", None),
    ("ask_privacy", "Have my data deleted please", "request_right"),
    ("ask_privacy", "If possible, please delete my account.", "request_right"),
    ("request_right", "please can you delete my data?", None),
    ("request_right", "Please, could you delete my account?", None),
    ("request_right", "Can you help me delete my data?", None),
    # Questions that begin like an instruction.
    ("ask_privacy", "Let me know how long you keep my data before deleting it", None),
    ("ask_privacy", "Show me how to delete my data", None),
    ("ask_privacy", "I need to understand your deletion policy", None),
    # Words that begin with "pr" are no reference; "human-readable" and a negated wish for a
    # person are no handoff.
    ("check_request_status", "how does the processing of my data work?", QUESTION_INTENT),
    ("request_right", "I need a human-readable copy of my data", None),
    ("request_right", "Don't have someone call me, just delete my data", None),
])
def test_review_cases(intent: str, text: str, routed: str | None) -> None:
    assert route(intent, text) == routed


@pytest.mark.parametrize(("text", "mashed"), [
    ("asdf qwerty zxcv", True),
    ("ghjk uiop", True),
    ("hjkl", True),
    ("do you sell my data", False),
    ("pls help thx", False),
    ("PR-7KQ2-M9XD", False),
    ("123456", False),
    ("hmm ok", False),
])
def test_keyboard_mashing_is_not_understood(text: str, mashed: bool) -> None:
    from rasa_server.routing import is_gibberish
    assert is_gibberish(text) is mashed
    assert (route("out_of_scope", text) == "nlu_fallback") is mashed


# --- Slack: staff, not visitors (route_slack; only for messages the Slack channel sent) -------

@pytest.mark.parametrize("text", [
    "requests due this week", "Which requests are due this week?", "overdue requests",
    "any overdue requests?", "status PR-7KQ2-M9XD", "status of pr 7kq2 m9xd",
    "show me the queue", "what's due this week", "list all open requests",
])
def test_queue_commands_go_to_the_queue_in_slack(text: str) -> None:
    assert is_queue_command(text)
    assert route_slack("ask_privacy", text) == QUEUE_INTENT


@pytest.mark.parametrize("text", [
    "what requests can I make?", "how do I handle a deletion request?",
    "what happens if a request is late", "is the request overdue if we extend?",
    "delete my data",
])
def test_questions_about_requests_are_not_queue_commands(text: str) -> None:
    assert not is_queue_command(text)


@pytest.mark.parametrize(("intent", "routed"), [
    ("request_right", PUBLIC_FLOW_INTENT), ("check_request_status", PUBLIC_FLOW_INTENT),
    ("opt_out_marketing", PUBLIC_FLOW_INTENT), ("subscribe_marketing", PUBLIC_FLOW_INTENT),
    ("view_preferences", PUBLIC_FLOW_INTENT), ("appeal_request", PUBLIC_FLOW_INTENT),
    ("request_human", ASK_TEAM_INTENT),
    ("escalate_topic", ASK_TEAM_INTENT), ("ask_privacy", None), ("greet", None),
    ("out_of_scope", None),
])
def test_visitors_flows_are_explained_and_a_person_is_the_privacy_team_in_slack(
        intent: str, routed: str | None) -> None:
    assert route_slack(intent, "something") == routed


def test_a_privacy_question_taken_for_off_topic_is_a_question_in_slack() -> None:
    assert route_slack("out_of_scope", "lawful basis for employee biometrics?") == QUESTION_INTENT
    assert route_slack("out_of_scope", "how long do we keep support tickets?") == QUESTION_INTENT
    assert route_slack("out_of_scope", "tell me a joke") is None
    assert route_slack("out_of_scope", "what's for lunch on friday?") is None
