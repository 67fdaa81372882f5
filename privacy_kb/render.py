"""The one Markdown renderer of the knowledge documents, with two outputs from one parse.

The statement uses a small subset of Markdown, parsed here per blank-line separated block:

* an ATX heading (`## Contact Us {#contact-us}`), whose `{#anchor}` the citations link to;
* lines, each a bullet item (`* `, `- `, `+ `), an ordered item (`a. `, `1. `) or plain text;
  a line that ends softly is continued by the next plain line, a hard break (two trailing
  spaces) ends it;
* inline links, strong and emphasis.

`render_block` / `render_blocks` give the plain text a reader of the statement sees: the chat
quotes are cut from it, never from the Markdown source. Links show their text, emphasis
markers go, a bullet item becomes a `• item` line, ordered items keep their label, and blocks
are joined by one blank line, so the rendering of consecutive blocks (a passage) is a slice of
the rendering of the whole document.

`html_block` gives the same block as HTML for the demo page: every heading keeps its anchor
as its `id`, so a citation (`SITE_URL/#anchor`) lands on the quoted section. Text is escaped
before any markup is added, and only `#`, `http(s)://` and `mailto:` links become anchors.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal

BULLET = "• "
BLOCK_SEPARATOR = "\n\n"
LIST_LINE = re.compile(r"^(?:• |(?:\d+|[a-z])\. )")  # a list item in the plain rendering

_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_BULLET_ITEM = re.compile(r"^\s*[*+-] +")
_ORDERED_ITEM = re.compile(r"^\s*(?:\d+|[a-z])\. ")
_ATX = re.compile(r"^(?P<marks>#{1,6}) (?P<text>.+?)(?: \{#(?P<anchor>[a-z0-9-]+)\})?\s*$")
_SAFE_HREF = re.compile(r"^(?:#|https?://|mailto:)", re.I)

LineKind = Literal["bullet", "ordered", "plain"]


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str | None


@dataclass(frozen=True)
class Line:
    """A logical line of a block: its kind and its Markdown text (bullet marker removed)."""

    kind: LineKind
    text: str


def split_blocks(text: str) -> list[str]:
    """The blank-line separated blocks of a Markdown text, empty ones left out."""
    return [b for b in re.split(r"\n\s*\n", text) if b.strip()]


def parse_block(block: str) -> Heading | list[Line]:
    """A heading, or the block's logical lines with soft-wrapped continuations joined."""
    heading = _ATX.match(block.strip())
    if heading and "\n" not in block.strip():
        return Heading(len(heading["marks"]), heading["text"], heading["anchor"])
    lines: list[Line] = []
    joins = False  # the previous physical line ended softly: a plain line continues it
    for raw in block.split("\n"):
        if not raw.strip():
            continue
        bullet = _BULLET_ITEM.match(raw)
        if bullet:
            lines.append(Line("bullet", raw[bullet.end():].strip()))
        elif _ORDERED_ITEM.match(raw):
            lines.append(Line("ordered", raw.strip()))
        elif lines and joins:
            lines[-1] = Line(lines[-1].kind, f"{lines[-1].text} {raw.strip()}")
        else:
            lines.append(Line("plain", raw.strip()))
        joins = not raw.endswith("  ")
    return lines


# --- plain text (the chat's quotes) ----------------------------------------------------------

def render_inline(text: str) -> str:
    """One line without link targets and emphasis markers."""
    return _EMPHASIS.sub(r"\1", _STRONG.sub(r"\2", _LINK.sub(r"\1", text)))


def render_block(block: str) -> str:
    """One Markdown block (paragraph, list, heading or address) as plain-text lines."""
    parsed = parse_block(block)
    if isinstance(parsed, Heading):
        return render_inline(parsed.text)
    return "\n".join((BULLET if line.kind == "bullet" else "") + render_inline(line.text)
                     for line in parsed)


def render_blocks(blocks: list[str]) -> str:
    return BLOCK_SEPARATOR.join(r for r in (render_block(b) for b in blocks) if r)


# --- HTML (the demo page) --------------------------------------------------------------------

def _html_link(match: re.Match[str]) -> str:
    text, href = match.group(1), html.unescape(match.group(2))
    if not _SAFE_HREF.match(href):
        return text
    return f'<a href="{html.escape(href, quote=True)}">{text}</a>'


def html_inline(text: str) -> str:
    """Escape, then links, strong and emphasis."""
    out = _LINK.sub(_html_link, html.escape(text, quote=False))
    out = _STRONG.sub(r"<strong>\2</strong>", out)
    return _EMPHASIS.sub(r"<em>\1</em>", out)


def html_block(block: str) -> str:
    """One block as a heading with its anchor as `id`, a list, or a paragraph whose hard
    breaks are `<br>`."""
    parsed = parse_block(block)
    if isinstance(parsed, Heading):
        ident = f' id="{parsed.anchor}" tabindex="-1"' if parsed.anchor else ""
        return f"<h{parsed.level}{ident}>{html_inline(parsed.text)}</h{parsed.level}>"
    if parsed and all(line.kind != "plain" for line in parsed):
        items = "".join(f"<li>{html_inline(line.text)}</li>" for line in parsed)
        if parsed[0].kind == "bullet":
            return f"<ul>{items}</ul>"
        return f'<ol class="labelled">{items}</ol>'
    return "<p>" + "<br>\n".join(html_inline(line.text) for line in parsed) + "</p>"


def html_blocks(blocks: list[str]) -> str:
    return "\n".join(html_block(b) for b in blocks)
