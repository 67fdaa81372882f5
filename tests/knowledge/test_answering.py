"""The answer engine on examples of each kind: a question the statement answers gets the
sentence that answers it under the right heading; one it is silent on gets no quote; the
engine works on another company's statement; and the development sets keep today's scores.
"""

# ruff: noqa: E501 (the sample statement's paragraphs are one line each, as in data/knowledge/)
from __future__ import annotations

import pytest

from privacy_kb.evaluate import evaluate, load_items
from privacy_kb.kb import KnowledgeBase
from tests.knowledge.conftest import ROOT

DEV_SETS = ROOT / "tests" / "dev"
PRIVACYQA_DEV = ROOT.parent / "shared" / "data" / "privacyqa_dev_questions.yml"


@pytest.mark.parametrize(("question", "heading", "words"), [
    # The examples of wrong quotes, and questions of each practice.
    ("how is my data used?", "How We Use and Share Your Information", "We use"),
    ("what protection do you offer against hackers?", "How We Secure Your Information",
     "security"),
    ("do you ever sell my info to advertisers", "Special Considerations for California Residents",
     "We do not “sell” your personal information"),
    ("does the app remember my credit card number", "Information We Collect",
     "payment instrument number"),
    ("how long do you hang on to my data", "Your Marketing Choices",
     "retain your information for as long as your account is active"),
    ("can my 12 year old use this", "Collection and Use of Children’s Information",
     "under the age of 13"),
])
def test_the_answering_sentence_is_quoted(kb: KnowledgeBase, question: str, heading: str,
                                          words: str) -> None:
    answer = kb.answer(question)
    assert answer is not None, "declined"
    assert answer.heading == heading
    assert words in answer.quote
    assert len(answer.quote) < 600


@pytest.mark.parametrize("question", [
    "where is my data stored?",
    "which country are your servers in",
    "do you offer two-factor authentication",
    "is the app free to download?",
    "can other users see my profile picture",
    "does it drain my battery",
    "has your company ever been hacked before",
])
def test_silent_questions_are_declined_without_a_quote(kb: KnowledgeBase, question: str) -> None:
    assert kb.answer(question) is None


# A statement's paragraphs are one line each, as in data/knowledge/.
OTHER_STATEMENT = """---
id: acme-privacy
title: Acme Privacy Notice
audience: public
source: https://acme.example/privacy
---

# Acme Privacy Notice {#acme-privacy-notice}

Acme Rockets Inc. explains here how it handles personal data of the people who buy its rockets.

## Data We Gather {#data-we-gather}

When you order a rocket we gather your name, shipping address, phone number and the card you pay with. Our launch app records the GPS position of your launch pad while a launch is under way.

## Who Receives Your Data {#who-receives-your-data}

We pass your shipping address to the courier that delivers your order. We never sell personal data to anyone.

## Keeping Data Safe {#keeping-data-safe}

Payment details are encrypted in transit and stored by our payment processor, not by Acme. Only the order team can see order records.

## How Long We Keep Data {#how-long-we-keep-data}

Order records are kept for six years for tax purposes and then deleted.
"""


@pytest.fixture(scope="module")
def other_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    directory = tmp_path_factory.mktemp("knowledge")
    (directory / "acme.md").write_text(OTHER_STATEMENT, encoding="utf-8")
    return KnowledgeBase.from_directory(directory, audiences={"public"})


@pytest.mark.parametrize(("question", "heading", "words"), [
    ("do you sell my information?", "Who Receives Your Data", "We never sell"),
    ("does the app track my location", "Data We Gather", "GPS position"),
    ("how long do you keep my order history", "How Long We Keep Data", "six years"),
    pytest.param("is my card number safe with you", "Keeping Data Safe", "encrypted",
                 marks=pytest.mark.xfail(strict=True, reason="declined: below the threshold")),
])
def test_another_companys_statement_is_answered(other_kb: KnowledgeBase, question: str,
                                                heading: str, words: str) -> None:
    answer = other_kb.answer(question)
    assert answer is not None, "declined"
    assert answer.heading == heading
    assert words in answer.quote


@pytest.mark.parametrize("question", ["can i pay in bitcoin", "what colour are the rockets"])
def test_another_companys_statement_declines_what_it_does_not_say(
        other_kb: KnowledgeBase, question: str) -> None:
    assert other_kb.answer(question) is None


@pytest.mark.skipif(not PRIVACYQA_DEV.exists(), reason="../shared/data is not beside the repo")
def test_real_users_development_set_keeps_its_scores(kb: KnowledgeBase) -> None:
    """Scores of the fitted engine on PrivacyQA's development questions, which it was
    calibrated on (the cross-validated figures are in docs/benchmarks.md): a floor."""
    report = evaluate(kb, load_items(PRIVACYQA_DEV))
    assert report.cited_right >= 40, report.summary()
    assert report.declined >= 45, report.summary()
    assert report.precision >= 0.8, report.summary()


def test_development_set_keeps_its_scores(kb: KnowledgeBase) -> None:
    report = evaluate(kb, load_items(DEV_SETS / "answerability_dev.yml"))
    assert report.cited_right >= 58, report.summary()
    assert report.declined >= 76, report.summary()
    assert report.precision >= 0.9, report.summary()


def test_users_style_development_set_keeps_its_scores(kb: KnowledgeBase) -> None:
    """Vague questions in users' style that the engine was neither fitted on nor holds in its
    example bank, so this floor measures unseen questions (docs/benchmarks.md: 82/160 cited
    right, 76/100 declined, precision 65% when it was written; a little room below)."""
    report = evaluate(kb, load_items(DEV_SETS / "answerability_users_dev.yml"))
    assert report.cited_right >= 80, report.summary()
    assert report.declined >= 74, report.summary()
    assert report.precision >= 0.63, report.summary()
