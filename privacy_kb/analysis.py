"""Text analysis: spaCy's blank English pipeline for tokens, sentences and lookup lemmas.

An index key is the Snowball stem of a word's lemma ("children" -> "child", "sold" -> "sell",
"cookies" -> "cooki"), so the index and the questions meet on the same keys. No pretrained
pipeline is needed: the lemmas come from the spacy-lookups-data tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import spacy
import Stemmer
from spacy.lang.en.stop_words import STOP_WORDS

from privacy_kb.vocabulary import SHORT_FORMS

_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"\*\*|__|[*#>`|{}]")
_WORD = re.compile(r"\w")
_SHORT_FORM = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(k) for k in sorted(SHORT_FORMS, key=len, reverse=True))
    + r")(?![\w-])"
)
# Lucene's English list (what bm25s uses) is too short for chat questions, spaCy's too long
# (it drops "not", "off", "out", "first"); this keeps spaCy's minus those meaningful words.
_KEEP = {"not", "no", "off", "out", "first", "third", "back", "name", "part", "keep", "give",
         "see", "call", "show", "made", "make", "used", "using", "full", "top", "move"}
STOPWORDS: frozenset[str] = frozenset(w for w in STOP_WORDS if w not in _KEEP) | {
    "n't", "'s", "'re", "'m", "'ll", "'ve", "'d"}


def plain_text(markdown: str) -> str:
    """Markdown without link targets and emphasis marks (`[a](b)` -> `a`)."""
    return _MARKUP.sub(" ", _LINK.sub(r"\1", markdown))


# "12 yo", "12-year-old", "12 yrs old": a stated age.
_AGE = re.compile(r"\b(\d{1,2}) ?(?:yo|y/o|-?years?-?old|yrs? old)\b")


def normalize_chat(text: str) -> str:
    """Lower-case and spell out chat short forms: "do u sell my info" -> "do you sell my ..."."""
    text = _AGE.sub(r"age \1", text.lower().replace("’", "'"))
    return _SHORT_FORM.sub(lambda m: SHORT_FORMS[m.group(1)], text)


@dataclass(frozen=True)
class AnalyzerConfig:
    lemmas: bool = True
    stopwords: frozenset[str] = STOPWORDS


class Analyzer:
    """Turns text into index keys and sentence spans; caches each word's key."""

    def __init__(self, config: AnalyzerConfig | None = None) -> None:
        self.config = config or AnalyzerConfig()
        self.nlp = spacy.blank("en")
        self.nlp.add_pipe("sentencizer")
        lemmatizer = self.nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        self.nlp.initialize()
        self._lemmas = lemmatizer.lookups.get_table("lemma_lookup")  # type: ignore[attr-defined]
        self._stemmer = Stemmer.Stemmer("english")
        self._keys: dict[str, str] = {}

    def lemma(self, word: str) -> str:
        return str(self._lemmas.get(word, word))

    def key(self, word: str) -> str:
        """The index key of one lower-case word."""
        cached = self._keys.get(word)
        if cached is None:
            base = self.lemma(word) if self.config.lemmas else word
            cached = self._stemmer.stemWord(base)
            self._keys[word] = cached
        return cached

    def words(self, text: str) -> list[str]:
        """Lower-case content words of `text` (stopwords and punctuation dropped)."""
        stop = self.config.stopwords
        out = []
        for token in self.nlp.tokenizer(plain_text(normalize_chat(text))):
            word = token.text.strip("'-.")
            if word and _WORD.search(word) and word not in stop and token.text not in stop:
                out.append(word)
        return out

    def keys(self, text: str) -> list[str]:
        return [self.key(w) for w in self.words(text)]

    def sentence_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the sentences of `text` (offsets into `text` itself)."""
        doc = self.nlp(text)
        return [(s.start_char, s.end_char) for s in doc.sents if s.text.strip()]
