"""Sentence-level answers: which sentence of the documents answers a question, and whether
any does.

Every sentence of every passage is an answer unit (a list item keeps the sentence that
introduces its list, "The personal information we collect can include the following:").
A question is scored against every unit on evidence of two kinds:

- lexical: BM25 of the unit's passage (`privacy_kb.ranker`, with its synonym, category and
  practice fields), BM25 of the unit itself with and without synonyms, and the share of the
  question's weighted words the sentence covers;
- semantic: cosine similarity of all-MiniLM-L6-v2 embeddings (`privacy_kb.encoder`) of the
  question and of the unit, with and without its heading and lead-in;

plus practice topics (collection, use, sharing, sale, retention, security, rights, children,
cookies and advertising: the OPP-115 categories, `TOPICS`), for the question as asked and for
the unit as written, and which topic labelled example questions near this one were about
(`ExampleBank`, which also says how near the question is to example questions the statement
does not answer). None of these depends on one statement's wording: another company's
statement dropped into `data/knowledge/` is scored the same way.

A linear model over these features ranks the units; a logistic model over the best unit's
features gives the probability that its quote answers the question, and below a threshold
the assistant declines and quotes nothing. Both are fitted by `privacy-kb calibrate` on
development sets with silent questions (`privacy_kb.calibrate`) and read from
`calibration.json`; docs/benchmarks.md records what they were fitted on and what they score.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from privacy_kb.analysis import normalize_chat

CALIBRATION = Path(__file__).with_name("calibration.json")
EXAMPLES = Path(__file__).with_name("question_examples.yml")

# Practice topics: how a question asks about one (matched after `normalize_chat`), and how a
# statement's unit speaks of one (heading, lead-in and sentence, lower-cased).
TOPICS: dict[str, tuple[str, str]] = {
    "collect": (
        r"\b(collect\w*|gather\w*|record\w*|track\w*|stor(e|es|ed|ing)|sav(e|es|ed|ing)|keep|"
        r"keeps|access\w*|know|see|view|read|what (kind|type|sort)s? of (data|information)|"
        r"what (data|information))\b",
        r"\b(collect|obtain|include the following|such as your)\b|information we collect"),
    "use": (r"\b(use|used|using|uses|do with|happen|purpose|why)\b",
            r"\b(we|to) use (and share )?(your|the|this) (personal )?(information|data)\b|"
            r"\buse and share\b"),
    "share": (
        r"\b(share\w*|sharing|shared|release\w*|sen[dt]|give|given|pass\w*|distribut\w*|"
        r"disclos\w*|third|others?|outside|who|whom|partners?|advertisers?|sees?|transfer\w*)\b",
        r"\b(share|sharing|disclos\w*|affiliated)"),
    "sell": (r"\b(sell\w*|sold|sale|buy\w*|rent\w*|monetiz\w*)\b", r"\bsell\w*|\bsold\b"),
    "retain": (r"\b(retain long|forever|retain\w*|retention|delete[ds]? after|kept)\b",
               r"\bretain\w*"),
    "secure": (
        r"\b(secur\w*|safe\w*|protect\w*|hack\w*|breach\w*|encrypt\w*|unauthori[sz]ed|"
        r"attack\w*|steal|stolen|leak\w*|guard\w*)\b",
        r"\b(secur\w*|protect\w*|encryption|safeguard\w*)"),
    "rights": (r"\b(delete|deletion|remove|erase|copy|download|export|correct|right|rights|"
               r"request|optout)\b",
               r"\b(right to|deletion|request|exercise)\b"),
    "children": (r"\b(child\w*|kids?|minors?|under ?13|teen\w*|age)\b", r"\bchild\w*"),
    "cookies": (r"\b(cookies?|beacons?|ads?|advertis\w*|target\w*)\b",
                r"\b(cookie\w*|beacon\w*|advertis\w*)"),
}
TOPIC_NAMES = tuple(TOPICS)
_QUESTION_TOPICS = [re.compile(q) for q, _ in TOPICS.values()]
_UNIT_TOPICS = [re.compile(u) for _, u in TOPICS.values()]
SILENT = "silent"  # the example bank's label of a question the statement does not answer

RANK_FEATURES = ("cos", "cos_sentence", "passage_bm25", "unit_bm25", "unit_bm25_exact",
                 "coverage", "supported", *(f"topic_{t}" for t in TOPIC_NAMES),
                 "topic_mismatch", "example_topic", "example_topic_low")
ANSWER_FEATURES = ("score", "margin", "cos", "cos_best", "coverage", "supported",
                   "topic_mismatch", "privacy_evidence", "foreign_words", "example_silent",
                   "example_nearest", "example_topic")


def question_topics(question: str) -> np.ndarray:
    text = normalize_chat(question)
    return np.array([1.0 if p.search(text) else 0.0 for p in _QUESTION_TOPICS],
                    dtype=np.float32)


def unit_topics(text: str) -> np.ndarray:
    lowered = text.lower()
    return np.array([1.0 if p.search(lowered) else 0.0 for p in _UNIT_TOPICS], dtype=np.float32)


@dataclass(frozen=True)
class Unit:
    passage: int  # index into the knowledge base's passages
    start: int  # the sentence's offsets in the passage's plain text
    end: int
    lead: tuple[int, int] | None  # the list's lead-in sentence, for a list item


def _unit_scale(x: np.ndarray) -> np.ndarray:
    """Scores divided by the best one, so a feature reads the same for any document."""
    top = float(x.max()) if len(x) else 0.0
    return x / top if top > 0 else x


class ExampleBank:
    """Labelled example questions (`question_examples.yml`): each with the practice topics
    of the sentence that answers it, or `silent`. A question's nearest examples (cosine of
    embeddings, softmax-weighted) say which topic it is probably about, and how likely the
    statement is silent on it. The labels are topics, not headings, so the bank serves any
    statement."""

    def __init__(self, questions: Sequence[str], labels: Sequence[Sequence[str]],
                 vectors: np.ndarray, k: int = 8, temperature: float = 0.05) -> None:
        self.questions = list(questions)
        names = [*TOPIC_NAMES, SILENT]
        self.labels = np.zeros((len(labels), len(names)), dtype=np.float32)
        for row, label in enumerate(labels):
            for name in label:
                self.labels[row, names.index(name)] = 1.0
        self.labels /= np.maximum(self.labels.sum(1, keepdims=True), 1.0)
        self.vectors = vectors
        self.k = k
        self.temperature = temperature

    @classmethod
    @lru_cache(maxsize=4)
    def load(cls, path: Path, encode: Any) -> ExampleBank:
        """The bank at `path`, its questions embedded with `encode`; loaded once per process
        (the public and the internal knowledge base share it)."""
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
        examples = (data or {}).get("examples") or []
        questions = [e["q"] for e in examples]
        labels = [e["topics"] for e in examples]
        vectors = encode(questions) if questions else np.zeros((0, 384), dtype=np.float32)
        return cls(questions, labels, vectors)

    def topics(self, vector: np.ndarray, skip: Collection[str] = ()
               ) -> tuple[np.ndarray, float]:
        """The topic distribution (TOPIC_NAMES then SILENT) near `vector`, and the cosine of
        the nearest example; `skip` leaves examples out (when fitting on the bank itself)."""
        if not self.questions:
            return np.zeros(len(TOPIC_NAMES) + 1, dtype=np.float32), 0.0
        sims = self.vectors @ vector
        if skip:
            sims = np.where([q in skip for q in self.questions], -1.0, sims)
        near = np.argsort(-sims)[:self.k]
        weights = np.exp((sims[near] - sims[near[0]]) / self.temperature)
        return ((weights[:, None] * self.labels[near]).sum(0) / weights.sum(),
                float(sims[near[0]]))


@dataclass(frozen=True)
class UnitScores:
    """One question scored against every unit."""

    features: np.ndarray  # RANK_FEATURES, one row per unit
    allowed: np.ndarray  # the units the caller may be answered from (audience, exclude)
    cos_best: float
    privacy_evidence: float
    foreign_words: float
    example_silent: float
    example_nearest: float


@dataclass(frozen=True)
class Decision:
    unit: int  # the best allowed unit, -1 when none
    probability: float  # that its quote answers the question
    answer_features: np.ndarray
    scores: np.ndarray  # every unit's ranking score (-inf where not allowed)
    preferred: bool = False  # the unit is under a section the caller preferred


@dataclass(frozen=True)
class Calibration:
    rank_weights: np.ndarray
    answer_weights: np.ndarray
    answer_bias: float
    answer_mean: np.ndarray
    answer_scale: np.ndarray
    threshold: float

    @classmethod
    def load(cls, path: Path = CALIBRATION) -> Calibration:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["rank"]["features"]) != RANK_FEATURES or \
                tuple(data["answer"]["features"]) != ANSWER_FEATURES:
            raise ValueError(f"{path} was fitted on other features; run privacy-kb calibrate")
        a = data["answer"]
        return cls(np.array(data["rank"]["weights"], dtype=np.float32),
                   np.array(a["weights"]), float(a["bias"]), np.array(a["mean"]),
                   np.array(a["scale"]), float(a["threshold"]))

    @classmethod
    def neutral(cls) -> Calibration:
        """Before any fitting: semantic and lexical evidence weighed equally, and every
        best unit answered (used only by `privacy-kb calibrate` to start from)."""
        w = np.zeros(len(RANK_FEATURES), dtype=np.float32)
        w[:6] = (2.0, 1.5, 1.0, 2.0, 1.0, 1.0)
        n = len(ANSWER_FEATURES)
        return cls(w, np.zeros(n), 0.0, np.zeros(n), np.ones(n), 0.0)

    def probability(self, features: np.ndarray) -> float:
        z = ((features - self.answer_mean) / self.answer_scale) @ self.answer_weights
        return float(1.0 / (1.0 + np.exp(-(z + self.answer_bias))))


def rank_features(cos: np.ndarray, cos_sentence: np.ndarray, passage_bm25: np.ndarray,
                  unit_bm25: np.ndarray, unit_bm25_exact: np.ndarray, coverage: np.ndarray,
                  supported: np.ndarray, asked: np.ndarray, unit_topic: np.ndarray,
                  example_topics: np.ndarray) -> np.ndarray:
    """The rows of RANK_FEATURES, one per unit."""
    both = asked[None, :] * unit_topic
    mismatch = (asked.sum() > 0) & (both.sum(1) == 0)
    example_topic = unit_topic @ example_topics[:len(TOPIC_NAMES)]
    return np.column_stack([
        cos, cos_sentence, _unit_scale(passage_bm25), _unit_scale(unit_bm25),
        _unit_scale(unit_bm25_exact), coverage, supported, both, mismatch.astype(np.float32),
        example_topic, (example_topic < 0.05).astype(np.float32),
    ]).astype(np.float32)


def answer_features(features: np.ndarray, scores: np.ndarray, best: int, cos_best: float,
                    privacy_evidence: float, foreign_words: float, example_silent: float,
                    example_nearest: float) -> np.ndarray:
    """ANSWER_FEATURES for the best unit (`scores`: those of the allowed units)."""
    ranked = np.sort(scores)[::-1]
    margin = float(ranked[0] - ranked[1]) if len(ranked) > 1 else float(ranked[0])
    names = RANK_FEATURES
    row = features[best]
    return np.array([
        ranked[0], margin, row[names.index("cos")], cos_best,
        row[names.index("coverage")], row[names.index("supported")],
        row[names.index("topic_mismatch")], privacy_evidence, foreign_words, example_silent,
        example_nearest, row[names.index("example_topic")],
    ], dtype=np.float64)
