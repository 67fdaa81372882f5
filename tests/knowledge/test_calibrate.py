"""Cross-validation in `privacy-kb calibrate` is honest: no question a fold is scored on is
in the example bank while the model for that fold is fitted or while the fold is scored."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pytest

from privacy_kb.calibrate import cross_validate
from privacy_kb.evaluate import load_items
from privacy_kb.kb import KnowledgeBase
from tests.knowledge.conftest import ROOT


def test_a_folds_examples_are_out_of_the_bank_while_fitting_and_scoring(
        kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    everything = load_items(ROOT / "tests" / "dev" / "answerability_dev.yml")
    items = [*everything[:5], *everything[-5:]]  # answerable and silent ones
    assert {i.answerable for i in items} == {True, False}
    calls: list[tuple[str, frozenset[str]]] = []
    scores = kb.unit_scores

    def recorded(question: str, *args: Any, skip_examples: Collection[str] = (),
                 **kwargs: Any) -> Any:
        calls.append((question, frozenset(skip_examples)))
        return scores(question, *args, skip_examples=skip_examples, **kwargs)

    monkeypatch.setattr(kb, "unit_scores", recorded)
    results = cross_validate(kb, items, folds=5)

    # Five folds of two: each question is scored once as a fold's test item (its fold, both
    # questions, out of the bank) and four times while fitting the other folds' models,
    # with that other fold's two questions out of the bank as well as its own example.
    assert sorted(item.question for item, _ in results) == sorted(i.question for i in items)
    assert len(calls) == 5 * len(items)
    for question, skipped in calls:
        assert question in skipped
        assert len(skipped - {question}) >= 1, f"{question!r} scored with the fold in the bank"
    held = {skipped for question, skipped in calls if len(skipped) == 2}
    assert len(held) == 5 and frozenset().union(*held) == {i.question for i in items}
