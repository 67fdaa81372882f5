"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from privacy_backend import __version__
from privacy_backend.api.routes import (
    appeals,
    conversations,
    handoffs,
    health,
    metrics,
    opt_outs,
    preferences,
    requests,
    verifications,
)
from privacy_backend.console import routes as console
from privacy_backend.core import errors
from privacy_backend.core.clock import Clock, utcnow
from privacy_backend.core.db import make_engine, make_sessionmaker
from privacy_backend.core.middleware import (
    BodySizeLimit,
    StrictTransportSecurity,
    https_deployment,
)
from privacy_backend.core.security import ApiTokens, authenticate
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.rasa import RasaApi
from privacy_backend.integrations.slack import HandoffNotifier
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.mail import code_mail
from privacy_backend.mail.mailer import Mailer, make_mailer
from privacy_backend.mail.outbox import Outbox
from privacy_backend.services import handoffs as handoff_service
from privacy_backend.services import requests as request_service
from privacy_backend.services import retention
from privacy_backend.site import agent_requests, exports, privacy_signals, unsubscribe
from privacy_backend.site import routes as site

log = logging.getLogger(__name__)

# How often `serve` closes the requests nobody verified within UNVERIFIED_CLOSE_DAYS: a
# request is closed at most this long after its time is up.
CLOSE_UNVERIFIED_SECONDS = 3600.0


def sweep_handoffs_once(app: FastAPI) -> None:
    """Close the handoffs nobody took within HANDOFF_WAIT_MINUTES and give the bot back;
    then bring the Slack messages that are behind up to date (those just closed, and what
    Slack refused before)."""
    settings: Settings = app.state.settings
    rasa = RasaApi.from_settings(settings)
    try:
        with app.state.sessionmaker() as session:
            handoff_service.time_out_waiting(session, rasa, now=app.state.clock(),
                                      wait=timedelta(minutes=settings.handoff_wait_minutes))
    finally:
        rasa.close()
    app.state.slack.sync_pending()


def send_queued_mail_once(app: FastAPI) -> None:
    """Retry the outbox's mail that was not handed over at the first attempt."""
    app.state.outbox.deliver_due()


def purge_once(app: FastAPI) -> None:
    """Delete what is past its retention period (`services.retention`)."""
    with app.state.sessionmaker() as session:
        retention.purge(session, app.state.tracker_store, app.state.settings,
                        now=app.state.clock())


def close_unverified_once(app: FastAPI) -> int:
    """Close the requests still unverified after UNVERIFIED_CLOSE_DAYS; how many closed."""
    with app.state.sessionmaker() as session:
        closed = request_service.close_unverified(session, settings=app.state.settings,
                                                  now=app.state.clock())
        session.commit()
    if closed:
        log.info("closed %d unverified request(s)", closed)
    return closed


async def _repeat(app: FastAPI, job: Callable[[FastAPI], object], seconds: float, what: str,
                  *, at_start: bool) -> None:
    """Run `job(app)` in a worker thread every `seconds` (the first time at start-up if
    `at_start`, else after the first interval). A failed run is logged and retried at the
    next interval."""
    if not at_start:
        await asyncio.sleep(seconds)
    while True:
        try:
            await asyncio.to_thread(job, app)
        except Exception:
            log.exception("%s failed", what)
        await asyncio.sleep(seconds)


def _background_work(app: FastAPI) -> list[Coroutine[Any, Any, None]]:
    """The loops `serve` runs: timing out handoffs nobody took (and their Slack messages),
    retrying queued mail, the retention purge (at start-up, then every
    RETENTION_PURGE_HOURS), and closing unverified requests (at start-up, then hourly; the
    `close-unverified` command does the same from cron)."""
    settings: Settings = app.state.settings
    return [
        _repeat(app, sweep_handoffs_once, settings.handoff_sweep_seconds,
                "timing out waiting handoffs", at_start=False),
        _repeat(app, send_queued_mail_once, settings.mail_retry_seconds, "sending queued mail",
                at_start=False),
        _repeat(app, purge_once, settings.retention_purge_hours * 3600, "the retention purge",
                at_start=True),
        _repeat(app, close_unverified_once, CLOSE_UNVERIFIED_SECONDS,
                "closing unverified requests", at_start=True),
    ]


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    mailer: Mailer | None = None,
    tracker_store: TrackerStore | None = None,
    background: bool = False,
) -> FastAPI:
    """Build the app. Does not migrate the database: `privacy-backend serve` does that first,
    and runs the background work (`background=True`, see `_background_work`)."""
    settings = settings or Settings()
    owns_engine = engine is None
    engine = engine or make_engine(settings.sqlalchemy_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(work) for work in _background_work(app)
                 ] if background else []
        yield
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await asyncio.to_thread(app.state.outbox.close)
        await asyncio.to_thread(app.state.slack.close)
        if owns_tracker_store:
            app.state.tracker_store.close()
        if owns_engine:
            engine.dispose()

    app = FastAPI(
        title="Privacy assistant backend",
        version=__version__,
        description=("Privacy rights requests, one-time email verification and audit trail; "
                     "marketing preferences with their history and one-click unsubscribe "
                     "links (RFC 8058); human handoffs and the agent console (`/console`); "
                     "the demo page with the chat widget (`/`)."),
        lifespan=lifespan,
        responses=errors.ERROR_RESPONSES,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.clock = clock or utcnow
    app.state.api_tokens = ApiTokens.from_settings(settings)
    app.state.code_secret = settings.code_secret()
    app.state.outbox = Outbox(app.state.sessionmaker, mailer or make_mailer(settings), settings,
                              app.state.clock, app.state.code_secret,
                              on_sent={code_mail.KIND: code_mail.confirm_receipt})
    app.state.unsubscribe_secret = settings.link_secret()
    app.state.slack = HandoffNotifier(app.state.sessionmaker, settings, app.state.clock)
    # Rasa's tracker store, for exports and erasures (`integrations.tracker_store`).
    owns_tracker_store = tracker_store is None
    app.state.tracker_store = tracker_store or TrackerStore.from_settings(settings)

    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if https_deployment(settings.public_url):  # browsers then never use plain http here
        app.add_middleware(StrictTransportSecurity)
    app.include_router(health.router)
    app.include_router(unsubscribe.router)  # public: the signed token is the credential
    app.include_router(exports.router)  # public: the signed link is the credential
    app.include_router(agent_requests.router)  # public: the signed link is the credential
    app.include_router(site.router)  # public: the statement and the chat widget
    app.include_router(privacy_signals.router)  # public: /.well-known/gpc.json
    app.include_router(console.router)  # agent session cookie + CSRF token
    app.mount("/static", StaticFiles(directory=site.STATIC_DIR), name="static")
    app.mount("/console/static", StaticFiles(directory=console.STATIC_DIR), name="console-static")
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(authenticate)])
    api.include_router(requests.router)
    api.include_router(appeals.router)
    api.include_router(verifications.router)
    api.include_router(preferences.router)
    api.include_router(handoffs.router)
    api.include_router(conversations.router)
    api.include_router(opt_outs.router)
    api.include_router(metrics.router)
    app.include_router(api)
    return app
