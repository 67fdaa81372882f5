"""The knowledge base the action server calls: search passages, or answer with a verbatim quote.

Documents are loaded from a directory and its subdirectories (`*.md`, each with an
`audience`): `data/knowledge/` holds the public statement, `data/knowledge/internal/` the
staff's documents. `public` callers see public documents only; `internal` callers (staff on
Slack) see public and internal ones. The action server builds one knowledge base per audience
(`from_directory(..., audiences=AUDIENCE_SCOPES[audience])`), so a public answer is ranked
among public passages alone: no internal passage can reach it, nor change its ranking.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from privacy_kb.analysis import Analyzer
from privacy_kb.document import Document, Passage, load_document
from privacy_kb.ranker import Query, Ranker, RankerConfig
from privacy_kb.render import LIST_LINE
from privacy_kb.support import Support, SupportTest

AUDIENCE_SCOPES: dict[str, frozenset[str]] = {
    "public": frozenset({"public"}),
    "internal": frozenset({"public", "internal"}),
}
# The answer is the best of the top few passages that supports it: the category field can lift
# a passage on the question's topic that lacks the question's own words above one that has them.
SUPPORT_CANDIDATES = 3
PREFER_CANDIDATES = 8
# The statement's ranker: the product settings plus the practice cue ("what do you collect" ->
# the passage whose lead-in says "The personal information we collect ..."), which answers the
# statement's most asked questions and is neutral to slightly negative on PolicyQA segment
# retrieval (measured in docs/benchmarks.md).
KB_CONFIG = RankerConfig(practice_weight=0.5)
MAX_QUOTE_CHARS = 600  # longer passages are trimmed to their most relevant sentences


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
                 analyzer: Analyzer | None = None) -> None:
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

    @classmethod
    def from_directory(cls, path: str | Path, config: RankerConfig | None = None,
                       audiences: Collection[str] | None = None) -> KnowledgeBase:
        """The documents under `path` (recursively), only those for `audiences` if given."""
        files = sorted(Path(path).rglob("*.md"))
        if not files:
            raise FileNotFoundError(f"no *.md knowledge documents in {path}")
        documents = [load_document(f) for f in files]
        if audiences is not None:
            documents = [d for d in documents if d.audience in audiences]
        return cls(documents, config)

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

    def check_support(self, question: str, passage_id: str) -> Support:
        """How well one passage supports an answer to `question` (for calibration)."""
        i = next(n for n, p in enumerate(self.passages) if p.passage_id == passage_id)
        return self.support.check(self.ranker.parse(question).keys, self._keys[i])

    def answer(self, question: str, audience: str = "public",
               exclude: Collection[str] = (), prefer: Collection[str] = ()
               ) -> Answer | None:
        """The best passage not in `exclude`, quoted verbatim, or None when it does not
        support an answer (off-topic question, or nothing relevant left). With `prefer`
        (anchors), a supported passage under one of them among the top PREFER_CANDIDATES
        wins over a better-ranked one elsewhere: the caller knows the question is about,
        say, exercising a right, which word overlap alone does not tell."""
        query = self.ranker.parse(question)
        ranked = [(i, s) for i, s in self._ranked(query, audience)
                  if self.passages[i].passage_id not in exclude]
        preferred = [(i, s) for i, s in ranked[:PREFER_CANDIDATES]
                     if self.passages[i].anchor in prefer]
        candidates = preferred + ranked[:SUPPORT_CANDIDATES]
        for i, score in candidates:
            if self.support.check(query.keys, self._keys[i]).supported:
                p = self.passages[i]
                return Answer(p.passage_id, p.heading, p.anchor, self._quote(i, query), score,
                              p.document_id)
        return None

    def _quote(self, i: int, query: Query) -> str:
        """The passage as plain text, or its best window of consecutive sentences when it is
        long. A window starting inside a list reaches back to the list's lead-in sentence when
        that still fits, so a quoted item keeps its meaning ("We use and share ... to:")."""
        plain = self.passages[i].plain
        sentences = self._sentences[i]
        if len(plain) <= MAX_QUOTE_CHARS or not sentences:
            return plain
        weight = [sum(query.weights.get(k, 0.0) for k in s.keys) for s in sentences]
        # Best window: highest weight, then not orphaned from its lead-in, then the most
        # sentences (context), then the earliest.
        best: tuple[float, bool, int, int, int] = (-1.0, False, 0, 0, 0)
        for a in range(len(sentences)):
            for b in range(a, len(sentences)):
                if b > a and sentences[b].end - sentences[a].start > MAX_QUOTE_CHARS:
                    break
                start, lead = a, sentences[a].lead
                if lead is not None and sentences[b].end - sentences[lead].start <= MAX_QUOTE_CHARS:
                    start = lead
                key = (sum(weight[start:b + 1]), sentences[start].lead is None, b - start)
                if key > best[:3]:
                    best = (*key, start, b)
        a, b = best[3], best[4]
        return plain[sentences[a].start:sentences[b].end]
