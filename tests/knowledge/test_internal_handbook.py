"""The sample staff handbook (an internal document): it parses, staff questions typed the way
staff type them in Slack are answered from it, and public callers never see it."""

from __future__ import annotations

import re

import pytest

from privacy_kb.document import Document, load_document
from privacy_kb.kb import MAX_QUOTE_CHARS, KnowledgeBase
from tests.knowledge.conftest import KNOWLEDGE_DIR, STATEMENT

HANDBOOK = KNOWLEDGE_DIR / "internal" / "staff_privacy_handbook.md"
HANDBOOK_ID = "staff-privacy-handbook"

# Staff questions and the handbook section (anchor) whose passage must answer them.
STAFF_QUESTIONS = [
    ("a customer emailed asking us to delete their data, what do i do?", "privacy-requests"),
    ("someone called asking what data we hold on them", "privacy-requests"),
    ("got a DM on twitter from a user wanting all their info removed", "privacy-requests"),
    ("how long do we have to respond to a privacy request", "deadlines"),
    ("can i put customer emails in a spreadsheet for a campaign?", "marketing"),
    ("we bought a list of leads can we email them", "marketing"),
    ("who do I ask about a vendor getting customer data?", "vendors"),
    ("how long do we keep suport tickets?", "retention"),
    ("how long do we keep job applicant resumes", "retention"),
    ("I sent customer data to the wrong person", "incidents"),
    ("lost my laptop, it had customer data on it", "incidents"),
    ("can I use production customer data in a test environment?", "test-environments"),
    ("can i copy prod data to staging to debug", "test-environments"),
    ("who do i ask if i have a privacy question", "who-to-ask"),
]
QUESTIONS = [q for q, _ in STAFF_QUESTIONS]


@pytest.fixture(scope="module")
def handbook() -> Document:
    return load_document(HANDBOOK)


@pytest.fixture(scope="module")
def kb(handbook: Document) -> KnowledgeBase:
    return KnowledgeBase([handbook, load_document(STATEMENT)])


def test_handbook_is_an_internal_document(handbook: Document) -> None:
    assert handbook.document_id == HANDBOOK_ID
    assert handbook.audience == "internal"
    assert handbook.title == "Staff Privacy Handbook (sample)"
    assert handbook.source.startswith("https://")
    assert handbook.passages
    assert all(p.audience == "internal" for p in handbook.passages)


def test_first_passage_says_it_is_a_sample(handbook: Document) -> None:
    first = handbook.passages[0]
    assert first.anchor == "about-this-handbook"
    assert "sample" in first.plain.lower()
    assert "not legal advice" in first.plain


def test_every_heading_has_an_anchor(handbook: Document) -> None:
    body = handbook.text.split("\n---\n", 1)[1]
    headings = re.findall(r"^#{1,6} .*$", body, flags=re.M)
    assert headings
    anchored = [h for h in headings if re.search(r" \{#[a-z0-9-]+\}$", h)]
    assert anchored == headings
    anchors = re.findall(r"\{#([a-z0-9-]+)\}$", body, flags=re.M)
    assert len(anchors) == len(set(anchors))
    assert {a for _, a in STAFF_QUESTIONS} <= {p.anchor for p in handbook.passages}


def test_passages_are_quoted_whole(handbook: Document) -> None:
    """Every passage fits in one quote, so a quoted list keeps all its items."""
    for passage in handbook.passages:
        assert len(passage.plain) <= MAX_QUOTE_CHARS, passage.passage_id


def test_retention_schedule_is_a_list(handbook: Document) -> None:
    schedule = "\n".join(p.plain for p in handbook.passages if p.anchor == "retention")
    assert "|" not in schedule  # the renderer has no tables
    for record in ("Support tickets:", "Chat transcripts", "CRM and sales records:",
                   "Marketing contacts after an opt-out:", "Job applicant records",
                   "Server and access logs:", "Backups:", "Privacy request records:"):
        assert f"• {record}" in schedule


# Staff questions the sentence-level engine (issue #20) answers from elsewhere: its answer
# model is fitted on visitors' questions, none of them about the handbook.
STAFF_MISSES = {
    "got a DM on twitter from a user wanting all their info removed":
        "cites the statement's Submitting a Request",
    "how long do we keep suport tickets?": "cites the statement's retention sentence",
}


@pytest.mark.parametrize(("question", "anchor"), [
    pytest.param(q, a, marks=[pytest.mark.xfail(reason=STAFF_MISSES[q], strict=True)])
    if q in STAFF_MISSES else (q, a) for q, a in STAFF_QUESTIONS])
def test_staff_questions_are_answered_from_the_handbook(kb: KnowledgeBase, question: str,
                                                        anchor: str) -> None:
    answer = kb.answer(question, audience="internal")
    assert answer is not None
    assert answer.passage_id.startswith(f"{HANDBOOK_ID}#"), answer.passage_id
    assert answer.anchor == anchor
    passage = next(p for p in kb.passages if p.passage_id == answer.passage_id)
    assert answer.quote == passage.plain


@pytest.mark.parametrize("question", QUESTIONS)
def test_public_callers_never_get_the_handbook(kb: KnowledgeBase, handbook: Document,
                                               question: str) -> None:
    internal_ids = {p.passage_id for p in handbook.passages}
    internal_headings = {p.heading for p in handbook.passages}
    answer = kb.answer(question, audience="public")
    if answer is not None:
        assert answer.passage_id not in internal_ids
        assert not answer.passage_id.startswith(f"{HANDBOOK_ID}#")
        assert answer.heading not in internal_headings
    hits = kb.search(question, top_k=10, audience="public")
    assert all(h.document_id != HANDBOOK_ID for h in hits)


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_public_caller_preferring_the_handbook_still_never_gets_it(
        kb: KnowledgeBase, handbook: Document, question: str) -> None:
    """A caller that names every handbook section as preferred (what the Slack path does for
    staff) gets nothing from them on the public audience: the audience decides which units
    may answer before any preference is looked at."""
    internal = {p.anchor for p in handbook.passages}
    answer = kb.answer(question, audience="public", prefer=internal)
    assert answer is None or not answer.passage_id.startswith(f"{HANDBOOK_ID}#")
