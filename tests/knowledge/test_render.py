"""Plain-text rendering of statement Markdown (what the chat shows)."""

from __future__ import annotations

from privacy_kb.render import render_block, render_blocks


def test_links_and_emphasis_show_their_text() -> None:
    block = "Exercise **Your Rights** at [privacy@Boomi.com](mailto:privacy@Boomi.com) *now*."
    assert render_block(block) == "Exercise Your Rights at privacy@Boomi.com now."


def test_bullets_become_dot_lines_and_ordered_labels_stay() -> None:
    assert render_block("* one\n* two\n  continued") == "• one\n• two continued"
    assert render_block("a. Sending a request, or") == "a. Sending a request, or"


def test_hard_breaks_are_lines_and_soft_breaks_spaces() -> None:
    address = render_block("Boomi, LP  \nSuite 200  \nConshohocken")
    assert address == "Boomi, LP\nSuite 200\nConshohocken"
    assert render_block("one line\nwrapped") == "one line wrapped"


def test_headings_lose_marks_and_anchor() -> None:
    assert render_block("## Contact Us {#contact-us}") == "Contact Us"
    assert render_blocks(["# T {#t}", "Body."]) == "T\n\nBody."


def test_words_inside_emails_are_left_alone() -> None:
    assert render_block("mail first_last@x.com or a*b") == "mail first_last@x.com or a*b"
