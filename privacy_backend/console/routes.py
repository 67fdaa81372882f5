"""The agent console (`/console`): the page's shell and static files, and its JSON API under
`/console/api`, one router per job: signing in (`sessions`), the handoff queue and its
conversations (`handoffs`), and, for privacy admins, the fulfilment workbench
(`workbench`) with the appeals (`appeals`), the privacy opt-outs (`opt_outs`) and the yearly
metrics (`metrics`). Every `/console/api/` call needs an
agent's session cookie; every POST also needs the session's CSRF token in `X-CSRF-Token`."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from privacy_backend.console import appeals, handoffs, metrics, opt_outs, sessions, workbench
from privacy_backend.site.templates import TEMPLATE_DIR as SITE_TEMPLATE_DIR

router = APIRouter(prefix="/console", tags=["console"])
api = APIRouter(prefix="/api")

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The console's templates, then the site's for the frame they share (base.html); the page has
# nothing per request, so it is rendered once.
templates = Jinja2Templates(directory=[Path(__file__).resolve().parent / "templates",
                                       SITE_TEMPLATE_DIR])
_PAGE = templates.get_template("console.html").render(title="Agent console · Privacy assistant")
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}


@router.get("", response_class=HTMLResponse, include_in_schema=False)
def console_page() -> HTMLResponse:
    """The console's shell; it shows nothing until the agent logs in."""
    return HTMLResponse(_PAGE, headers=PAGE_HEADERS)


api.include_router(sessions.router)
api.include_router(handoffs.router)
api.include_router(workbench.router)
api.include_router(opt_outs.router)
api.include_router(appeals.router)
api.include_router(metrics.router)
router.include_router(api)
