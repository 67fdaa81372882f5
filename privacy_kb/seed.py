"""Convert the scraped privacy-statement web page into the clean knowledge document.

The page is a Markdown dump of the whole web page (menus, language pickers, footer). The
statement itself starts at its setext title and ends before the first image after it (the
footer logo). Inside it, setext headings become ATX headings with explicit anchors, and each
row of the two-column overview table becomes its own sub-section. The statement's words are
copied as they are: only the Markdown layout changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SOURCE_URL = "https://boomi.com/privacy/"
DOCUMENT_ID = "privacy-statement"
TITLE = "US Privacy Statement"
OVERVIEW_HEADING = "Overview of Our Privacy Practice"

# Anchors the web page already uses (its table links to them); everything else is slugified.
PAGE_ANCHORS = {
    "Information We Collect": "info-we-collect",
    "How We Use and Share Your Information": "use-share-info",
    "Your Consumer Privacy Rights": "privacy-rights",
    "Your Marketing Choices": "marketing-choices",
}

_SETEXT = re.compile(r"^(=+|-+)\s*$")
_IMAGE_LINE = re.compile(r"^\[?!\[")
_TABLE_ROW = re.compile(r"^\|\s*\*\*(?P<label>.+?)\*\*\s*\|\s*(?P<cell>.*?)\s*\|\s*$")


class SeedFormatError(ValueError):
    """The seed page does not have the layout the converter expects."""


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


def slugify(text: str) -> str:
    """Lower-case ASCII slug: 'Links to Third-Party Websites' -> 'links-to-third-party-websites'."""
    text = text.replace("’", "").replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def statement_lines(page: str) -> list[str]:
    """The lines of the statement: from its setext title to just before the footer logo."""
    lines = page.splitlines()
    start = next(
        (
            i
            for i in range(len(lines) - 1)
            if lines[i].strip() == TITLE and lines[i + 1].startswith("==")
        ),
        None,
    )
    if start is None:
        raise SeedFormatError(f"title {TITLE!r} not found")
    end = next((i for i in range(start, len(lines)) if _IMAGE_LINE.match(lines[i])), len(lines))
    body = lines[start:end]
    while body and not body[-1].strip():
        body.pop()
    return body


def _cell_to_markdown(cell: str) -> str:
    """A table cell's `<br>`-separated layout as Markdown paragraphs, lists and line breaks."""
    blocks = []
    for block in cell.split("<br><br>"):
        parts = block.split("<br>")
        if all(p.startswith("* ") for p in parts):
            blocks.append("\n".join(parts))
        else:
            # `text  <br>next` is a hard line break (the postal address); keep it as one.
            blocks.append("\n".join(p if p.endswith("  ") else p + "  " for p in parts[:-1])
                          + ("\n" if len(parts) > 1 else "") + parts[-1])
    return "\n\n".join(b.strip("\n") for b in blocks)


def _heading_line(heading: Heading) -> str:
    return f"{'#' * heading.level} {heading.text} {{#{heading.anchor}}}"


def convert(page: str) -> str:
    """The knowledge document (front matter + Markdown) for the statement in `page`."""
    lines = statement_lines(page)
    out: list[str] = [
        "---",
        f"id: {DOCUMENT_ID}",
        f"title: {TITLE}",
        "audience: public",
        f"source: {SOURCE_URL}",
        "---",
        "",
    ]
    seen: set[str] = set()

    def add_heading(level: int, text: str, anchor: str) -> None:
        if anchor in seen:
            raise SeedFormatError(f"duplicate anchor {anchor!r}")
        seen.add(anchor)
        if out[-1] != "":
            out.append("")
        out.extend([_heading_line(Heading(level, text, anchor)), ""])

    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and _SETEXT.match(nxt):
            text = line.strip()
            level = 1 if nxt.startswith("=") else 2
            anchor = PAGE_ANCHORS.get(text) or ("overview" if text == OVERVIEW_HEADING
                                                 else slugify(text))
            add_heading(level, text, anchor)
            i += 2
            continue
        row = _TABLE_ROW.match(line)
        if row:
            label = row["label"].strip()
            add_heading(3, label, f"overview-{slugify(label)}")
            out.extend([_cell_to_markdown(row["cell"]), ""])
        elif line.startswith("|"):
            pass  # the table's empty header and separator rows
        elif line.strip() or out[-1] != "":
            out.append(line)
        i += 1
    while out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"
