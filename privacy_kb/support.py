"""Does a passage support an answer to a question? The test that makes the bot abstain.

A bare score threshold cannot tell "reset my platform password" (one rare word that happens to
be in the statement) from "do you keep my password" (two words, both on topic). The test looks
at what the question asks: its content words (chat fillers and the company name removed), how
many of them the passage covers (directly or through a synonym), and whether any of them
belongs to the privacy vocabulary. The thresholds are calibrated on tests/knowledge/questions.yml.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from privacy_kb.analysis import Analyzer
from privacy_kb.vocabulary import GENERIC_WORDS, PRIVACY_TERMS, SYNONYM_GROUPS

# Calibration on tests/knowledge/questions.yml: the lowest coverage of a question that must be
# answered is 0.50; the highest of a declined question with a privacy word ("reset my platform
# password") is 0.33. The threshold sits between them.
MIN_COVERAGE = 0.4  # share of the question's content keys the passage must cover
MIN_PRIVACY_KEYS = 1  # at least this many content keys from the privacy vocabulary


@dataclass(frozen=True)
class Support:
    content_keys: int
    covered_keys: int
    privacy_keys: int

    @property
    def coverage(self) -> float:
        return self.covered_keys / self.content_keys if self.content_keys else 0.0

    @property
    def supported(self) -> bool:
        return self.privacy_keys >= MIN_PRIVACY_KEYS and self.coverage >= MIN_COVERAGE


class SupportTest:
    def __init__(self, analyzer: Analyzer, synonyms: dict[str, set[str]]) -> None:
        self.synonyms = synonyms
        self.generic = {analyzer.key(w) for w in GENERIC_WORDS}
        self.privacy = {analyzer.key(w) for group in SYNONYM_GROUPS for w in group}
        self.privacy |= {analyzer.key(w) for w in PRIVACY_TERMS}

    def check(self, question_keys: Collection[str], passage_keys: Collection[str]) -> Support:
        content = [k for k in question_keys if k not in self.generic]
        covered = [
            k for k in content
            if k in passage_keys or any(s in passage_keys for s in self.synonyms.get(k, ()))
        ]
        privacy = [k for k in content if k in self.privacy]
        return Support(len(content), len(covered), len(privacy))
