"""The privacy statement as HTML for the demo page: every heading keeps its `{#anchor}` as
its `id`, so the bot's citations (`SITE_URL/#anchor`) land on the quoted section."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from privacy_kb.document import parse_front_matter

_HEADING = re.compile(r"^(#{1,6}) (?P<text>.+?)(?: \{#(?P<anchor>[a-z0-9-]+)\})?\s*$")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_BULLET = re.compile(r"^\s*[*+-] +")
_ORDERED = re.compile(r"^\s*(?:\d+|[a-z])\. ")
_SAFE_HREF = re.compile(r"^(?:#|https?://|mailto:)", re.I)


@dataclass(frozen=True)
class Statement:
    title: str
    source: str
    html: str


def _link(match: re.Match[str]) -> str:
    text, href = match.group(1), html.unescape(match.group(2))
    if not _SAFE_HREF.match(href):
        return text
    return f'<a href="{html.escape(href, quote=True)}">{text}</a>'


def inline(text: str) -> str:
    """Escape, then links, strong and emphasis (the only inline Markdown the statement uses)."""
    out = _LINK.sub(_link, html.escape(text, quote=False))
    out = _STRONG.sub(r"<strong>\2</strong>", out)
    return _EMPHASIS.sub(r"<em>\1</em>", out)


def _lines(block: str) -> str:
    """A paragraph: soft breaks join, hard breaks (two trailing spaces) become <br>."""
    parts: list[str] = []
    for raw in block.split("\n"):
        parts.append(inline(raw.strip()) + ("<br>" if raw.endswith("  ") else ""))
    return " ".join(parts).replace("<br> ", "<br>\n")


def block_html(block: str) -> str:
    stripped = block.strip()
    heading = _HEADING.match(stripped)
    if heading and "\n" not in stripped:
        level = len(heading.group(1))
        anchor = heading["anchor"]
        ident = f' id="{anchor}" tabindex="-1"' if anchor else ""
        return f"<h{level}{ident}>{inline(heading['text'])}</h{level}>"
    rows = [r for r in stripped.split("\n") if r.strip()]
    if rows and all(_BULLET.match(r) or _ORDERED.match(r) or r.startswith("  ") for r in rows):
        items: list[str] = []
        for row in rows:
            bullet = _BULLET.match(row)
            if bullet:
                items.append(inline(row[bullet.end():].strip()))
            elif _ORDERED.match(row) or not items:
                items.append(inline(row.strip()))
            else:
                items[-1] += " " + inline(row.strip())
        tag = "ul" if _BULLET.match(rows[0]) else "ol class=\"labelled\""
        close = tag.split()[0]
        return f"<{tag}>" + "".join(f"<li>{i}</li>" for i in items) + f"</{close}>"
    return f"<p>{_lines(stripped)}</p>"


def render(text: str) -> Statement:
    meta, start = parse_front_matter(text)
    blocks = [b for b in re.split(r"\n\s*\n", text[start:]) if b.strip()]
    return Statement(title=meta.get("title", "Privacy statement"), source=meta.get("source", ""),
                     html="\n".join(block_html(b) for b in blocks))


def load(knowledge_dir: Path) -> Statement:
    """The public statement of the knowledge folder (`privacy_statement.md`)."""
    return render((knowledge_dir / "privacy_statement.md").read_text(encoding="utf-8"))
