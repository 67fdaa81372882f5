"""PolicyQA passage-retrieval benchmark.

For each question of a SQuAD-format PolicyQA file, the segments of the same policy (`title`,
identical texts counted once) are ranked; the hit is the segment equal to the question's own
context. The product's `Ranker` indexes every segment of every policy once, as passages
without headings, and each question is scored against its policy's segments only. The
baseline is plain bm25s (Lucene stopwords, Snowball stemming), one index per policy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from privacy_kb.analysis import Analyzer
from privacy_kb.ranker import Ranker, RankerConfig


@dataclass(frozen=True)
class Policy:
    title: str
    segments: tuple[str, ...]
    questions: tuple[tuple[str, int], ...]  # (question, index of its segment)


@dataclass(frozen=True)
class BenchResult:
    questions: int
    recall_at_1: float
    recall_at_3: float
    recall_at_5: float
    mrr: float
    ms_per_query: float

    def as_json(self) -> str:
        return json.dumps({
            "questions": self.questions,
            "recall@1": round(self.recall_at_1, 4),
            "recall@3": round(self.recall_at_3, 4),
            "recall@5": round(self.recall_at_5, 4),
            "mrr": round(self.mrr, 4),
            "ms_per_query": round(self.ms_per_query, 3),
        })


def load_policyqa(path: Path) -> list[Policy]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    policies = []
    for entry in data:
        segments: dict[str, int] = {}
        questions: list[tuple[str, int]] = []
        for paragraph in entry["paragraphs"]:
            index = segments.setdefault(paragraph["context"], len(segments))
            questions.extend((qa["question"], index) for qa in paragraph["qas"])
        policies.append(Policy(entry["title"], tuple(segments), tuple(questions)))
    return policies


def split_halves(policies: Sequence[Policy]) -> tuple[list[Policy], list[Policy]]:
    """The tuning protocol of docs/benchmarks.md: the policies whose title sorts first are the
    "tune" half, the rest the "held-out" half."""
    ordered = sorted(policies, key=lambda p: p.title)
    half = len(ordered) // 2
    return ordered[:half], ordered[half:]


Scorer = Callable[[str], np.ndarray]


def _evaluate(policies: Sequence[Policy], scorers: Sequence[Scorer]) -> BenchResult:
    ranks = []
    elapsed = 0.0
    for policy, score in zip(policies, scorers, strict=True):
        for question, gold in policy.questions:
            t0 = time.perf_counter()
            scores = score(question)
            # Stable order: ties keep segment order, so a score of 0 everywhere is no win.
            order = np.argsort(-scores, kind="stable")
            elapsed += time.perf_counter() - t0
            ranks.append(int(np.nonzero(order == gold)[0][0]) + 1)
    r = np.array(ranks)
    n = len(ranks)
    return BenchResult(
        questions=n,
        recall_at_1=float(np.mean(r <= 1)) if n else 0.0,
        recall_at_3=float(np.mean(r <= 3)) if n else 0.0,
        recall_at_5=float(np.mean(r <= 5)) if n else 0.0,
        mrr=float(np.mean(1.0 / r)) if n else 0.0,
        ms_per_query=1000 * elapsed / n if n else 0.0,
    )


def run_baseline(policies: Sequence[Policy]) -> BenchResult:
    """Plain BM25: bm25s defaults, English stopwords, Snowball stemmer, index per policy."""
    stemmer = Stemmer.Stemmer("english")
    scorers: list[Scorer] = []
    for policy in policies:
        index = bm25s.BM25()
        index.index(bm25s.tokenize(list(policy.segments), stopwords="en", stemmer=stemmer,
                                   show_progress=False), show_progress=False)

        def score(question: str, index: bm25s.BM25 = index) -> np.ndarray:
            tokens = bm25s.tokenize([question], stopwords="en", stemmer=stemmer,
                                    return_ids=False, show_progress=False)[0]
            return index.get_scores(tokens)

        scorers.append(score)
    return _evaluate(policies, scorers)


def run_ranker(policies: Sequence[Policy], config: RankerConfig | None = None,
               analyzer: Analyzer | None = None) -> BenchResult:
    """The product's ranker: one index over all segments, scored within each policy."""
    texts = [s for p in policies for s in p.segments]
    ranker = Ranker(texts, [""] * len(texts), analyzer or Analyzer(), config)
    scorers: list[Scorer] = []
    offset = 0
    for policy in policies:
        lo, hi = offset, offset + len(policy.segments)

        def score(question: str, lo: int = lo, hi: int = hi) -> np.ndarray:
            return ranker.scores(ranker.parse(question), lo, hi)

        scorers.append(score)
        offset = hi
    return _evaluate(policies, scorers)


def run_hybrid(policies: Sequence[Policy], semantic_weight: float = 1.0,
               config: RankerConfig | None = None) -> BenchResult:
    """The product's ranker plus the answer engine's semantic signal: each segment scores
    its BM25 score divided by the policy's best, plus `semantic_weight` × the cosine of the
    question's and the segment's all-MiniLM-L6-v2 embeddings (`privacy_kb.encoder`)."""
    from privacy_kb.encoder import shared_encoder

    encoder = shared_encoder()
    texts = [s for p in policies for s in p.segments]
    ranker = Ranker(texts, [""] * len(texts), Analyzer(), config)
    vectors = encoder.encode(texts)
    scorers: list[Scorer] = []
    offset = 0
    for policy in policies:
        lo, hi = offset, offset + len(policy.segments)

        def score(question: str, lo: int = lo, hi: int = hi) -> np.ndarray:
            lexical = ranker.scores(ranker.parse(question), lo, hi)
            top = float(lexical.max())
            cos = vectors[lo:hi] @ encoder.encode([question])[0]
            return (lexical / top if top > 0 else lexical) + semantic_weight * cos

        scorers.append(score)
        offset = hi
    return _evaluate(policies, scorers)
