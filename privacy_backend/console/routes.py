"""The agent console (`/console`): log in, see the queue, read a conversation, take it over,
reply, hand it back to the bot or close it; and, for privacy admins, the fulfilment
workbench: the requests list, one request's page, and the actions that work it (verify,
start, extend with notice, complete, deny). Every `/console/api/` call needs an agent's
session cookie; every POST also needs the session's CSRF token in `X-CSRF-Token`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_backend.api.deps import (
    NowDep,
    OutboxDep,
    SessionDep,
    SettingsDep,
    TrackerStoreDep,
)
from privacy_backend.console.auth import (
    AgentSessionDep,
    CsrfSessionDep,
    PrivacyAdminCsrfDep,
    PrivacyAdminDep,
    clear_cookie,
    set_cookie,
)
from privacy_backend.core.errors import ApiError, not_found
from privacy_backend.core.models import (
    AgentSession,
    Handoff,
    HandoffStatus,
    PreferenceChange,
    PrivacyRequest,
    RequestStatus,
    RequestType,
)
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.rasa import RasaApi, RasaUnavailable
from privacy_backend.integrations.slack import HandoffNotifier, NotifierDep
from privacy_backend.schemas.common import RowId
from privacy_backend.schemas.handoffs import (
    AgentMessageIn,
    AgentOut,
    ConsoleHandoffOut,
    ConversationOut,
    LoginIn,
    QueueItem,
    QueueOut,
    SessionOut,
)
from privacy_backend.schemas.preferences import PreferenceChangeOut
from privacy_backend.schemas.requests import RequestOut
from privacy_backend.schemas.workbench import (
    MAX_PER_PAGE,
    ActionIn,
    AuditEntryOut,
    DownloadOut,
    ExportOut,
    LinkedConversationOut,
    Reference,
    RequesterOut,
    WorkbenchDetail,
    WorkbenchItem,
    WorkbenchPage,
)
from privacy_backend.services import agents, deadlines, fulfilment, workbench
from privacy_backend.services import handoffs as svc
from privacy_backend.services import requests as request_svc

log = logging.getLogger(__name__)
router = APIRouter(prefix="/console", tags=["console"])
api = APIRouter(prefix="/api")

RETURNED_INTENT = "handoff_returned"
STATIC_DIR = Path(__file__).resolve().parent / "static"
_PAGE = (Path(__file__).resolve().parent / "templates" / "console.html").read_text(
    encoding="utf-8")
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


def _session_out(record: AgentSession) -> SessionOut:
    agent = record.agent
    return SessionOut(agent=AgentOut(id=agent.id, name=agent.name, email=agent.email,
                                           role=agent.role),
                      csrf_token=record.csrf_token, expires_at=record.expires_at)


@api.post("/login", response_model=SessionOut)
def login(body: LoginIn, request: Request, response: Response, session: SessionDep,
          settings: SettingsDep, now: NowDep) -> SessionOut:
    try:
        client = agents.client_key(request.app.state.code_secret,
                                   request.client.host if request.client else None)
        agent = agents.authenticate(session, body.email, body.password, settings=settings,
                                    now=now, client=client)
    except agents.LockedOut as locked:
        raise ApiError(429, "locked_out", "Too many failed logins: try again later.",
                       headers={"Retry-After": str(locked.retry_after)},
                       retry_after=locked.retry_after) from None
    except agents.LoginFailed:
        session.commit()  # keep the failed attempt for the lockout
        raise ApiError(401, "login_failed", "Wrong email or password.") from None
    new = agents.start_session(session, agent, settings=settings, now=now)
    session.commit()
    set_cookie(request, response, new.cookie_value,
               max_age=int(settings.agent_session_hours * 3600))
    log.info("agent %s logged in", agent.id)
    return _session_out(new.record)


@api.get("/session", response_model=SessionOut)
def current(record: AgentSessionDep) -> SessionOut:
    return _session_out(record)


@api.post("/logout", status_code=204)
def logout(record: CsrfSessionDep, response: Response, session: SessionDep, now: NowDep
           ) -> Response:
    agents.end_session(record, now=now)
    session.commit()
    clear_cookie(response)
    response.status_code = 204
    return response


def _online(session: Session, settings: Settings, now: Any) -> int:
    return agents.agents_online(session, settings=settings, now=now)


@api.get("/handoffs", response_model=QueueOut)
def queue(record: AgentSessionDep, session: SessionDep, settings: SettingsDep, now: NowDep
          ) -> QueueOut:
    online = _online(session, settings, now)
    return QueueOut(agents_online=online, handoffs=[
        QueueItem(handoff=svc.console_out(h, online), mine=h.agent_id == record.agent_id,
                  age_seconds=max(0, int((now - h.created_at).total_seconds())))
        for h in svc.queue(session, record.agent)])


def _rasa(settings: Settings) -> RasaApi:
    return RasaApi.from_settings(settings)


def _bad_gateway(exc: RasaUnavailable) -> ApiError:
    log.warning("Rasa HTTP API call failed: %s", exc)
    return ApiError(502, "rasa_unavailable", f"The chat server could not be reached: {exc}")


@api.get("/handoffs/{handoff_id}", response_model=ConversationOut)
def conversation(handoff_id: RowId, record: AgentSessionDep, session: SessionDep,
                 settings: SettingsDep, now: NowDep) -> ConversationOut:
    handoff = svc.get(session, handoff_id)
    svc.require_reader(handoff, record.agent)
    svc.record_read(session, handoff, record.agent, now=now)
    session.commit()  # hold no database transaction (SQLite: a write lock) while Rasa works
    transcript, error = [], None
    rasa = _rasa(settings)
    try:
        transcript = svc.transcript(rasa.events(handoff.conversation_id))
    except RasaUnavailable as exc:
        error = str(exc)
    finally:
        rasa.close()
    requests = session.scalars(select(PrivacyRequest).where(
        PrivacyRequest.conversation_id == handoff.conversation_id).order_by(PrivacyRequest.id))
    changes = session.scalars(select(PreferenceChange).where(
        PreferenceChange.conversation_id == handoff.conversation_id
    ).order_by(PreferenceChange.id))
    return ConversationOut(
        handoff=svc.console_out(handoff, _online(session, settings, now)),
        mine=handoff.agent_id == record.agent_id, transcript=transcript,
        transcript_error=error,
        requests=[RequestOut.model_validate(r).model_dump(mode="json") for r in requests],
        preference_changes=[
            {**PreferenceChangeOut.model_validate(c).model_dump(mode="json"),
             "email": c.preference.email} for c in changes],
    )


def _write(handoff: Handoff, session: Session, settings: Settings, now: Any,
           slack: HandoffNotifier) -> ConsoleHandoffOut:
    """Commit the handoff's change, then have its Slack message say so (in the background)."""
    session.commit()
    slack.notify(handoff.id)
    return svc.console_out(handoff, _online(session, settings, now))


