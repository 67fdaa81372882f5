"""Fit the answer engine on development sets: `privacy-kb calibrate SET.yml ...`.

1. The example bank (`question_examples.yml`): every development question, labelled with the
   practice topics of the statement sentence its `why` quotes, or `silent`.
2. The ranking weights: a linear model over RANK_FEATURES that puts a unit under an accepted
   heading first (softmax over the units, cross-entropy on the accepted ones, L2-penalised).
3. The answerability model: logistic regression over ANSWER_FEATURES of the best unit, the
   target being "the best unit is under an accepted heading" (never, for a silent question).
4. The threshold: the lowest probability at which the quotes given are at least
   TARGET_PRECISION right and at least TARGET_DECLINED of the silent questions are declined,
   in cross-validation.

While fitting, each question's own example is left out of the bank, so the bank never tells
a question its own label. `--folds K` also reports K-fold cross-validated figures: the model
fitted without a fold (and the bank without that fold's examples) scores that fold.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from privacy_kb.answering import (
    ANSWER_FEATURES,
    CALIBRATION,
    EXAMPLES,
    RANK_FEATURES,
    SILENT,
    TOPIC_NAMES,
    Calibration,
    Decision,
    UnitScores,
)
from privacy_kb.evaluate import Item, Report, accepted, headings_above, load_items
from privacy_kb.kb import AUDIENCE_SCOPES, KnowledgeBase

# The threshold's floor in cross-validation. Issue #20 asks for 95% precision; on the
# development sets precision stays between 91% and 94% from a threshold of 0.7 up while
# coverage falls from 70% to 44% (docs/benchmarks.md), so the threshold is set where 90% is
# reached and the gap is reported rather than hidden by declining most answerable questions.
TARGET_PRECISION = 0.90
TARGET_DECLINED = 0.90
RANK_L2 = 0.01
ANSWER_L2 = 0.01


@dataclass
class Case:
    item: Item
    scored: UnitScores
    good: np.ndarray  # units under an accepted heading


def write_examples(kb: KnowledgeBase, items: Sequence[Item], sources: Sequence[str],
                   path: Path = EXAMPLES) -> int:
    """The bank: each question with `why` labelled by the topics of the unit holding it."""
    import yaml

    examples = []
    for item in items:
        if not item.answerable:
            examples.append({"q": item.question, "topics": [SILENT]})
            continue
        if not item.why:
            continue
        for k, unit in enumerate(kb.units):
            text = kb.passages[unit.passage].plain
            if item.why in text[unit.start:unit.end] or (
                    unit.lead and item.why in text[unit.lead[0]:unit.lead[1]]):
                topics = [t for t, on in zip(TOPIC_NAMES, kb.unit_topics[k], strict=True) if on]
                examples.append({"q": item.question, "topics": topics})
                break
    header = ("# Example questions for the answer engine's nearest-example signal, written by "
              "`privacy-kb calibrate`\n# from: " + ", ".join(sources) + ".\n# Each is labelled "
              "with the practice topics of the statement sentence that answers it, or silent.\n")
    path.write_text(header + yaml.safe_dump({"examples": examples}, sort_keys=False,
                                            allow_unicode=True, width=100), encoding="utf-8")
    return len(examples)


def accepted_units(kb: KnowledgeBase, item: Item,
                   chains: dict[str, list[str]] | None = None) -> np.ndarray:
    """Which units are under a heading `item` accepts (none, for a silent question);
    `chains` is `headings_above(kb)`, passed in when called for many items."""
    chains = headings_above(kb) if chains is None else chains
    return np.array([item.answerable and accepted(item, chains[kb.passages[u.passage].passage_id])
                     for u in kb.units], dtype=bool)


def score_cases(kb: KnowledgeBase, items: Sequence[Item],
                skip: Collection[str] = ()) -> list[Case]:
    """Each item scored with its own example, and those in `skip`, left out of the bank."""
    chains = headings_above(kb)
    return [Case(item, kb.unit_scores(item.question, skip_examples={*skip, item.question}),
                 accepted_units(kb, item, chains)) for item in items]


def fit_rank(cases: Sequence[Case], l2: float = RANK_L2, steps: int = 500,
             rate: float = 0.5, start: np.ndarray | None = None) -> np.ndarray:
    """The ranking weights, by gradient descent from `start` (the neutral weights unless
    given: an experiment with more features starts from its own)."""
    usable = [c for c in cases if c.good.any()]
    w = (Calibration.neutral().rank_weights if start is None else start).astype(np.float64)
    for _ in range(steps):
        grad = l2 * w
        for c in usable:
            x = c.scored.features[c.scored.allowed].astype(np.float64)
            g = c.good[c.scored.allowed]
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            pg = p * g
            pg /= pg.sum()
            grad += (x.T @ p - x.T @ pg) / len(usable)
        w -= rate * grad
    return w.astype(np.float32)


def _judged(kb: KnowledgeBase, cases: Sequence[Case], cal: Calibration
            ) -> list[tuple[Decision, bool]]:
    """Each case's decision, and whether its unit is under an accepted heading (never, for a
    silent question)."""
    out = []
    for c in cases:
        d = kb.decide(c.scored, calibration=cal)
        out.append((d, c.item.answerable and d.unit >= 0 and bool(c.good[d.unit])))
    return out


def _answer_rows(kb: KnowledgeBase, cases: Sequence[Case], cal: Calibration
                 ) -> tuple[np.ndarray, np.ndarray]:
    judged = _judged(kb, cases, cal)
    return (np.array([d.answer_features for d, _ in judged]),
            np.array([float(right) for _, right in judged]))


def fit_answer(x: np.ndarray, y: np.ndarray, l2: float = ANSWER_L2, steps: int = 3000,
               rate: float = 0.1) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / scale
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = p - y
        w -= rate * (z.T @ g / len(y) + l2 * w)
        b -= rate * float(g.mean())
    return w, b, mean, scale


def fit(kb: KnowledgeBase, cases: Sequence[Case], threshold: float = 0.5) -> Calibration:
    rank = fit_rank(cases)
    start = Calibration.neutral()
    partial = Calibration(rank, start.answer_weights, 0.0, start.answer_mean,
                          start.answer_scale, 0.0)
    w, b, mean, scale = fit_answer(*_answer_rows(kb, cases, partial))
    return Calibration(rank, w, b, mean, scale, threshold)


@dataclass
class Outcome:
    answerable: bool
    probability: float
    right: bool  # the best unit is under an accepted heading


def outcomes(kb: KnowledgeBase, cases: Sequence[Case], cal: Calibration) -> list[Outcome]:
    return [Outcome(c.item.answerable, d.probability, right)
            for c, (d, right) in zip(cases, _judged(kb, cases, cal), strict=True)]


def figures(results: Sequence[Outcome], threshold: float) -> dict[str, float]:
    """Coverage, declines and precision (as `privacy_kb.evaluate.Report` defines them) when
    the answers below `threshold` are declined."""
    report = Report()
    for r in results:
        quoted = r.probability >= threshold
        if r.answerable:
            report.answerable += 1
            report.cited_right += quoted and r.right
            report.cited_wrong += quoted and not r.right
        else:
            report.silent += 1
            report.declined += not quoted
    return {"threshold": round(threshold, 3), "coverage": report.coverage,
            "declined": report.declined_share, "precision": report.precision}


def choose_threshold(results: Sequence[Outcome]) -> float:
    """The lowest threshold meeting both targets; the one closest to them if none does."""
    grid = [t / 100 for t in range(20, 96)]
    for t in grid:
        f = figures(results, t)
        if f["precision"] >= TARGET_PRECISION and f["declined"] >= TARGET_DECLINED:
            return t
    return max(grid, key=lambda t: min(figures(results, t)["precision"] / TARGET_PRECISION,
                                       figures(results, t)["declined"] / TARGET_DECLINED))


def cross_validate(kb: KnowledgeBase, items: Sequence[Item], folds: int
                   ) -> list[tuple[Item, Outcome]]:
    """Each item scored by a model fitted without its fold (bank included)."""
    order = np.random.default_rng(7).permutation(len(items))
    out: list[tuple[Item, Outcome]] = []
    for f in range(folds):
        in_fold = set(order[f::folds].tolist())
        test = [items[i] for i in order[f::folds]]
        train = [items[i] for i in order if i not in in_fold]
        held = {t.question for t in test}
        # The fold's examples are out of the bank while fitting and while scoring it.
        cal = fit(kb, score_cases(kb, train, skip=held), 0.5)
        test_cases = score_cases(kb, test, skip=held)
        out.extend(zip(test, outcomes(kb, test_cases, cal), strict=True))
    return out


def calibrate(sets: Sequence[Path], out: Path = CALIBRATION, folds: int = 5,
              knowledge: Path = Path("data/knowledge")) -> dict[str, object]:
    items = [item for path in sets for item in load_items(path)]
    plain = KnowledgeBase.from_directory(knowledge, audiences=AUDIENCE_SCOPES["public"],
                                         calibration=Calibration.neutral(), examples=None)
    n_examples = write_examples(plain, items, [str(p) for p in sets])
    kb = KnowledgeBase.from_directory(knowledge, audiences=AUDIENCE_SCOPES["public"],
                                      calibration=Calibration.neutral())
    validated = cross_validate(kb, items, folds)
    threshold = choose_threshold([o for _, o in validated])
    by_set: dict[str, dict[str, float]] = {}
    for path in sets:
        mine = {i.question for i in load_items(path)}
        by_set[str(path)] = figures([o for i, o in validated if i.question in mine], threshold)
    cal = fit(kb, score_cases(kb, items), threshold)
    report: dict[str, object] = {
        "fitted": date.today().isoformat(),
        "sets": [str(p) for p in sets],
        "examples": n_examples,
        "cross_validated": {"folds": folds, "all": figures([o for _, o in validated], threshold),
                            **by_set},
        "curve": [figures([o for _, o in validated], t / 10) for t in range(2, 10)],
    }
    out.write_text(json.dumps({
        "rank": {"features": list(RANK_FEATURES),
                 "weights": [round(float(x), 5) for x in cal.rank_weights]},
        "answer": {"features": list(ANSWER_FEATURES),
                   "weights": [round(float(x), 5) for x in cal.answer_weights],
                   "bias": round(cal.answer_bias, 5),
                   "mean": [round(float(x), 5) for x in cal.answer_mean],
                   "scale": [round(float(x), 5) for x in cal.answer_scale],
                   "threshold": threshold},
        "report": report,
    }, indent=1) + "\n", encoding="utf-8")
    return report
