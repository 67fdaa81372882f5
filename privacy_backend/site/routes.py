"""The demo website (`GET /`): the privacy statement with its anchored sections and the chat
widget, which talks to Rasa's socket.io channel at WIDGET_RASA_URL (default RASA_URL), and
the state of the browser's Global Privacy Control signal (`site.privacy_signals`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from privacy_backend.api.deps import SettingsDep
from privacy_backend.core.settings import Settings
from privacy_backend.site.privacy_signals import gpc_signal
from privacy_backend.site.templates import templates
from privacy_kb.document import parse_front_matter
from privacy_kb.render import html_blocks, split_blocks

router = APIRouter(tags=["site"])
STATIC_DIR = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True)
class Statement:
    title: str
    source: str
    html: str


@lru_cache(maxsize=4)
def _statement(knowledge_dir: Path, mtime: float) -> Statement:
    """The public statement of the knowledge folder as HTML, cached until the file changes."""
    text = (knowledge_dir / "privacy_statement.md").read_text(encoding="utf-8")
    meta, start = parse_front_matter(text)
    return Statement(title=meta.get("title", "Privacy statement"),
                     source=meta.get("source", ""), html=html_blocks(split_blocks(text[start:])))


def _origins(url: str) -> str:
    """The http(s) and ws(s) origins of the chat server, for the page's CSP."""
    parts = urlsplit(url)
    ws = "wss" if parts.scheme == "https" else "ws"
    return f"{parts.scheme}://{parts.netloc} {ws}://{parts.netloc}"


def page(request: Request, settings: Settings) -> HTMLResponse:
    path = settings.knowledge_dir / "privacy_statement.md"
    statement = _statement(settings.knowledge_dir, path.stat().st_mtime)
    chat_url = settings.widget_rasa_url or settings.rasa_base_url
    config = {"rasaUrl": chat_url, "socketPath": "/socket.io",
              "siteUrl": settings.site_base_url, "title": "Privacy assistant"}
    csp = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
           f"connect-src 'self' {_origins(chat_url)}; frame-ancestors 'none'; "
           "base-uri 'none'; form-action 'none'")
    # Read on every request: the page says the browser's GPC signal is honoured, and a cache
    # keeps the two versions apart (`Vary`).
    return templates.TemplateResponse(
        request, "site.html",
        {"title": statement.title, "statement": Markup(statement.html),
         "source": statement.source, "config": config, "gpc": gpc_signal(request)},
        headers={"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
                 "Referrer-Policy": "same-origin", "Vary": "Sec-GPC"})


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, settings: SettingsDep) -> HTMLResponse:
    return page(request, settings)
