"""The Jinja2 templates of the public pages, autoescaped: every value is escaped unless it
is `Markup` (the statement, rendered and escaped by `privacy_kb.render`)."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
