"""Search and answer behaviour the action server relies on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from privacy_kb.document import DocumentError
from privacy_kb.kb import ELISION, MAX_QUOTE_CHARS, KnowledgeBase
from tests.knowledge.conftest import QUESTIONS, STATEMENT


def _visible(markdown: str) -> str:
    """The statement as a reader sees it, whitespace collapsed: an independent, cruder
    rendering than `privacy_kb.render` (front matter, anchors, marks and link targets go)."""
    body = markdown.split("\n---\n", 1)[1]
    body = re.sub(r"\{#[a-z0-9-]+\}", "", body)
    body = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", body)
    body = re.sub(r"^#+ |^\* ", "", body.replace("**", ""), flags=re.M)
    return " ".join(body.split())


def _words(text: str) -> str:
    return " ".join(text.replace("• ", "").split())


def _parts(quote: str) -> list[str]:
    """A quote's verbatim parts: a list's lead-in and a later item are joined by an elision."""
    return quote.split(ELISION)


@pytest.mark.parametrize("question", [e["q"] for e in QUESTIONS["answered"]])
def test_quote_is_the_statements_visible_text(kb: KnowledgeBase, statement_text: str,
                                              question: str) -> None:
    answer = kb.answer(question)
    if answer is None:
        pytest.skip("abstained (covered by test_questions)")
    assert answer.quote.strip()
    passage = next(p for p in kb.passages if p.passage_id == answer.passage_id)
    for part in _parts(answer.quote):
        assert _words(part) in _visible(statement_text)
        assert part in passage.plain
    assert passage.plain in kb.documents[passage.document_id].plain


def test_quote_has_no_markdown(kb: KnowledgeBase) -> None:
    answer = kb.answer("how can i contact you about my privacy rights")
    assert answer is not None
    assert "privacy@" in answer.quote
    for syntax in ("**", "](", "mailto:", "  \n", "\n* ", "{#"):
        assert syntax not in answer.quote
    assert not answer.quote.startswith("* ")


def test_list_items_read_as_bullets_with_their_lead_in(kb: KnowledgeBase) -> None:
    answer = kb.answer("do you use my data to measure credit and payment risk")
    assert answer is not None
    assert answer.heading == "How We Use and Share Your Information"
    assert answer.quote == ("We use and share your information to:" + ELISION
                            + "• Measure credit and payment risk.")


def test_the_answering_sentence_is_quoted_not_the_passage_start(kb: KnowledgeBase) -> None:
    """"do you sell my data?" is answered by the one sentence saying the company does not
    sell, not by the first lines of its section."""
    answer = kb.answer("do you sell my data?")
    assert answer is not None
    assert answer.heading == "Special Considerations for California Residents"
    assert answer.quote.startswith("We do not “sell” your personal information")
    assert "As a California resident" not in answer.quote


def test_a_general_list_question_quotes_the_list(kb: KnowledgeBase) -> None:
    answer = kb.answer("what data do you collect?")
    assert answer is not None
    assert answer.quote.startswith(
        "The personal information we collect can include the following:\n\n• Contact details")
    assert ELISION not in answer.quote
    assert len(answer.quote) <= MAX_QUOTE_CHARS


def test_postal_address_keeps_its_lines(kb: KnowledgeBase) -> None:
    contact = next(p for p in kb.passages if p.anchor == "contact-us")
    assert contact.plain.startswith("If you would like to exercise Your Consumer Privacy Rights ")
    assert contact.plain.endswith("at:\n\nBoomi, LP\nAttention: Boomi’s Privacy Office\n"
                                  "1 W Elm Street, Suite 200\nConshohocken PA 19428")


def test_markdown_source_is_unchanged(kb: KnowledgeBase, statement_text: str) -> None:
    for passage in kb.passages:
        assert statement_text[passage.start:passage.end] == passage.text
    assert "[privacy@Boomi.com](mailto:privacy@Boomi.com)" in statement_text


def test_long_passage_is_trimmed_to_relevant_sentences(kb: KnowledgeBase) -> None:
    answer = kb.answer("do you collect my IP address and location")
    assert answer is not None
    passage = next(p for p in kb.passages if p.passage_id == answer.passage_id)
    assert len(passage.plain) > MAX_QUOTE_CHARS
    assert len(answer.quote) <= MAX_QUOTE_CHARS
    assert "IP address" in answer.quote
    assert all(part in passage.plain for part in _parts(answer.quote))


def test_exclude_gives_the_next_passage(kb: KnowledgeBase) -> None:
    question = "who do you share my information with"
    first = kb.answer(question)
    assert first is not None
    second = kb.answer(question, exclude={first.passage_id})
    assert second is not None
    assert second.passage_id != first.passage_id


def test_exclude_everything_abstains(kb: KnowledgeBase) -> None:
    everything = {p.passage_id for p in kb.passages}
    assert kb.answer("how do i unsubscribe", exclude=everything) is None


def test_search_returns_ranked_hits(kb: KnowledgeBase) -> None:
    hits = kb.search("what cookies do you use", top_k=3)
    assert len(hits) == 3
    assert hits[0].heading == "Our Use of Cookies and Other Technologies"
    assert hits[0].anchor == "overview-our-use-of-cookies-and-other-technologies"
    assert hits[0].document_id == "privacy-statement"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.passage_id for h in hits}) == 3


def test_search_without_matching_words_is_empty(kb: KnowledgeBase) -> None:
    assert kb.search("zxqv blorp") == []


def _write(directory: Path, name: str, audience: str, body: str) -> None:
    (directory / name).write_text(
        f"---\nid: {name[:-3]}\ntitle: {name}\naudience: {audience}\n---\n\n{body}\n",
        encoding="utf-8")


def test_internal_documents_are_hidden_from_the_public(tmp_path: Path) -> None:
    (tmp_path / "privacy_statement.md").write_text(STATEMENT.read_text(encoding="utf-8"),
                                                   encoding="utf-8")
    _write(tmp_path, "retention_runbook.md", "internal",
           "## Data retention schedule {#retention-schedule}\n\n"
           "Staff delete marketing lead data after 24 months of inactivity under the data "
           "retention schedule.")
    kb = KnowledgeBase.from_directory(tmp_path)
    question = "what is the data retention schedule for marketing leads"
    internal = kb.search(question, audience="internal")
    assert internal[0].document_id == "retention_runbook"
    public = kb.search(question, audience="public")
    assert all(h.document_id == "privacy-statement" for h in public)
    with pytest.raises(ValueError):
        kb.search(question, audience="everyone")


def test_bad_audience_in_front_matter_is_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "x.md", "secret", "## A {#a}\n\nText about cookies.")
    with pytest.raises(DocumentError):
        KnowledgeBase.from_directory(tmp_path)


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        KnowledgeBase.from_directory(tmp_path)


def test_each_list_of_a_section_is_its_own_passage(kb: KnowledgeBase) -> None:
    """A short lead-in ("The personal information we collect can include the following:")
    starts its own passage with its list instead of closing the list before it."""
    collect = [p.plain for p in kb.passages if p.anchor == "info-we-collect"]
    assert [p.split("\n")[0][:40] for p in collect] == [
        "The types of information we collect abou",
        "We also obtain information from third pa",
        "The personal information we collect can ",
    ]
    assert all(p.count(":\n\n") == 1 for p in collect)  # one lead-in and its list each


@pytest.mark.parametrize("question", ["what data do you collect?",
                                      "what data do you collect about me"])
def test_what_do_you_collect_quotes_the_collection_list(kb: KnowledgeBase,
                                                        question: str) -> None:
    answer = kb.answer(question)
    assert answer is not None
    assert answer.heading == "Information We Collect"
    assert answer.quote.startswith(
        "The personal information we collect can include the following:\n\n"
        "• Contact details such as your name")
    assert "• Employment information" in answer.quote
    assert "Data brokers" not in answer.quote
    assert len(answer.quote) <= MAX_QUOTE_CHARS


@pytest.mark.parametrize(("question", "anchor", "words"), [
    ("who gets my data", "overview-how-we-use-and-share-your-information",
     "We may share your personal information"),
    ("do u give my info to other companies", "overview-how-we-use-and-share-your-information",
     "We may share your personal information"),
    ("what do u use my data for", "overview-how-we-use-and-share-your-information",
     "We use your personal information"),
    ("do u keep my data forever", "marketing-choices",
     "We will then retain your information for as long as your account is active"),
])
def test_practice_questions_quote_the_stating_passage(kb: KnowledgeBase, question: str,
                                                      anchor: str, words: str) -> None:
    answer = kb.answer(question)
    assert answer is not None
    assert answer.anchor == anchor
    assert words in answer.quote


def test_stated_practices_need_the_practice_as_subject_and_verb() -> None:
    from privacy_kb.ranker import asked_practices, stated_practices

    def practices(text: str) -> set[str]:
        return {p for p, _ in stated_practices(text)}

    assert practices("We use and share your information to:") == {"use", "share"}
    assert practices("The personal information we collect can include the following:") == {
        "collect"}
    assert practices("Please allow 10 days. We will then retain your information for as long "
                     "as your account is active.") == {"retain"}
    # the verbs only in passing: no practice stated
    assert practices("We use appropriate safeguards to help protect against unauthorized "
                     "access to, use or disclosure of information we collect, use or store.") \
        == set()
    assert asked_practices("do u keep my data forever") == ("retain",)
    assert asked_practices("who gets my data") == ("share",)
    assert asked_practices("why do u have a privacy statement") == ()  # names no data
