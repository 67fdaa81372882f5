"""Public one-click unsubscribe pages (`/unsubscribe/{token}`, no login: the signed token is
the credential).

GET shows a confirmation page and never changes anything (mail scanners and link previews
fetch URLs). POST applies the opt-out at once with source `unsubscribe_link`; RFC 8058 mail
clients send `List-Unsubscribe=One-Click` form-encoded, the page's own form sends the same.
Any POST to a valid link unsubscribes: being strict about the body would only let an opt-out
fail. Repeating it changes nothing and records nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from privacy_backend.api.deps import NowDep, SessionDep, SettingsDep, UnsubscribeSecretDep
from privacy_backend.core.models import PreferenceSource
from privacy_backend.core.settings import Settings
from privacy_backend.services import preferences as preference_service
from privacy_backend.services import unsubscribe as links
from privacy_backend.site.templates import signed_link_headers, templates

log = logging.getLogger(__name__)
router = APIRouter(tags=["unsubscribe"])

_HEADERS = signed_link_headers(form_action="'self'")
_CHANNEL_LABELS = {"email": "email", "sms": "text message (SMS)", "phone": "phone",
                   "postal": "post"}


def _page(request: Request, title: str, state: str, status_code: int = 200,
          **values: object) -> HTMLResponse:
    return templates.TemplateResponse(request, "unsubscribe.html",
                                      {"title": title, "state": state, **values},
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


def _load(request: Request, token: str, secret: bytes, now: datetime, settings: Settings
          ) -> links.Link | HTMLResponse:
    try:
        return links.decode(secret, token, now=now, settings=settings)
    except links.LinkExpired:
        return _page(request, "This unsubscribe link has expired", "expired", 410,
                     ttl_days=settings.unsubscribe_link_ttl_days)
    except links.LinkInvalid as exc:
        log.info("refused an unsubscribe link: %s", exc)
        return _page(request, "This unsubscribe link is not valid", "invalid", 400)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse,
            summary="Confirmation page for an unsubscribe link (changes nothing)")
def confirm_page(request: Request, token: str, settings: SettingsDep, now: NowDep,
                 secret: UnsubscribeSecretDep) -> HTMLResponse:
    link = _load(request, token, secret, now, settings)
    if isinstance(link, HTMLResponse):
        return link
    return _page(request, "Unsubscribe", "confirm", what=_describe(link.scope),
                 email=_mask(link.email))


@router.post("/unsubscribe/{token}", response_class=HTMLResponse,
             summary="One-click unsubscribe (RFC 8058): applies the opt-out at once")
def one_click(request: Request, token: str, session: SessionDep, settings: SettingsDep,
              now: NowDep, secret: UnsubscribeSecretDep) -> HTMLResponse:
    link = _load(request, token, secret, now, settings)
    if isinstance(link, HTMLResponse):
        return link
    preference_service.write(session, link.email, link.scope.apply, settings=settings,
              source=PreferenceSource.UNSUBSCRIBE_LINK, now=now, actor="requester")
    session.commit()
    return _page(request, "You are unsubscribed", "done", what=_describe(link.scope),
                 email=_mask(link.email))
