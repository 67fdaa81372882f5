"""Lexical ranking of passages: BM25 (bm25s) over body and heading fields, a concept field
(privacy synonym groups), a category field (the OPP-115 practice categories), question-type
cues, a practice cue (a passage whose own sentence states the practice a question asks about:
collect, use, share, retain), and typo correction on the question side.

The same `Ranker` serves the knowledge base and the PolicyQA benchmark; every feature is a
field of `RankerConfig`, so the benchmark can switch each one off and measure it. The practice
cue is off in the default config and on in the knowledge base's (`kb.KB_CONFIG`).

It runs a little over 300 lines because the fields share one tokenisation and one index
build; split by field, each part would re-tokenise the corpus.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import bm25s
import numpy as np

from privacy_kb.analysis import Analyzer, normalize_chat, plain_text
from privacy_kb.vocabulary import (
    CATEGORIES,
    GENERIC_WORDS,
    PRACTICE_OBJECT,
    PRACTICE_QUESTIONS,
    PRACTICE_VERBS,
    QUESTION_CUES,
    SYNONYM_GROUPS,
)


@dataclass(frozen=True)
class RankerConfig:
    # Tuned on PolicyQA dev (docs/benchmarks.md); bm25s defaults are k1=1.5, b=0.75.
    k1: float = 0.9
    b: float = 0.4
    heading_weight: float = 0.5  # 0 switches the heading field off
    # weight of the concept field: a question word also matches its synonym group; 0 = off
    expansion_weight: float = 1.0
    fuzzy: bool = True  # map an unknown question word to a corpus word one edit away
    category_weight: float = 3.0  # weight of the OPP-115 category field; 0 = off
    category_k1: float = 2.0  # its own k1: how many category words a segment has counts
    cue_weight: float = 0.3  # weight of words a question type implies ("why" -> purpose)
    # A passage that states the practice a question asks about ("what do you collect" and
    # "The personal information we collect can include:") scores × (1 + practice_weight ×
    # (0.5 + 0.5 × share of the question's keys in the stating sentence)); one that states
    # only other practices ÷ (1 + practice_weight × practice_mismatch). Off here (PolicyQA
    # R@1 0.160 with it, from 0.162); on in the knowledge base (`kb.KB_CONFIG`).
    practice_weight: float = 0.0
    practice_mismatch: float = 0.5
    # Second stage: the top `rerank_depth` passages gain `sentence_weight` × (top score) ×
    # (share of the question's idf-weighted keys that their best sentence covers); 0 = off.
    sentence_weight: float = 0.0
    rerank_depth: int = 10


@dataclass(frozen=True)
class Query:
    """A question as weighted index keys."""

    text: str
    keys: tuple[str, ...]  # the question's own content keys (after typo correction)
    weights: dict[str, float] = field(default_factory=dict)
    concepts: tuple[str, ...] = ()  # synonym groups the keys belong to
    practices: tuple[str, ...] = ()  # practices asked about (`PRACTICE_QUESTIONS`)


# Sentence boundaries inside a passage: a blank line, the start of a list item, or a sentence
# end followed by a capital. Hard-broken lines (an address block) stay together.
_SENTENCE_BREAK = re.compile(
    r"\n\s*\n|\n(?=\s*(?:[*\-•] |\d+\. |[a-z]\. ))|(?<=[.!?])\s+(?=[A-Z\"“])")
# Things a passage states without naming them: an e-mail address is an "email address", an
# address block (street or suite number, or a US state and ZIP) is a "postal address".
_ANNOTATIONS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), ("email", "address")),
    (re.compile(r"\b\d+ [A-Z][\w ]*\b(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Suite)\b"
                r"|\b[A-Z]{2} \d{5}\b"), ("postal", "mail", "address")),
)


_VERB = {practice: "|".join(verbs) for practice, verbs in PRACTICE_VERBS.items()}
_ANY_VERB = "|".join(_VERB.values())
# "We [may / will / also / then / do not ...] <verb>[, <verb> and <verb>] [your] [personal]
# information", or a sentence whose subject is "[the] [types of] [personal] information we <verb>".
_STATES = re.compile(
    r"^we (?:(?:may|will|also|then|do|not|only|can|might|sometimes|generally) )*"
    rf"(?P<a>(?:{_ANY_VERB})(?:(?:,| and| or) (?:{_ANY_VERB}))*) "
    r"(?:your |the |such |this )?(?:personal )?(?:information|data)\b"
    r"|^(?:the )?(?:(?:types|categories|kinds) of )?(?:personal )?(?:information|data) "
    rf"(?:that )?we (?:may )?(?P<b>{_ANY_VERB})\b")
_PRACTICE_QUESTIONS = [(name, re.compile(pattern)) for name, pattern in PRACTICE_QUESTIONS]
_PRACTICE_OBJECT = re.compile(PRACTICE_OBJECT)


def stated_practices(text: str) -> list[tuple[str, str]]:
    """The practices (`PRACTICE_VERBS`) a passage states, each with the sentence stating it."""
    found: list[tuple[str, str]] = []
    for sentence in split_sentences(plain_text(text)):
        m = _STATES.match(re.sub(r"[^\w\s,]", "", sentence.lower()).strip())
        if m:
            verbs = re.findall(r"\w+", m["a"] or m["b"])
            found.extend((p, sentence) for p, vs in PRACTICE_VERBS.items()
                         if any(v in vs for v in verbs))
    return found


def asked_practices(question: str) -> tuple[str, ...]:
    """The practices a question asks about, when it names its data."""
    lowered = normalize_chat(question)
    if not _PRACTICE_OBJECT.search(lowered):
        return ()
    return tuple(name for name, pattern in _PRACTICE_QUESTIONS if pattern.search(lowered))


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_BREAK.split(text) if s.strip()]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


class _Field:
    """One BM25 index over one field of every passage."""

    def __init__(self, docs: list[list[str]], k1: float, b: float) -> None:
        self.index = bm25s.BM25(k1=k1, b=b)
        self.vocab: dict[str, int] = {}
        if any(docs):  # bm25s cannot index a field that is empty everywhere
            self.index.index(docs, show_progress=False)
            self.vocab = self.index.vocab_dict

    def scores(self, keys: Sequence[str]) -> np.ndarray | None:
        known = [k for k in keys if k in self.vocab]
        return self.index.get_scores(known) if known else None


class Ranker:
    def __init__(
        self,
        texts: Sequence[str],
        headings: Sequence[str],
        analyzer: Analyzer,
        config: RankerConfig | None = None,
    ) -> None:
        self.config = config or RankerConfig()
        self.analyzer = analyzer
        self.size = len(texts)
        body_words = [analyzer.words(t) for t in texts]
        self.body_keys = [[analyzer.key(w) for w in ws] + self._annotations(t)
                          for ws, t in zip(body_words, texts, strict=True)]
        self.heading_keys = [analyzer.keys(h) for h in headings]
        self.body = _Field(self.body_keys, self.config.k1, self.config.b)
        self.heading = _Field(self.heading_keys, self.config.k1, self.config.b)
        self.synonyms, self.groups = self._synonyms()
        # Each passage's sentences as key sets, with the synonym groups they stand for.
        self.sentences: list[list[frozenset[str]]] = []
        for t, h in zip(texts, self.heading_keys, strict=True):
            sets = []
            for s in split_sentences(t):
                keys = set(analyzer.keys(s)) | set(self._annotations(s)) | set(h)
                sets.append(frozenset(keys | set(self._concepts(sorted(keys)))))
            self.sentences.append(sets or [frozenset(h)])
        n = max(self.size, 1)
        df: dict[str, int] = {}
        for passage_keys in self.body_keys:
            for k in set(passage_keys):
                df[k] = df.get(k, 0) + 1
        self.idf = {k: float(np.log(1 + (n - d + 0.5) / (d + 0.5))) for k, d in df.items()}
        self.concepts = _Field([self._concepts(k) for k in self.body_keys],
                               self.config.k1, self.config.b)
        self.categories: dict[str, list[str]] = {}
        for name, words in CATEGORIES.items():
            for k in {analyzer.key(w) for w in words}:
                self.categories.setdefault(k, []).append(f"#{name}")
        self.category = _Field([self._categories(b) + self._categories(h) for b, h in
                                zip(self.body_keys, self.heading_keys, strict=True)],
                               self.config.category_k1, self.config.b)
        self.cues = [(re.compile(pattern), tuple(analyzer.key(w) for w in words))
                     for pattern, words in QUESTION_CUES]
        self.generic = {analyzer.key(w) for w in GENERIC_WORDS}
        # Each passage's stated practices, with the keys (and synonym groups) of the sentence
        # stating each: a lead-in that also has the question's words ("the personal
        # information we collect") counts more than one that states the practice in others.
        self.practices: list[dict[str, list[frozenset[str]]]] = []
        for t in texts:
            stated: dict[str, list[frozenset[str]]] = {}
            for practice, sentence in stated_practices(t):
                stating = sorted(set(analyzer.keys(sentence)))
                stated.setdefault(practice, []).append(
                    frozenset(stating) | frozenset(self._concepts(stating)))
            self.practices.append(stated)
        self._near: dict[str, str] = {}
        if self.config.fuzzy:
            for word in sorted({w for ws in body_words for w in ws if len(w) >= 4}):
                for d in _deletions(word) | {word}:
                    self._near.setdefault(d, word)

    def _synonyms(self) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
        """Each key's synonyms, and the concept tokens ("~3": group 3) each key stands for."""
        synonyms: dict[str, set[str]] = {}
        groups: dict[str, list[str]] = {}
        for n, group in enumerate(SYNONYM_GROUPS):
            keys = {self.analyzer.key(w) for w in group}
            for k in keys:
                synonyms.setdefault(k, set()).update(keys - {k})
                groups.setdefault(k, []).append(f"~{n}")
        return synonyms, groups

    def _annotations(self, text: str) -> list[str]:
        return [self.analyzer.key(w) for pattern, words in _ANNOTATIONS
                for _ in pattern.finditer(text) for w in words]

    def _concepts(self, keys: Sequence[str]) -> list[str]:
        return [c for k in keys for c in self.groups.get(k, ())]

    def _categories(self, keys: Sequence[str]) -> list[str]:
        return [c for k in keys for c in self.categories.get(k, ())]

    def _correct(self, word: str) -> str:
        key = self.analyzer.key(word)
        if (not self.config.fuzzy or len(word) < 5 or key in self.body.vocab
                or key in self.synonyms):
            return key
        for candidate in [word, *_deletions(word)]:
            near = self._near.get(candidate)
            # typos rarely hit the first letter ("letter" is not a typo of "better")
            if near is not None and near[0] == word[0]:
                return self.analyzer.key(near)
        return key

    def parse(self, question: str) -> Query:
        keys = tuple(dict.fromkeys(
            k for k in (self._correct(w) for w in self.analyzer.words(question))
            if k not in self.generic))
        weights = dict.fromkeys(keys, 1.0)
        if self.config.cue_weight > 0:
            lowered = normalize_chat(question)
            for pattern, cue_keys in self.cues:
                if pattern.search(lowered):
                    for k in cue_keys:
                        weights.setdefault(k, self.config.cue_weight)
        return Query(question, keys, weights, tuple(self._concepts(keys)),
                     asked_practices(question) if self.config.practice_weight > 0 else ())

    def scores(self, query: Query, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """Score of passages lo..hi (default: all) for `query`, the best few reranked by
        their best sentence."""
        total = self.first_stage(query)[lo:hi]
        if self.config.sentence_weight > 0 and query.keys:
            self._rerank(query, total, lo)
        return total

    def sentence_match(self, query: Query, i: int) -> float:
        """Share of the question's idf-weighted keys that passage i's best sentence covers
        (a key counts when the sentence has it or a word of its synonym group)."""
        wanted = []
        for k, w in query.weights.items():
            if k in self.idf:
                wanted.append((k, tuple(self.groups.get(k, ())), w * self.idf[k]))
        total = sum(w for _, _, w in wanted)
        if total <= 0:
            return 0.0
        best = 0.0
        for sentence in self.sentences[i]:
            got = sum(w for k, groups, w in wanted
                      if k in sentence or any(g in sentence for g in groups))
            best = max(best, got)
        return best / total

    def _rerank(self, query: Query, scores: np.ndarray, offset: int) -> None:
        depth = min(self.config.rerank_depth, len(scores))
        if depth == 0:
            return
        top = np.argpartition(-scores, depth - 1)[:depth]
        best = float(scores.max())
        if best <= 0:
            return
        bonus = self.config.sentence_weight * best
        for j in top:
            if scores[j] > 0:
                scores[j] += bonus * self.sentence_match(query, offset + int(j))

    def first_stage(self, query: Query) -> np.ndarray:
        """BM25 score of every passage over the fields (array indexed like the passages)."""
        total = np.zeros(self.size, dtype=np.float32)
        by_weight: dict[float, list[str]] = {}
        for key, weight in query.weights.items():
            by_weight.setdefault(weight, []).append(key)
        fields = [(self.body, 1.0), (self.heading, self.config.heading_weight)]
        for index, field_weight in fields:
            if field_weight <= 0:
                continue
            for weight, keys in by_weight.items():
                s = index.scores(keys)
                if s is not None:
                    total += (field_weight * weight) * s
        if self.config.expansion_weight > 0 and query.concepts:
            s = self.concepts.scores(list(dict.fromkeys(query.concepts)))
            if s is not None:
                total += self.config.expansion_weight * s
        if self.config.category_weight > 0 and query.keys:
            s = self.category.scores(list(dict.fromkeys(self._categories(query.keys))))
            if s is not None:
                total += self.config.category_weight * s
        if query.practices:
            self._practice_factor(query, total)
        return total

    def _practice_factor(self, query: Query, total: np.ndarray) -> None:
        """Passages stating the practice the question asks about score more, the more so the
        more of the question's keys the stating sentence has; passages stating only other
        practices (a collection list, for "who gets my data") score less."""
        w = self.config.practice_weight
        wanted = [(k, tuple(self.groups.get(k, ()))) for k in query.keys]
        for i, stated in enumerate(self.practices):
            if not stated or total[i] <= 0:
                continue
            sentences = [s for p in query.practices for s in stated.get(p, ())]
            if not sentences:
                total[i] /= 1.0 + w * self.config.practice_mismatch
                continue
            cover = max(sum(k in s or any(g in s for g in groups) for k, groups in wanted)
                        for s in sentences) / max(len(wanted), 1)
            total[i] *= 1.0 + w * (0.5 + 0.5 * cover)
