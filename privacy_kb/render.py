"""Plain-text rendering of knowledge Markdown: the words as a reader of the statement sees them.

The chat shows quotes as plain text, so a quote is cut from this rendering, never from the
Markdown source. Rules, per blank-line separated block:

* links show their text (`[privacy@boomi.com](mailto:...)` -> `privacy@boomi.com`);
* emphasis markers go (`**Business Partner**` -> `Business Partner`);
* a bullet item (`* `, `- `, `+ `) becomes a `• item` line; ordered items (`a. `, `1. `) keep
  their label, as the page shows it;
* a hard line break (two trailing spaces) is a new line, a soft one a space;
* an ATX heading shows its text without `#` marks or the `{#anchor}`.

Blocks are joined by one blank line, so the rendering of consecutive blocks (a passage) is a
slice of the rendering of the whole document.
"""

from __future__ import annotations

import re

BULLET = "• "
BLOCK_SEPARATOR = "\n\n"

_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_BULLET_ITEM = re.compile(r"^\s*[*+-] +")
_ORDERED_ITEM = re.compile(r"^\s*(?:\d+|[a-z])\. ")
_ATX = re.compile(r"^#{1,6} (?P<text>.+?)(?: \{#[a-z0-9-]+\})?\s*$")
LIST_LINE = re.compile(r"^(?:• |(?:\d+|[a-z])\. )")  # a list item in the rendering


def render_inline(text: str) -> str:
    """One line without link targets and emphasis markers."""
    return _EMPHASIS.sub(r"\1", _STRONG.sub(r"\2", _LINK.sub(r"\1", text)))


def render_block(block: str) -> str:
    """One Markdown block (paragraph, list, heading or address) as plain-text lines."""
    heading = _ATX.match(block.strip())
    if heading and "\n" not in block.strip():
        return render_inline(heading["text"])
    lines: list[str] = []
    joins = False  # the previous line ended softly: this one continues it
    for raw in block.split("\n"):
        if not raw.strip():
            continue
        bullet = _BULLET_ITEM.match(raw)
        if bullet:
            lines.append(BULLET + render_inline(raw[bullet.end():].strip()))
        elif _ORDERED_ITEM.match(raw) or not lines or not joins:
            lines.append(render_inline(raw.strip()))
        else:
            lines[-1] += " " + render_inline(raw.strip())
        joins = not raw.endswith("  ")
    return "\n".join(lines)


def render_blocks(blocks: list[str]) -> str:
    return BLOCK_SEPARATOR.join(r for r in (render_block(b) for b in blocks) if r)
