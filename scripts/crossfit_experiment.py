"""Experiments on the answer engine's plateau (issue #20), in cross-validation on the three
development sets `privacy-kb calibrate` fits on, with calibrate's own folds.

  dump                      write the answer units, the items and the folds as JSON, for
                            scripts/finetune_minilm.py (which fine-tunes the sentence model
                            once per fold, in a venv with PyTorch)
  evaluate --encoders DIR   cross-validate with the encoder fine-tuned without each fold
                            (DIR/fold0 ... DIR/fold4), or `base` for the installed one
  evaluate --quadratic      the ranking model over the features and their pairwise products

With fine-tuned encoders the evaluation is cross-fitted: every item, in fitting and in
testing alike, is scored by the encoder fine-tuned without the item's fold, so the ranking
and answerability models learn how far the encoder is to be trusted on questions it has not
seen (fitted on the fine-tuned encoder's own training questions, they learn to trust it too
much). The encoders that score the training items of fold f did see fold f's questions
while fine-tuning; only the two small linear models are fitted on those scores.
docs/benchmarks.md ("Issue #20, third round") records what this printed.

Run from the repository root with .venv/bin/python.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from privacy_kb import calibrate as C  # noqa: E402
from privacy_kb.answering import RANK_FEATURES, Calibration, UnitScores  # noqa: E402
from privacy_kb.encoder import SentenceEncoder  # noqa: E402
from privacy_kb.evaluate import Item, headings_above, load_items  # noqa: E402
from privacy_kb.kb import AUDIENCE_SCOPES, KnowledgeBase  # noqa: E402

SETS = [Path("../shared/data/privacyqa_dev_questions.yml"), Path("tests/dev/answerability_dev.yml"),
        Path("tests/knowledge/questions.yml")]
FOLDS = 5


def items_and_folds() -> tuple[list[Item], list[list[int]]]:
    """The items in calibrate's order, and each fold's indices (as `cross_validate` splits)."""
    items = [item for path in SETS for item in load_items(path)]
    order = np.random.default_rng(7).permutation(len(items))
    return items, [order[f::FOLDS].tolist() for f in range(FOLDS)]


def knowledge_base(encoder: SentenceEncoder | None = None) -> KnowledgeBase:
    return KnowledgeBase.from_directory("data/knowledge", audiences=AUDIENCE_SCOPES["public"],
                                        calibration=Calibration.neutral(), encoder=encoder)


def dump(out: Path) -> None:
    items, folds = items_and_folds()
    kb = knowledge_base()
    chains = headings_above(kb)
    units = [kb.unit_text(k) for k in range(len(kb.units))]
    rows = [{"q": item.question, "answerable": item.answerable,
             "good": np.flatnonzero(C.accepted_units(kb, item, chains)).tolist()}
            for item in items]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"units": units, "items": rows, "folds": folds}),
                   encoding="utf-8")
    print(f"{len(units)} units, {len(rows)} items ({sum(r['answerable'] for r in rows)} "
          f"answerable) -> {out}")


def quadratic(kb: KnowledgeBase) -> None:
    """Score with the features and their pairwise products (rank fitting then starts from
    `quadratic_start`)."""
    n = len(RANK_FEATURES)
    upper = np.triu_indices(n)
    plain = kb.unit_scores

    def expanded(question: str, audience: str = "public", exclude: Any = (),
                 skip_examples: Any = ()) -> UnitScores:
        s = plain(question, audience, exclude, skip_examples)
        f = s.features
        products = (f[:, :, None] * f[:, None, :])[:, upper[0], upper[1]]
        return dataclasses.replace(s, features=np.hstack([f, products]).astype(np.float32))

    kb.unit_scores = expanded  # type: ignore[method-assign]


def quadratic_start() -> np.ndarray:
    """Rank fitting's start over the expanded features: the neutral weights on the plain
    features, zero on the products."""
    n = len(RANK_FEATURES)
    start = np.zeros(n + len(np.triu_indices(n)[0]), dtype=np.float32)
    start[:n] = Calibration.neutral().rank_weights
    return start


def evaluate(encoders: str, quad: bool) -> None:
    items, folds = items_and_folds()
    if encoders == "base":
        kbs = [knowledge_base()] * FOLDS
    else:
        kbs = [knowledge_base(SentenceEncoder(Path(encoders) / f"fold{f}"))
               for f in range(FOLDS)]
    if quad:
        for kb in {id(k): k for k in kbs}.values():
            quadratic(kb)
        C.fit_rank = functools.partial(C.fit_rank,  # type: ignore[assignment]
                                       start=quadratic_start())
    results: list[tuple[Item, C.Outcome]] = []
    cosine_right = 0  # answerable test items whose nearest unit by cosine alone is right
    for f in range(FOLDS):
        test = [items[i] for i in folds[f]]
        held = {t.question for t in test}
        chains = headings_above(kbs[f])
        for item, vector in zip(test, kbs[f].encoder.encode([t.question for t in test]),
                                strict=True):
            nearest = int(np.argmax(kbs[f].unit_vectors @ vector))
            cosine_right += bool(C.accepted_units(kbs[f], item, chains)[nearest])
        train = [c for g in range(FOLDS) if g != f
                 for c in C.score_cases(kbs[g], [items[i] for i in folds[g]], skip=held)]
        cal = C.fit(kbs[f], train, 0.5)
        results.extend(zip(test, C.outcomes(kbs[f], C.score_cases(kbs[f], test, skip=held),
                                             cal), strict=True))
    outcomes = [o for _, o in results]
    threshold = C.choose_threshold(outcomes)
    print(f"encoders={encoders} quadratic={quad}")
    print("  all, chosen threshold:", C.figures(outcomes, threshold))
    print("  all, at 0.65:", C.figures(outcomes, 0.65))
    for path in SETS:
        mine = [o for i, o in results if i.question in {i.question for i in load_items(path)}]
        print(f"  {path}:", C.figures(mine, threshold),
              f"best unit right {sum(o.right for o in mine)} of "
              f"{sum(o.answerable for o in mine)}")
    answerable = sum(o.answerable for o in outcomes)
    print(f"  best unit under an accepted heading (nothing declined): "
          f"{sum(o.right for o in outcomes)} of {answerable}")
    print(f"  nearest unit by the encoder's cosine alone: {cosine_right} of {answerable}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--out", type=Path, default=Path("var/experiments/finetune/data.json"))
    e = sub.add_parser("evaluate")
    e.add_argument("--encoders", default="base")
    e.add_argument("--quadratic", action="store_true")
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out)
    else:
        evaluate(args.encoders, args.quadratic)


if __name__ == "__main__":
    main()
