"""Answer quality on labelled questions: the right quote, or a decline.

A set lists `answerable` questions, each with `accept` (fragments of the headings under which
a quote answers it) and `unanswerable` ones, which must be declined with no quote (the format
of `../shared/data/privacyqa_dev_questions.yml` and `tests/*/answerability*.yml`). A quote
counts as right when its heading, or a heading above it, contains one of the fragments
(case-insensitive). Reported separately, as the issue asks:

- coverage: answerable questions answered under an accepted heading;
- declined: unanswerable questions that got no quote;
- precision: of all the quotes given (to either kind), those under an accepted heading.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from privacy_kb.kb import Answer, KnowledgeBase


@dataclass(frozen=True)
class Item:
    question: str
    accept: tuple[str, ...]  # empty: the statement is silent
    why: str = ""  # the statement's words that answer it, when the set gives them

    @property
    def answerable(self) -> bool:
        return bool(self.accept)


@dataclass
class Report:
    answerable: int = 0
    cited_right: int = 0
    cited_wrong: int = 0
    silent: int = 0
    declined: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def quotes(self) -> int:
        return self.cited_right + self.cited_wrong + (self.silent - self.declined)

    @property
    def coverage(self) -> float:
        return self.cited_right / self.answerable if self.answerable else 0.0

    @property
    def declined_share(self) -> float:
        return self.declined / self.silent if self.silent else 0.0

    @property
    def precision(self) -> float:
        return self.cited_right / self.quotes if self.quotes else 1.0

    def summary(self) -> str:
        return (f"answerable cited right {self.cited_right}/{self.answerable} "
                f"({self.coverage:.0%}), silent declined {self.declined}/{self.silent} "
                f"({self.declined_share:.0%}), quote precision {self.cited_right}/{self.quotes}"
                f" ({self.precision:.0%})")

    def as_json(self) -> str:
        data = asdict(self)
        data.update(coverage=round(self.coverage, 4), declined_share=round(self.declined_share, 4),
                    precision=round(self.precision, 4), quotes=self.quotes)
        return json.dumps(data, ensure_ascii=False, indent=1)


def load_items(path: Path) -> list[Item]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "items" in data:  # a routing set: its statement questions and its off-topic messages
        return [Item(e["text"], tuple(h.lower() for h in e["headings"]))
                for e in data["items"] if e["expect"] == "answer"] + \
            [Item(e["text"], ()) for e in data["items"] if e["expect"] == "decline"]
    if "answered" in data:  # tests/knowledge/questions.yml: whole headings, declined list
        return [Item(e["q"], tuple(h.lower() for h in (
                    e["heading"] if isinstance(e["heading"], list) else [e["heading"]])))
                for e in data["answered"]] + \
            [Item(e if isinstance(e, str) else e["q"], ()) for e in data["declined"]]
    items = [Item(e["q"], tuple(str(a).lower() for a in e["accept"]), e.get("why", ""))
             for e in data.get("answerable") or []]
    items += [Item(e["q"], ()) for e in data.get("unanswerable") or []]
    return items


def headings_above(kb: KnowledgeBase) -> dict[str, list[str]]:
    """Each passage's heading and the headings of the sections it sits in."""
    chains: dict[str, list[str]] = {}
    for document in kb.documents.values():
        for passage in document.passages:
            chains[passage.passage_id] = [*passage.parents, passage.heading]
    return chains


def accepts(fragments: Sequence[str], headings: Sequence[str]) -> bool:
    """Whether a cited heading chain holds one of the (lower-case) heading fragments."""
    lowered = [h.lower() for h in headings]
    return any(fragment in h for fragment in fragments for h in lowered)


def accepted(item: Item, headings: Sequence[str]) -> bool:
    return accepts(item.accept, headings)


def evaluate(kb: KnowledgeBase, items: Sequence[Item],
             answer: Callable[[str], Answer | None] | None = None) -> Report:
    """Ask every question (through `answer`, by default `kb.answer`) and count."""
    ask = answer or kb.answer
    chains = headings_above(kb)
    report = Report()
    for item in items:
        got = ask(item.question)
        cited: Mapping[str, Any] = {}
        if got is not None:
            cited = {"heading": got.heading, "quote": got.quote[:160]}
        if item.answerable:
            report.answerable += 1
            if got is None:
                report.misses.append({"q": item.question, "want": item.accept, "got": None})
            elif accepted(item, chains.get(got.passage_id, [got.heading])):
                report.cited_right += 1
            else:
                report.cited_wrong += 1
                report.misses.append({"q": item.question, "want": item.accept, **cited})
        else:
            report.silent += 1
            if got is None:
                report.declined += 1
            else:
                report.misses.append({"q": item.question, "want": "decline", **cited})
    return report
