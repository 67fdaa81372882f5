"""The Jinja2 templates of the public pages, autoescaped: every value is escaped unless it
is `Markup` (the statement, rendered and escaped by `privacy_kb.render`). `base.html` here is
the frame of every page the backend serves; the console's templates extend it too."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=TEMPLATE_DIR)


def signed_link_headers(form_action: str) -> dict[str, str]:
    """The headers of a page reached by a signed link, where the URL is the credential:
    never cached, never sent on as a referrer, never indexed; inline styles only (page.html),
    and forms that post to `form_action` (`'self'`, or `'none'` for a page without one)."""
    return {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",  # the URL is a credential
        "X-Robots-Tag": "noindex",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   f"form-action {form_action}; frame-ancestors 'none'; "
                                   "base-uri 'none'",
    }