@api.post("/handoffs/{handoff_id}/take", response_model=ConsoleHandoffOut)
def take(handoff_id: RowId, record: CsrfSessionDep, session: SessionDep, settings: SettingsDep,
         now: NowDep, slack: NotifierDep) -> ConsoleHandoffOut:
    """Assign the conversation to this agent and pause the bot (if it is not already); the
    Slack message says who took it."""
    handoff = svc.get(session, handoff_id, for_update=True)
    was_waiting = handoff.status is HandoffStatus.WAITING
    svc.take(handoff, record.agent, now=now)
    session.commit()  # claim it first (two agents cannot both take it), then call Rasa
    rasa = _rasa(settings)
    try:
        rasa.pause(handoff.conversation_id)
    except RasaUnavailable as exc:
        if was_waiting:
            svc.untake(handoff)
            session.commit()
        raise _bad_gateway(exc) from None
    finally:
        rasa.close()
        slack.notify(handoff.id)  # taken, or waiting again: nothing is posted if unchanged
    return svc.console_out(handoff, _online(session, settings, now))


@api.post("/handoffs/{handoff_id}/messages", response_model=ConsoleHandoffOut,
          status_code=201)
def send_message(handoff_id: RowId, body: AgentMessageIn, record: CsrfSessionDep,
                 session: SessionDep, settings: SettingsDep, now: NowDep) -> ConsoleHandoffOut:
    """Send the agent's message to the visitor's chat; it stays in the conversation."""
    handoff = svc.get(session, handoff_id)
    svc.require_owner(handoff, record.agent)
    session.commit()
    rasa = _rasa(settings)
    try:
        rasa.say(handoff.conversation_id, body.text.strip(), agent=record.agent.name)
    except RasaUnavailable as exc:
        raise _bad_gateway(exc) from None
    finally:
        rasa.close()
    return svc.console_out(handoff, _online(session, settings, now))


