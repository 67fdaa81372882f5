"""The knowledge base the action server calls: search passages, or answer with the sentence
that answers, quoted verbatim with its heading (or None: the documents are silent).

Documents are loaded from a directory and its subdirectories (`*.md`, each with an
`audience`): `data/knowledge/` holds the public statement, `data/knowledge/internal/` the
staff's documents. `public` callers see public documents only; `internal` callers (staff on
Slack) see public and internal ones. The action server builds one knowledge base per audience
(`from_directory(..., audiences=AUDIENCE_SCOPES[audience])`), so a public answer is ranked
among public passages alone: no internal passage can reach it, nor change its ranking.

The features and the calibrated decision are `privacy_kb.answering`'s; this module holds the
documents' passages and sentences, their indexes, and the quoting. It is a little over 300
lines because those share the sentence spans and list lead-ins; split, each half would
rebuild them.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from privacy_kb.analysis import Analyzer
from privacy_kb.answering import (
    EXAMPLES,
    TOPIC_NAMES,
    Calibration,
    Decision,
    ExampleBank,
    Unit,
    UnitScores,
    answer_features,
    question_topics,
    rank_features,
    unit_topics,
)
from privacy_kb.document import Document, Passage, load_document
from privacy_kb.encoder import SentenceEncoder, shared_encoder
from privacy_kb.ranker import Query, Ranker, RankerConfig
from privacy_kb.render import LIST_LINE
from privacy_kb.support import Support, SupportTest

AUDIENCE_SCOPES: dict[str, frozenset[str]] = {
    "public": frozenset({"public"}),
    "internal": frozenset({"public", "internal"}),
}
# A caller's preferred sections (`answer(prefer=...)`) win when one of them has a unit among
# this many best.
PREFER_CANDIDATES = 8
# The statement's ranker: the product settings plus the practice cue ("what do you collect" ->
# the passage whose lead-in says "The personal information we collect ..."), which answers the
# statement's most asked questions and is neutral to slightly negative on PolicyQA segment
# retrieval (measured in docs/benchmarks.md).
KB_CONFIG = RankerConfig(practice_weight=0.5)
# The sentence index's second lexical view: the question's own words only (no synonyms,
# categories or cues), so an exact match counts apart from a related one.
EXACT_CONFIG = RankerConfig(expansion_weight=0.0, category_weight=0.0, cue_weight=0.0)
MAX_QUOTE_CHARS = 600  # longer passages are trimmed to their most relevant sentences
# The caller's preferred sections (`answer(prefer=...)`): their best unit among this many
# wins, and is answered at this share of the threshold.
PREFERRED_THRESHOLD_SHARE = 0.4
ELISION = "\n…\n"  # joins a list's lead-in to a quoted item that does not follow it
SHORT_PASSAGE_CHARS = 160  # a passage this short is quoted whole: it is one answer
LIST_MARGIN = 1.0  # a lead-in this close to its best item's score: the list is the answer


@dataclass(frozen=True)
class Hit:
    passage_id: str
    document_id: str
    heading: str
    anchor: str
    text: str
    score: float


@dataclass(frozen=True)
class Answer:
    passage_id: str
    heading: str
    anchor: str
    quote: str
    score: float
    document_id: str = ""


@dataclass(frozen=True)
class _Sentence:
    start: int  # offsets in the passage's plain text
    end: int
    keys: frozenset[str]
    lead: int | None  # index of the sentence introducing this list item's list


class KnowledgeBase:
    def __init__(self, documents: Sequence[Document], config: RankerConfig | None = None,
                 analyzer: Analyzer | None = None, encoder: SentenceEncoder | None = None,
                 calibration: Calibration | None = None, examples: Path | None = EXAMPLES
                 ) -> None:
        self.analyzer = analyzer or Analyzer()
        self.documents = {d.document_id: d for d in documents}
        if len(self.documents) != len(documents):
            raise ValueError("two documents share an id")
        self.passages: list[Passage] = [p for d in documents for p in d.passages]
        self.ranker = Ranker([p.text for p in self.passages],
                             [p.heading for p in self.passages], self.analyzer,
                             config or KB_CONFIG)
        self._keys = [frozenset(b) | frozenset(h)
                      for b, h in zip(self.ranker.body_keys, self.ranker.heading_keys,
                                      strict=True)]
        self._sentences = [self._split(p) for p in self.passages]
        known = set(self.ranker.body.vocab) | set(self.ranker.heading.vocab)
        self.support = SupportTest(self.analyzer, self.ranker.synonyms, known)
        self._build_units(encoder or shared_encoder(), examples)
        self.calibration = calibration or Calibration.load()
        _release_freed_memory()  # what embedding the sentences and examples took

    def _build_units(self, encoder: SentenceEncoder, examples: Path | None) -> None:
        """Every sentence as an answer unit, indexed lexically and embedded."""
        self.encoder = encoder
        self.units: list[Unit] = []
        for i in range(len(self.passages)):
            for s in self._sentences[i]:
                lead = self._sentences[i][s.lead] if s.lead is not None else None
                self.units.append(Unit(i, s.start, s.end,
                                       (lead.start, lead.end) if lead else None))
        contexts = [self.unit_context(k) for k in range(len(self.units))]
        headings = [self.passages[u.passage].heading for u in self.units]
        self.unit_ranker = Ranker(contexts, headings, self.analyzer, self.ranker.config)
        self.unit_exact = Ranker(contexts, headings, self.analyzer, EXACT_CONFIG)
        with_heading = [self.unit_text(k) for k in range(len(self.units))]
        self.unit_vectors = encoder.encode(with_heading)
        self.sentence_vectors = encoder.encode(
            [self.passages[u.passage].plain[u.start:u.end] for u in self.units])
        self.unit_topics = np.array([unit_topics(t) for t in with_heading],
                                    dtype=np.float32).reshape(len(self.units), len(TOPIC_NAMES))
        self._unit_passage = np.array([u.passage for u in self.units], dtype=np.int64)
        # Each list item's lead-in unit.
        by_start = {(u.passage, u.start): k for k, u in enumerate(self.units)}
        self._lead_unit: dict[int, int] = {k: by_start[(u.passage, u.lead[0])]
                                           for k, u in enumerate(self.units) if u.lead}
        self._leads = frozenset(self._lead_unit.values())
        # The units each audience may be answered from.
        self._in_scope = {name: np.array([self.passages[u.passage].audience in scope
                                          for u in self.units], dtype=bool)
                          for name, scope in AUDIENCE_SCOPES.items()}
        self.examples = ExampleBank.load(examples, encoder.encode) if examples else \
            ExampleBank([], [], np.zeros((0, 384), dtype=np.float32))

    def unit_context(self, k: int) -> str:
        """Unit `k`'s sentence after its list's lead-in, if it has one: what the unit rankers
        index."""
        unit = self.units[k]
        plain = self.passages[unit.passage].plain
        lead = plain[unit.lead[0]:unit.lead[1]] if unit.lead else ""
        return f"{lead} {plain[unit.start:unit.end]}".strip()

    def unit_text(self, k: int) -> str:
        """Unit `k` as the encoder embeds it: its heading, then its context."""
        return f"{self.passages[self.units[k].passage].heading}. {self.unit_context(k)}"

    @classmethod
    def from_directory(cls, path: str | Path, config: RankerConfig | None = None,
                       audiences: Collection[str] | None = None,
                       calibration: Calibration | None = None,
                       examples: Path | None = EXAMPLES,
                       encoder: SentenceEncoder | None = None) -> KnowledgeBase:
        """The documents under `path` (recursively), only those for `audiences` if given."""
        files = sorted(Path(path).rglob("*.md"))
        if not files:
            raise FileNotFoundError(f"no *.md knowledge documents in {path}")
        documents = [load_document(f) for f in files]
        if audiences is not None:
            documents = [d for d in documents if d.audience in audiences]
        return cls(documents, config, encoder=encoder, calibration=calibration,
                   examples=examples)

    def source_of(self, document_id: str) -> str:
        """Where a document is published (its front matter's `source`)."""
        return self.documents[document_id].source

    def _split(self, passage: Passage) -> list[_Sentence]:
        """Sentences of a passage's plain text, each list item and line split separately; a
        list item remembers the sentence that introduces its list ("... to:")."""
        out: list[_Sentence] = []
        pos = 0
        lead: int | None = None
        for line in passage.plain.split("\n"):
            item = bool(LIST_LINE.match(line))
            if line.strip() and not item:
                lead = None
            for s, e in self.analyzer.sentence_spans(line) if line.strip() else []:
                out.append(_Sentence(pos + s, pos + e, frozenset(self.analyzer.keys(line[s:e])),
                                     lead if item else None))
            if line.rstrip().endswith(":") and not item:
                lead = len(out) - 1
            pos += len(line) + 1
        return out

    def _ranked(self, query: Query, audience: str) -> list[tuple[int, float]]:
        if audience not in AUDIENCE_SCOPES:
            raise ValueError(f"unknown audience {audience!r}; use one of {list(AUDIENCE_SCOPES)}")
        scope = AUDIENCE_SCOPES[audience]
        scores = self.ranker.scores(query)
        order = np.argsort(-scores, kind="stable")
        return [(int(i), float(scores[i])) for i in order
                if scores[i] > 0 and self.passages[i].audience in scope]

    def search(self, question: str, top_k: int = 5, audience: str = "public") -> list[Hit]:
        ranked = self._ranked(self.ranker.parse(question), audience)[:top_k]
        return [self._hit(i, score) for i, score in ranked]

    def _hit(self, i: int, score: float) -> Hit:
        p = self.passages[i]
        return Hit(p.passage_id, p.document_id, p.heading, p.anchor, p.text, score)

    def unit_scores(self, question: str, audience: str = "public",
                    exclude: Collection[str] = (), skip_examples: Collection[str] = ()
                    ) -> UnitScores:
        """The features of every unit for `question` (`privacy_kb.answering`)."""
        if audience not in AUDIENCE_SCOPES:
            raise ValueError(f"unknown audience {audience!r}; use one of {list(AUDIENCE_SCOPES)}")
        query = self.ranker.parse(question)
        passage_bm25 = self.ranker.scores(query)
        unit_query = self.unit_ranker.parse(question)
        unit_bm25 = self.unit_ranker.scores(unit_query)
        # The exact view indexes the same texts: the same keys, each at weight 1, no cues.
        unit_exact = self.unit_exact.scores(
            Query(question, unit_query.keys, dict.fromkeys(unit_query.keys, 1.0)))
        coverage = np.array([self.unit_ranker.sentence_match(unit_query, k)
                             for k in range(len(self.units))], dtype=np.float32)
        checks = [self.support.check(query.keys, keys) for keys in self._keys]
        supported = np.array([checks[u.passage].supported for u in self.units], dtype=np.float32)
        vector = self.encoder.encode([question])[0]
        cos = self.unit_vectors @ vector
        cos_sentence = self.sentence_vectors @ vector
        example_topics, nearest = self.examples.topics(vector, skip=skip_examples)
        features = rank_features(cos, cos_sentence, passage_bm25[self._unit_passage], unit_bm25,
                                 unit_exact, coverage, supported, question_topics(question),
                                 self.unit_topics, example_topics)
        allowed = self._in_scope[audience]
        if exclude:
            allowed = allowed & np.array([self.passages[u.passage].passage_id not in exclude
                                          for u in self.units], dtype=bool)
        first = checks[0] if checks else Support(0, 0, 0)
        return UnitScores(features, allowed, float(cos[allowed].max()) if allowed.any() else 0.0,
                          first.privacy_evidence, float(first.foreign_keys),
                          float(example_topics[-1]), nearest)

    def decide(self, scored: UnitScores, prefer: Collection[str] = (),
               calibration: Calibration | None = None) -> Decision:
        """The best allowed unit and the probability that it answers."""
        cal = calibration or self.calibration
        scores = np.where(scored.allowed, scored.features @ cal.rank_weights, -np.inf)
        if not scored.allowed.any():
            return Decision(-1, 0.0, np.zeros(0), scores)
        best = int(np.argmax(scores))
        preferred = False
        if prefer:
            top = np.argsort(-scores, kind="stable")[:PREFER_CANDIDATES]
            picks = [int(k) for k in top if np.isfinite(scores[k])
                     and self.passages[self.units[k].passage].anchor in prefer]
            if picks:
                best, preferred = picks[0], True
        row = answer_features(scored.features, scores[scored.allowed], best, scored.cos_best,
                              scored.privacy_evidence, scored.foreign_words,
                              scored.example_silent, scored.example_nearest)
        row[0] = scores[best]
        return Decision(best, cal.probability(row), row, scores, preferred)

    def answer(self, question: str, audience: str = "public",
               exclude: Collection[str] = (), prefer: Collection[str] = ()
               ) -> Answer | None:
        """The sentence that answers `question`, quoted with its heading, from a passage not
        in `exclude`; None when the calibrated probability that it answers is below the
        threshold (the statement is silent, or nothing relevant is left).

        With `prefer` (anchors), the best unit under those sections among the top
        PREFER_CANDIDATES wins, and needs PREFERRED_THRESHOLD_SHARE of the threshold: the
        caller has evidence of its own that the question is about, say, exercising a right
        (the classifier's intent and the words naming the right), which the calibrated
        probability does not include."""
        if not question.strip():
            return None
        decision = self.decide(self.unit_scores(question, audience, exclude), prefer)
        threshold = self.calibration.threshold * (
            PREFERRED_THRESHOLD_SHARE if decision.preferred else 1.0)
        if decision.unit < 0 or decision.probability < threshold:
            return None
        unit = self.units[decision.unit]
        p = self.passages[unit.passage]
        return Answer(p.passage_id, p.heading, p.anchor, self.quote(decision.unit, decision),
                      decision.probability, p.document_id)

    def quote(self, k: int, decision: Decision | None = None) -> str:
        """Unit k's sentence in the statement's own words. A list item comes with the sentence
        that introduces its list: together when they are adjacent, else joined by an elision
        ("…"), so each part is a verbatim slice of the passage. A lead-in that won itself
        ("The personal information we collect can include the following:"), or one that
        scored as well as its best item, asks for the list: the lead-in and as many items as
        fit in MAX_QUOTE_CHARS. A short passage is quoted whole, and so is an internal
        document's (a staff handbook entry is one instruction, written to fit one quote)."""
        unit = self.units[k]
        passage = self.passages[unit.passage]
        plain = passage.plain
        if len(plain) <= SHORT_PASSAGE_CHARS or (
                passage.audience != "public" and len(plain) <= MAX_QUOTE_CHARS):
            return plain
        lead = self._lead_unit.get(k)
        if k in self._leads or (decision is not None and lead is not None
                                and decision.scores[lead] >= decision.scores[k] - LIST_MARGIN):
            first = k if k in self._leads else lead
            assert first is not None
            return self._through(first, lambda j: self._lead_unit.get(j) == first)
        sentence = plain[unit.start:unit.end]
        if sentence.rstrip().endswith(":") and unit.lead is None:
            # "... write to us at:" is answered by the lines after it (an address block).
            return self._through(k, lambda j: self.units[j].passage == unit.passage)
        if unit.lead is None:
            return sentence
        lead_start, lead_end = unit.lead
        if not plain[lead_end:unit.start].strip():
            return plain[lead_start:unit.end]
        return plain[lead_start:lead_end] + ELISION + sentence

    def _through(self, first: int, follows: Callable[[int], bool]) -> str:
        """Unit `first` and the units after it that `follows` accepts, as long as the quote
        stays within MAX_QUOTE_CHARS: one slice of the passage."""
        last = first
        while (last + 1 < len(self.units) and follows(last + 1)
               and self.units[last + 1].end - self.units[first].start <= MAX_QUOTE_CHARS):
            last += 1
        plain = self.passages[self.units[first].passage].plain
        return plain[self.units[first].start:self.units[last].end]


def _release_freed_memory() -> None:
    """Hand the memory that building freed back to the system (glibc keeps freed heap
    memory for reuse otherwise, and the action server's resident size would carry it)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass
