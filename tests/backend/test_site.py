"""The demo page: the statement with its anchors, the widget's configuration, and the
vendored socket.io client served locally."""

from __future__ import annotations

import json
import re
from pathlib import Path

from privacy_kb.document import load_document
from privacy_kb.render import html_block as block_html
from privacy_kb.render import html_inline as inline

from .support import Api

STATEMENT = Path(__file__).resolve().parents[2] / "data" / "knowledge" / "privacy_statement.md"


def test_page_has_every_section_anchor_the_bot_cites(api: Api) -> None:
    page = api.client.get("/")
    assert page.status_code == 200
    ids = set(re.findall(r'<h[1-6] id="([a-z0-9-]+)"', page.text))
    anchors = {p.anchor for p in load_document(STATEMENT).passages}
    assert anchors and anchors <= ids
    assert '<a href="mailto:privacy@boomi.com">privacy@boomi.com</a>' in page.text


def test_page_passes_rasa_url_to_the_widget_and_loads_nothing_external(api: Api) -> None:
    page = api.client.get("/")
    raw = re.search(r'<script type="application/json" id="chat-widget-config">(.*?)</script>',
                    page.text, re.S)
    assert raw
    config = json.loads(raw.group(1))
    assert config["rasaUrl"] == api.settings.rasa_base_url == "http://127.0.0.1:5005"
    assert config["socketPath"] == "/socket.io"
    sources = re.findall(r'(?:src|href)="([^"#]+)"', page.text.split('<main')[0] +
                         page.text.split('</main>')[1])
    assert sources and all(s.startswith("/static/") for s in sources), sources
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "ws://127.0.0.1:5005" in csp


def test_widget_rasa_url_overrides_what_the_browser_uses(api: Api) -> None:
    api.client.app.state.settings = api.settings.model_copy(  # type: ignore[attr-defined]
        update={"widget_rasa_url": "https://chat.example.com"})
    page = api.client.get("/")
    assert '"rasaUrl": "https://chat.example.com"' in page.text
    assert "wss://chat.example.com" in page.headers["content-security-policy"]


def test_static_files_are_served(api: Api) -> None:
    for path in ["/static/widget.js", "/static/widget.css", "/console/static/console.js",
                 "/static/vendor/socket.io.min.js", "/static/vendor/socket.io.LICENSE"]:
        assert api.client.get(path).status_code == 200, path
    assert api.client.get("/static/vendor/socket.io.min.js").text.startswith(
        "/*!\n * Socket.IO v4.")


def test_markdown_is_escaped_and_only_safe_links_survive() -> None:
    assert inline("<script>x</script> **bold**") == (
        "&lt;script&gt;x&lt;/script&gt; <strong>bold</strong>")
    assert inline("[click](javascript:alert)") == "click"
    assert block_html("## Your Rights {#rights}") == (
        '<h2 id="rights" tabindex="-1">Your Rights</h2>')
    assert block_html("* one\n* two") == "<ul><li>one</li><li>two</li></ul>"


def test_the_statement_title_and_source_are_escaped(api: Api, tmp_path: Path) -> None:
    """The page is a template with autoescaping: front matter cannot inject markup."""
    (tmp_path / "privacy_statement.md").write_text(
        '---\ntitle: "<script>alert(1)</script>"\nsource: "x\\" onmouseover=\\"alert(1)"\n---\n'
        "# Heading {#h}\n\nBody.\n", encoding="utf-8")
    app = api.client.app
    app.state.settings = api.settings.model_copy(update={"knowledge_dir": tmp_path})  # type: ignore[attr-defined]
    text = api.client.get("/").text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert '" onmouseover="' not in text


def test_signed_link_pages_are_private_and_post_only_where_they_have_a_form(api: Api) -> None:
    pages = {"'self'": api.client.get("/unsubscribe/not-a-token"),  # the page with a form
             "'none'": api.client.get("/exports/not-a-token")}
    for form_action, page in pages.items():
        assert page.status_code in (400, 403)
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["x-robots-tag"] == "noindex"
        policy = [d.strip() for d in page.headers["content-security-policy"].split(";")]
        assert f"form-action {form_action}" in policy and "default-src 'none'" in policy


def test_every_page_shares_the_base_frame(api: Api) -> None:
    for path in ("/", "/console", "/unsubscribe/not-a-token"):
        page = api.client.get(path).text
        assert page.startswith('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">')
        assert '<meta name="robots" content="noindex">' in page
        assert page.rstrip().endswith("</body>\n</html>")
    assert "<title>Agent console · Privacy assistant</title>" in api.client.get("/console").text
