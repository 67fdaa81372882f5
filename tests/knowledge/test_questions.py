"""Visitor questions: each cites the right heading; off-topic input gets no answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from privacy_kb.kb import KnowledgeBase
from tests.knowledge.conftest import QUESTIONS

ANSWERED: list[dict[str, Any]] = QUESTIONS["answered"]
# A declined entry is the question, or {q, known_miss} for one still answered.
DECLINED: list[Any] = QUESTIONS["declined"]


def _expected(entry: dict[str, Any]) -> list[str]:
    heading = entry["heading"]
    return heading if isinstance(heading, list) else [heading]


def _cases() -> list[Any]:
    return [
        pytest.param(e["q"], _expected(e), id=e["q"], marks=[pytest.mark.xfail(
            reason=e["known_miss"], strict=True)] if "known_miss" in e else [])
        for e in ANSWERED
    ]


def test_enough_questions() -> None:
    assert len(ANSWERED) >= 60
    assert len(DECLINED) >= 15


def test_every_section_and_overview_row_is_cited(kb: KnowledgeBase) -> None:
    anchors = {p.anchor for p in kb.passages}
    cited = {a.anchor for e in ANSWERED if (a := kb.answer(e["q"])) is not None}
    assert anchors - cited == set()
    assert len(anchors) == 18  # 10 sections with text + 8 overview rows


@pytest.mark.parametrize(("question", "headings"), _cases())
def test_answer_cites_the_right_heading(kb: KnowledgeBase, question: str,
                                        headings: list[str]) -> None:
    answer = kb.answer(question)
    assert answer is not None, "abstained"
    assert answer.heading in headings


def _declined_cases() -> list[Any]:
    return [
        pytest.param(e, id=e) if isinstance(e, str) else pytest.param(
            e["q"], id=e["q"], marks=[pytest.mark.xfail(reason=e["known_miss"], strict=True)])
        for e in DECLINED
    ]


@pytest.mark.parametrize("question", _declined_cases())
def test_off_topic_is_declined(kb: KnowledgeBase, question: str) -> None:
    assert kb.answer(question) is None


def test_routing_accuracy_floor(kb: KnowledgeBase) -> None:
    right = sum(
        (a := kb.answer(e["q"])) is not None and a.heading in _expected(e) for e in ANSWERED)
    assert right / len(ANSWERED) >= 0.9


HELD_OUT: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "questions_heldout.yml").read_text(encoding="utf-8"))

THIRD_SET: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "questions_heldout_r5.yml").read_text(encoding="utf-8"))


def test_expected_headings_exist(kb: KnowledgeBase) -> None:
    """Every expected heading is a real one (a YAML flow list splits an unquoted heading
    that contains a comma, which silently made a right answer count as wrong)."""
    headings = {p.heading for p in kb.passages}
    entries = [*ANSWERED, *HELD_OUT["answered"], *HELD_OUT["second_set"]["answered"],
               *THIRD_SET["answered"]]
    assert {h for e in entries for h in _expected(e)} - headings == set()


def test_held_out_questions_floor(kb: KnowledgeBase) -> None:
    """The first written set (docs/benchmarks.md): a floor, not a per-question target. Its
    misses have been named as goals, so it is a development set now, not a held-out one."""
    right = sum(
        (a := kb.answer(e["q"])) is not None and a.heading in _expected(e)
        for e in HELD_OUT["answered"])
    # The score the engine has today; docs/benchmarks.md records how it got there.
    assert right >= 12, f"{right}/{len(HELD_OUT['answered'])}"
    assert all(kb.answer(q) is None for q in HELD_OUT["declined"])


def test_second_held_out_set_floor(kb: KnowledgeBase) -> None:
    """The second set, never tuned on: today's score as a floor (its first run and each
    later score are in docs/benchmarks.md)."""
    second = HELD_OUT["second_set"]
    right = sum(
        (a := kb.answer(e["q"])) is not None and a.heading in _expected(e)
        for e in second["answered"])
    assert right >= 14, f"{right}/{len(second['answered'])}"
    assert all(kb.answer(q) is None for q in second["declined"])


def test_third_held_out_set_floor(kb: KnowledgeBase) -> None:
    """The third set ("what / who / why / how long"), never tuned on: today's score as a
    floor (docs/benchmarks.md)."""
    right = sum(
        (a := kb.answer(e["q"])) is not None and a.heading in _expected(e)
        for e in THIRD_SET["answered"])
    assert right >= 13, f"{right}/{len(THIRD_SET['answered'])}"
