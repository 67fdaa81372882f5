"""Knowledge documents: Markdown with YAML-style front matter and anchored headings.

A document is split into passages: each heading's body, cut at paragraph boundaries, with an
introducing paragraph (ending in ':') kept together with the list that follows it. A passage's
`text` is a verbatim slice of the file (Markdown); its `plain` is what a reader of the statement
sees (`privacy_kb.render`) and a verbatim slice of the document's `plain`, so anything quoted
from it is the statement's own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from privacy_kb.render import render_blocks

AUDIENCES = ("public", "internal")
_HEADING = re.compile(r"^(#{1,6}) (?P<text>.+?) \{#(?P<anchor>[a-z0-9-]+)\}\s*$", re.M)
_FRONT_MATTER = re.compile(r"\A---\n(?P<body>.*?)\n---\n", re.S)
_LIST_ITEM = re.compile(r"^(\* |- |\d+\. |[a-z]\. )")
MIN_PASSAGE_CHARS = 160  # shorter blocks ("For more information refer to ...") join the previous


class DocumentError(ValueError):
    """A knowledge file is malformed (missing front matter, bad audience, ...)."""


@dataclass(frozen=True)
class Passage:
    passage_id: str
    document_id: str
    audience: str
    heading: str
    anchor: str
    start: int  # offsets of `text` in the document's file text
    end: int
    text: str  # Markdown source
    plain: str  # the same blocks as plain text (links as their text, bullets as "• ")
    parents: tuple[str, ...] = ()  # the headings of the sections this one sits in, outermost first


@dataclass(frozen=True)
class Document:
    document_id: str
    title: str
    audience: str
    source: str
    text: str
    passages: tuple[Passage, ...]
    plain: str = ""  # the body (headings included) as plain text


def parse_front_matter(text: str) -> tuple[dict[str, str], int]:
    """Flat `key: value` front matter and the offset where the body starts."""
    match = _FRONT_MATTER.match(text)
    if not match:
        raise DocumentError("missing front matter")
    meta = {}
    for line in match["body"].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip()] = value.strip().strip("\"'")
    return meta, match.end()


def _blocks(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of blank-line separated blocks in text[start:end], whitespace trimmed."""
    spans = []
    for m in re.finditer(r"\S(?:.|\n(?!\s*\n))*", text[start:end]):
        spans.append((start + m.start(), start + m.end()))
    return spans


def _group(text: str, blocks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join an introducing paragraph (ending in ':') with the list blocks after it, and a
    short block with the block before it. A short lead-in of a list starts a passage of its
    own ("The personal information we collect can include the following:"), so each list
    of a section is one passage with its lead-in, not the tail of the list before it."""
    groups: list[tuple[int, int]] = []
    joining = False
    for n, (s, e) in enumerate(blocks):
        block = text[s:e]
        lead_in = (block.rstrip().endswith(":") and n + 1 < len(blocks)
                   and bool(_LIST_ITEM.match(text[blocks[n + 1][0]:blocks[n + 1][1]])))
        if groups and (joining and _LIST_ITEM.match(block)
                       or e - s < MIN_PASSAGE_CHARS and not lead_in):
            groups[-1] = (groups[-1][0], e)
            continue
        groups.append((s, e))
        joining = block.rstrip().endswith(":")
    return groups


def parse_document(text: str, fallback_id: str) -> Document:
    meta, body_start = parse_front_matter(text)
    document_id = meta.get("id") or fallback_id
    audience = meta.get("audience", "")
    if audience not in AUDIENCES:
        raise DocumentError(f"{document_id}: audience must be one of {AUDIENCES}, got {audience!r}")
    headings = list(_HEADING.finditer(text, body_start))
    passages: list[Passage] = []
    chain: list[tuple[int, str]] = []
    for i, h in enumerate(headings):
        level = len(h.group(1))
        chain = [(lvl, text) for lvl, text in chain if lvl < level]
        parents = tuple(text for _, text in chain)
        chain.append((level, h["text"]))
        section_end = headings[i + 1].start() if i + 1 < len(headings) else len(text)
        for n, (s, e) in enumerate(_group(text, _blocks(text, h.end(), section_end))):
            suffix = "" if n == 0 else f"-{n + 1}"
            passages.append(Passage(
                passage_id=f"{document_id}#{h['anchor']}{suffix}",
                document_id=document_id,
                audience=audience,
                heading=h["text"],
                anchor=h["anchor"],
                start=s,
                end=e,
                text=text[s:e],
                plain=render_blocks([text[bs:be] for bs, be in _blocks(text, s, e)]),
                parents=parents,
            ))
    return Document(
        document_id=document_id,
        title=meta.get("title", document_id),
        audience=audience,
        source=meta.get("source", ""),
        text=text,
        passages=tuple(passages),
        plain=render_blocks([text[s:e] for s, e in _blocks(text, body_start, len(text))]),
    )


def load_document(path: Path) -> Document:
    return parse_document(path.read_text(encoding="utf-8"), fallback_id=path.stem)
