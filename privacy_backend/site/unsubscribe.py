"""Public one-click unsubscribe pages (`/unsubscribe/{token}`, no login: the signed token is
the credential).

GET shows a confirmation page and never changes anything (mail scanners and link previews
fetch URLs). POST applies the opt-out at once with source `unsubscribe_link`; RFC 8058 mail
clients send `List-Unsubscribe=One-Click` form-encoded, the page's own form sends the same.
Any POST to a valid link unsubscribes: being strict about the body would only let an opt-out
fail. Repeating it changes nothing and records nothing.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime
from pathlib import Path
from string import Template

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from privacy_backend.api.deps import NowDep, SessionDep, SettingsDep, UnsubscribeSecretDep
from privacy_backend.core.models import PreferenceSource
from privacy_backend.core.settings import Settings
from privacy_backend.services import preferences as svc
from privacy_backend.services import unsubscribe as links

log = logging.getLogger(__name__)
router = APIRouter(tags=["unsubscribe"])

_PAGE = Template((Path(__file__).resolve().parent / "templates" / "page.html")
                 .read_text(encoding="utf-8"))
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the URL is a credential
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
_CHANNEL_LABELS = {"email": "email", "sms": "text message (SMS)", "phone": "phone",
                   "postal": "post"}
_AFTER = ("<p class=\"note\">Our privacy statement allows up to 10 business days for the change "
          "to reach every mailing already scheduled. You will still receive transactional "
          "messages, such as those about your account or a privacy request.</p>")


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.substitute(title=html.escape(title), body=body),
                        status_code=status_code, headers=_HEADERS)


def _describe(scope: links.Scope) -> str:
    if scope.channel is None:
        return "all marketing messages, on every channel"
    by = _CHANNEL_LABELS.get(scope.channel, scope.channel.replace("_", " "))
    if scope.topic is None:
        return f"all marketing by {by}"
    return f"{scope.topic.replace('_', ' ')} by {by}"


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _load(token: str, secret: bytes, now: datetime, settings: Settings
          ) -> links.Link | HTMLResponse:
    try:
        return links.decode(secret, token, now=now, settings=settings)
    except links.LinkExpired:
        return _page("This unsubscribe link has expired", (
            "<p>For your security, unsubscribe links stop working after "
            f"{settings.unsubscribe_link_ttl_days} days. Use the link in a more recent "
            "message, or ask our privacy team to unsubscribe you.</p>"), 410)
    except links.LinkInvalid as exc:
        log.info("refused an unsubscribe link: %s", exc)
        return _page("This unsubscribe link is not valid", (
            "<p>The link is incomplete or was changed. Copy the whole link from the message, "
            "or ask our privacy team to unsubscribe you.</p>"), 400)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse,
            summary="Confirmation page for an unsubscribe link (changes nothing)")
def confirm_page(token: str, settings: SettingsDep, now: NowDep,
                 secret: UnsubscribeSecretDep) -> HTMLResponse:
    link = _load(token, secret, now, settings)
    if isinstance(link, HTMLResponse):
        return link
    what = html.escape(_describe(link.scope))
    return _page("Unsubscribe", (
        f"<p>Stop sending <strong>{what}</strong> to "
        f"<strong>{html.escape(_mask(link.email))}</strong>?</p>"
        '<form method="post">'
        f'<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
        f"{_AFTER}"))


@router.post("/unsubscribe/{token}", response_class=HTMLResponse,
             summary="One-click unsubscribe (RFC 8058): applies the opt-out at once")
def one_click(token: str, session: SessionDep, settings: SettingsDep, now: NowDep,
              secret: UnsubscribeSecretDep) -> HTMLResponse:
    link = _load(token, secret, now, settings)
    if isinstance(link, HTMLResponse):
        return link
    svc.write(session, link.email, link.scope.apply, settings=settings,
              source=PreferenceSource.UNSUBSCRIBE_LINK, now=now)
    session.commit()
    what = html.escape(_describe(link.scope))
    return _page("You are unsubscribed", (
        f"<p role=\"status\">We will no longer send <strong>{what}</strong> to "
        f"<strong>{html.escape(_mask(link.email))}</strong>.</p>{_AFTER}"))
