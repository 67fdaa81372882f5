"""Does a passage support an answer to a question? The test that makes the bot abstain.

A bare score threshold cannot tell "reset my platform password" (one rare word that happens to
be in the statement) from "do you keep my password" (two words, both on topic). The test looks
at what the question asks: its content words (chat fillers and the company name removed), how
many of them the passage covers (directly or through a synonym), and how much of the question
is about privacy against how much is about something else:

- privacy evidence: each privacy concept the question names (a synonym group, or a word of
  the privacy vocabulary) counts 1; a concept that is a verb product questions also use about
  their own objects (share, delete, change, access, keep, export, contact, request) counts 0.5;
- foreign evidence: each content word the knowledge base never uses (zero document frequency
  after typo correction, outside the vocabulary; numbers and one- or two-letter words
  excepted) and each product noun (`PRODUCT_TERMS`) counts 1.

A question is supported when it names a privacy concept, its privacy evidence outweighs its
foreign evidence, and the passage covers enough of it. So "delete my acount" is answered
(delete 0.5 + account 1 against 0) and "how do I delete my Boomi process" is not (0.5 against
1), and "where is the data stored for my atom queue" is not (data 1 + store 0.5 against atom
and queue). The thresholds are calibrated on tests/knowledge/questions.yml.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from privacy_kb.analysis import Analyzer
from privacy_kb.vocabulary import (
    ACTION_GROUPS,
    GENERIC_WORDS,
    PRIVACY_TERMS,
    PRODUCT_TERMS,
    SYNONYM_GROUPS,
)

# Calibration on tests/knowledge/questions.yml: the lowest coverage of a question that must be
# answered is 0.50; the highest of a declined question with a privacy word ("reset my platform
# password") is 0.33. The threshold sits between them.
MIN_COVERAGE = 0.4  # share of the question's content keys the passage must cover
MIN_PRIVACY_KEYS = 1  # at least this many content keys from the privacy vocabulary
ACTION_EVIDENCE = 0.5  # what an action concept counts for (a privacy noun counts 1)


@dataclass(frozen=True)
class Support:
    content_keys: int
    covered_keys: int
    privacy_keys: int
    privacy_evidence: float = 0.0
    foreign_keys: int = 0

    @property
    def coverage(self) -> float:
        return self.covered_keys / self.content_keys if self.content_keys else 0.0

    @property
    def supported(self) -> bool:
        return (self.privacy_keys >= MIN_PRIVACY_KEYS and self.coverage >= MIN_COVERAGE
                and self.privacy_evidence >= self.foreign_keys)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


class SupportTest:
    def __init__(self, analyzer: Analyzer, synonyms: dict[str, set[str]],
                 known: Collection[str] = ()) -> None:
        """`known`: every key the knowledge base uses (body and headings)."""
        self.synonyms = synonyms
        self.known = frozenset(known)
        self.generic = {analyzer.key(w) for w in GENERIC_WORDS}
        self.product = {analyzer.key(w) for w in PRODUCT_TERMS}
        # Each privacy key's concept: its synonym group (the group's first key), or itself.
        self.concept: dict[str, str] = {}
        self.evidence: dict[str, float] = {}
        for group in SYNONYM_GROUPS:
            keys = [analyzer.key(w) for w in group]
            weight = ACTION_EVIDENCE if group[0] in ACTION_GROUPS else 1.0
            for k in keys:
                self.concept.setdefault(k, keys[0])
                self.evidence.setdefault(keys[0], weight)
        for w in PRIVACY_TERMS:
            k = analyzer.key(w)
            self.concept.setdefault(k, k)
            self.evidence.setdefault(k, 1.0)
        self.privacy = set(self.concept) - self.product
        # A misspelt stopword ("wher", "whta") is not a foreign word.
        self.stop_typos = {d for w in analyzer.config.stopwords if len(w) >= 4
                           for d in _deletions(w)}

    def _foreign(self, key: str) -> bool:
        if key in self.product:
            return True
        return (len(key) > 2 and not key.isdigit() and key not in self.known
                and key not in self.concept and key not in self.synonyms
                and key not in self.stop_typos)

    def check(self, question_keys: Collection[str], passage_keys: Collection[str]) -> Support:
        content = [k for k in question_keys if k not in self.generic]
        covered = [
            k for k in content
            if k in passage_keys or any(s in passage_keys for s in self.synonyms.get(k, ()))
        ]
        privacy = [k for k in content if k in self.privacy]
        concepts = {self.concept[k] for k in privacy}
        evidence = sum(self.evidence[c] for c in concepts)
        foreign = sum(self._foreign(k) for k in content)
        return Support(len(content), len(covered), len(privacy), evidence, foreign)
