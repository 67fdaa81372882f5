"""The consumer's answer to an authorized agent's request (`/agent-requests/{token}`, CCPA
regs §7063; no login: the signed link emailed to the consumer is the credential).

GET shows what was filed in their name (the kind of request, the agent's address, the date)
with two buttons, and never changes anything (mail scanners and link previews fetch URLs).
POST takes the answer (`answer=yes`: the request is verified and worked; `answer=no`: it is
rejected, `agent_not_authorized`), once: the request then no longer waits, and the link shows
that it was answered (even once it has expired). A "yes" that makes the request a duplicate
of the consumer's own earlier one names that one and when it is answered. The form posts
to the page's own URL, the token being its only credential (no cookie a forged form could
ride on, as for the unsubscribe page). A changed, made-up or other kind of link (an
export's, an unsubscribe link) is refused (400), an expired one is gone (410); neither
changes anything.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from privacy_backend.api.deps import (
    NowDep,
    OutboxDep,
    SessionDep,
    SettingsDep,
    UnsubscribeSecretDep,
)
from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import PrivacyRequest, RequestStatus
from privacy_backend.core.settings import Settings
from privacy_backend.mail import messages
from privacy_backend.services import agent_links, agent_requests
from privacy_backend.services.requests import records
from privacy_backend.site.templates import signed_link_headers, templates

log = logging.getLogger(__name__)
router = APIRouter(tags=["agent requests"])

_HEADERS = signed_link_headers(form_action="'self'")


def _page(request: Request, title: str, state: str, status_code: int = 200,
          **values: object) -> HTMLResponse:
    return templates.TemplateResponse(request, "agent_request.html",
                                      {"title": title, "state": state, **values},
                                      status_code=status_code, headers=_HEADERS)


def _load(request: Request, token: str, session: Session, secret: bytes, now: datetime,
          settings: Settings) -> PrivacyRequest | HTMLResponse:
    """The agent's request the link names, or the page that refuses the link (an expired
    link to a request already answered or closed says what became of it)."""
    try:
        reference = agent_links.open_token(secret, token, now)
    except agent_links.LinkExpired as expired:
        answered = records.get_by_reference(session, expired.subject)
        if (answered is not None and answered.authorized_agent
                and answered.status is not RequestStatus.PENDING_VERIFICATION):
            return _answered(request, answered, 410)  # what became of it, not "closed"
        return _page(request, "This link has expired", "expired", 410,
                     days=settings.unverified_close_days)
    except agent_links.LinkInvalid:
        log.info("refused an agent confirmation link that does not verify")
        return _page(request, "This link is not valid", "invalid", 400)
    found = records.get_by_reference(session, reference)
    if found is None or not found.authorized_agent:
        return _page(request, "This link is not valid", "invalid", 400)
    return found


def _facts(found: PrivacyRequest) -> dict[str, Any]:
    return {"reference": found.reference, "what": messages.request_label(found.type.value),
            "agent": found.agent_email, "filed": found.created_at}


def _answered(request: Request, found: PrivacyRequest, status_code: int = 200
              ) -> HTMLResponse:
    """The page of a request that no longer waits for the consumer: what became of it."""
    if found.agent_permission is not None:
        outcome = "confirmed" if found.status in records.OPEN_STATUSES else "confirmed_closed"
    elif found.status is RequestStatus.REJECTED:
        outcome = "declined"
    elif found.status is RequestStatus.CLOSED_UNVERIFIED:
        outcome = "closed"
    else:
        outcome = "other"
    return _page(request, "This request is already answered", "answered", status_code,
                 outcome=outcome, **_facts(found))


def _confirmed(request: Request, found: PrivacyRequest) -> HTMLResponse:
    """The page after "yes": when the request is answered, or, if it repeats the consumer's
    own earlier request, which one and when that is answered."""
    first = found.first_request if found.status is RequestStatus.DUPLICATE else None
    if first is None:
        return _page(request, "Thank you: we will work on the request", "confirmed",
                     due=found.due_at, **_facts(found))
    return _page(request, f"Thank you: this request repeats {first.reference}", "duplicate",
                 first=first.reference, due=first.due_at,
                 first_open=first.status in records.OPEN_STATUSES, **_facts(found))


_PAGES: dict[int | str, dict[str, Any]] = {
    400: {"description": "A changed, made-up or other kind of link (nothing changes); or, "
                         "posted, no answer (the question again)", "content": {"text/html": {}}},
    410: {"description": "An expired link (nothing changes)", "content": {"text/html": {}}},
}


@router.get("/agent-requests/{token}", response_class=HTMLResponse, responses=_PAGES,
            summary="The consumer's confirmation page of an agent's request (changes nothing)")
def confirmation_page(request: Request, token: str, session: SessionDep,
                      settings: SettingsDep, now: NowDep,
                      secret: UnsubscribeSecretDep) -> HTMLResponse:
    found = _load(request, token, session, secret, now, settings)
    if isinstance(found, HTMLResponse):
        return found
    if not found.awaiting_consumer:
        return _answered(request, found)
    return _page(request, "Did you ask someone to make this request for you?", "ask",
                 **_facts(found))


@router.post("/agent-requests/{token}", response_class=HTMLResponse, responses={
    **_PAGES, 409: {"description": "Already answered (nothing changes)",
                    "content": {"text/html": {}}}},
             summary="The consumer's answer: they did, or did not, authorise the agent")
def answer(request: Request, token: str, session: SessionDep, settings: SettingsDep,
           now: NowDep, outbox: OutboxDep, secret: UnsubscribeSecretDep,
           answer: Annotated[str | None, Form(description="`yes` or `no`")] = None
           ) -> HTMLResponse:
    found = _load(request, token, session, secret, now, settings)
    if isinstance(found, HTMLResponse):
        return found
    if answer not in ("yes", "no"):
        return _page(request, "Did you ask someone to make this request for you?", "ask",
                     400, error=True, **_facts(found))
    act = agent_requests.confirm if answer == "yes" else agent_requests.decline
    try:
        mail_ids = act(session, outbox, settings, found, now)
    except ApiError as refused:
        if refused.status_code != 409:
            raise
        session.rollback()
        return _answered(request, found, 409)
    for mail_id in mail_ids:
        outbox.send_later(mail_id)
    if answer == "yes":
        return _confirmed(request, found)
    return _page(request, "Thank you: the request is closed", "declined", **_facts(found))