@api.post("/handoffs/{handoff_id}/handback", response_model=ConsoleHandoffOut)
def hand_back(handoff_id: RowId, record: CsrfSessionDep, session: SessionDep,
              settings: SettingsDep, now: NowDep, slack: NotifierDep) -> ConsoleHandoffOut:
    """Resume the bot and tell the visitor it is back; the handoff is closed."""
    handoff = svc.get(session, handoff_id)
    svc.require_owner(handoff, record.agent)
    session.commit()  # the bot's answer may call the backend: hold no lock meanwhile
    rasa = _rasa(settings)
    try:
        rasa.resume(handoff.conversation_id)
        rasa.trigger_intent(handoff.conversation_id, RETURNED_INTENT)
    except RasaUnavailable as exc:
        raise _bad_gateway(exc) from None
    finally:
        rasa.close()
    svc.close(handoff, reason="handed_back", now=now)
    return _write(handoff, session, settings, now, slack)


@api.post("/handoffs/{handoff_id}/close", response_model=ConsoleHandoffOut)
def close(handoff_id: RowId, record: CsrfSessionDep, session: SessionDep,
          settings: SettingsDep, now: NowDep, slack: NotifierDep) -> ConsoleHandoffOut:
    """Close without the bot's "I'm back" message (the bot is resumed quietly). Any agent
    may close a waiting handoff; only its agent an active one."""
    handoff = svc.get(session, handoff_id)
    if handoff.status is HandoffStatus.CLOSED:
        raise ApiError(409, "not_open", "This handoff is already closed.",
                       current_status="closed")
    if handoff.status is HandoffStatus.ACTIVE:
        svc.require_owner(handoff, record.agent)
    session.commit()
    # Resume in every case: the bot pauses itself as soon as it queues a web handoff, so a
    # waiting one closed without being taken would otherwise leave the visitor unanswered.
    rasa = _rasa(settings)
    try:
        rasa.resume(handoff.conversation_id)
    except RasaUnavailable as exc:
        raise _bad_gateway(exc) from None
    finally:
        rasa.close()
    svc.close(handoff, reason="closed", now=now)
    return _write(handoff, session, settings, now, slack)



# --- the fulfilment workbench (privacy admins) ------------------------------------------
def _bad_query(field: str, message: str) -> ApiError:
    """A 422 shaped like the ones FastAPI's own validation gives."""
    return ApiError(422, "validation_failed", f"Invalid query.{field}: {message}",
                    details=[{"field": f"query.{field}", "message": message,
                              "type": "value_error"}])


def _privacy_request(session: Session, reference: str, settings: Settings, now: Any
                     ) -> PrivacyRequest:
    """The request by its reference, or 404. Like every read of the request API, one that
    waited for its code longer than UNVERIFIED_CLOSE_DAYS is closed first, so the page never
    offers actions on a request that is due to be closed."""
    request = request_svc.get_by_reference(session, reference)
    if request is None:
        raise not_found("request")
    if request_svc.close_unverified(session, settings=settings, now=now, request=request):
        session.commit()
    return request


def _detail(session: Session, request: PrivacyRequest, settings: Settings, now: Any
            ) -> WorkbenchDetail:
    """The request page (`workbench.detail`) as the console's browser receives it."""
    data = workbench.detail(session, request, settings, now)
    r: PrivacyRequest = data["request"]
    return WorkbenchDetail(
        reference=r.reference, type=r.type, status=r.status, jurisdiction=r.jurisdiction,
        requester=RequesterOut(email=r.email, name=r.name, region=r.region,
                               authorized_agent=r.authorized_agent, channel=r.channel),
        details=r.details, created_at=r.created_at, updated_at=r.updated_at,
        verified_at=r.verified_at, due_at=r.due_at, days_left=data["days_left"],
        extensions_used=r.extensions_used, extension_reason=r.extension_reason,
        erased_at=r.erased_at,
        audit=[AuditEntryOut(at=e.created_at, actor=e.actor, action=e.action, before=e.before,
                             after=e.after, note=e.note) for e in data["audit"]],
        conversations=[LinkedConversationOut(**c) for c in data["conversations"]],
        exports=[ExportOut(id=e["id"], created_at=e["created_at"], expires_at=e["expires_at"],
                           available=e["available"],
                           downloads=[DownloadOut(**d) for d in e["downloads"]])
                 for e in data["exports"]],
        actions=data["actions"],
    )


@api.get("/requests", response_model=WorkbenchPage)
def list_requests(
    _: PrivacyAdminDep, session: SessionDep, settings: SettingsDep, now: NowDep,
    status: RequestStatus | None = None,
    type: RequestType | None = None,
    jurisdiction: Annotated[str | None, Query(max_length=16)] = None,
    due_within_days: Annotated[int | None, Query(
        ge=0, le=366, description="Open requests due by the end of the UTC day this many "
                                  "days from now, overdue ones included")] = None,
    overdue: Annotated[bool, Query(description="Open requests past their due date")] = False,
    sort: Annotated[workbench.Sort, Query(
        description="A column, `-` first for the reverse order")] = "due_at",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 25,
) -> WorkbenchPage:
    """The requests that match every filter given, one page of them, sorted."""
    if jurisdiction is not None and jurisdiction not in settings.jurisdiction_rules:
        raise _bad_query("jurisdiction", "one of "
                         + ", ".join(sorted(settings.jurisdiction_rules)))
    if request_svc.close_unverified(session, settings=settings, now=now):
        session.commit()
    total, found = workbench.search(session, workbench.Filters(
        status=status, type=type.value if type else None, jurisdiction=jurisdiction,
        due_within_days=due_within_days, overdue=overdue, sort=sort, limit=per_page,
        offset=(page - 1) * per_page), now)
    return WorkbenchPage(
        total=total, page=page, per_page=per_page, as_of=now,
        jurisdictions=sorted(settings.jurisdiction_rules),
        items=[WorkbenchItem(reference=r.reference, type=r.type, status=r.status,
                             jurisdiction=r.jurisdiction, created_at=r.created_at,
                             due_at=r.due_at, days_left=deadlines.days_left(r.due_at, now),
                             erased=r.erased_at is not None) for r in found])


@api.get("/requests/{reference}", response_model=WorkbenchDetail)
def request_page(reference: Reference, _: PrivacyAdminDep, session: SessionDep,
                 settings: SettingsDep, now: NowDep) -> WorkbenchDetail:
    """One request: the requester, what they wrote, the audit trail, the linked
    conversations (by handle), the exports and their downloads, the actions allowed now."""
    return _detail(session, _privacy_request(session, reference, settings, now), settings, now)


@api.post("/requests/{reference}/actions", response_model=WorkbenchDetail)
def request_action(reference: Reference, body: ActionIn, record: PrivacyAdminCsrfDep,
                   session: SessionDep, settings: SettingsDep, now: NowDep, outbox: OutboxDep,
                   tracker_store: TrackerStoreDep) -> WorkbenchDetail:
    """Do one action, recorded under the privacy admin (`agent:<email>`), and email the
    requester where the action says so (after the commit). `complete` fulfils the request
    first (`services.fulfilment`). 409 when the status graph refuses the action, 422 when a
    note it needs is missing; nothing changes then."""
    request = _privacy_request(session, reference, settings, now)
    work = fulfilment.Work(session=session, settings=settings, now=now, outbox=outbox,
                           tracker_store=tracker_store, actor=f"agent:{record.agent.email}")
    try:
        done = workbench.act(work, request, body.action, note=body.note)
    except ApiError:
        session.rollback()
        raise
    workbench.send(outbox, done, settings)
    log.info("agent %s: %s on request %s", record.agent_id, body.action, request.reference)
    # Sessions keep what they loaded across commits (expire_on_commit=False), and a
    # completion reads the request's audit trail for the export before it adds its own
    # rows: reload, so the page shows the trail as committed.
    session.expire_all()
    return _detail(session, done.request, settings, now)


router.include_router(api)
