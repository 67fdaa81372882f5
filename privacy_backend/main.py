"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from privacy_backend import __version__
from privacy_backend.api.routes import (
    conversations,
    handoffs,
    health,
    preferences,
    requests,
    verifications,
)
from privacy_backend.console import routes as console
from privacy_backend.core import errors
from privacy_backend.core.clock import Clock, utcnow
from privacy_backend.core.db import make_engine, make_sessionmaker
from privacy_backend.core.middleware import BodySizeLimit
from privacy_backend.core.security import ApiTokens, authenticate
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.rasa import RasaApi
from privacy_backend.integrations.slack import HandoffNotifier
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.mail.mailer import Mailer, make_mailer
from privacy_backend.mail.outbox import Outbox
from privacy_backend.services import handoffs as handoff_service
from privacy_backend.services import retention
from privacy_backend.site import exports, unsubscribe
from privacy_backend.site import routes as site

log = logging.getLogger(__name__)


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


async def _sweep_handoffs(app: FastAPI) -> None:
    while True:
        await asyncio.sleep(app.state.settings.handoff_sweep_seconds)
        try:
            await asyncio.to_thread(sweep_handoffs_once, app)
        except Exception:  # a failed sweep is retried at the next interval
            log.exception("timing out waiting handoffs failed")


async def _send_queued_mail(app: FastAPI) -> None:
    outbox: Outbox = app.state.outbox
    while True:
        await asyncio.sleep(app.state.settings.mail_retry_seconds)
        try:
            await asyncio.to_thread(outbox.deliver_due)
        except Exception:  # a failed round is retried at the next interval
            log.exception("sending queued mail failed")


def purge_once(app: FastAPI) -> None:
    """Delete what is past its retention period (`services.retention`)."""
    with app.state.sessionmaker() as session:
        retention.purge(session, app.state.tracker_store, app.state.settings,
                        now=app.state.clock())


async def _purge_daily(app: FastAPI) -> None:
    """The retention purge at start-up, then every RETENTION_PURGE_HOURS."""
    while True:
        try:
            await asyncio.to_thread(purge_once, app)
        except Exception:  # a failed purge is retried at the next interval
            log.exception("the retention purge failed")
        await asyncio.sleep(app.state.settings.retention_purge_hours * 3600)


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
    and runs the background work (`background=True`): timing out handoffs nobody took and
    retrying their Slack messages, retrying the outbox's mail that was not handed over at
    the first attempt, and the retention purge (daily)."""
    settings = settings or Settings()
    owns_engine = engine is None
    engine = engine or make_engine(settings.sqlalchemy_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(_sweep_handoffs(app)),
                 asyncio.create_task(_send_queued_mail(app)),
                 asyncio.create_task(_purge_daily(app))] if background else []
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
                              app.state.clock, app.state.code_secret)
    app.state.unsubscribe_secret = settings.link_secret()
    app.state.slack = HandoffNotifier(app.state.sessionmaker, settings, app.state.clock)
    # Rasa's tracker store, for exports and erasures (`integrations.tracker_store`).
    owns_tracker_store = tracker_store is None
    app.state.tracker_store = tracker_store or TrackerStore.from_settings(settings)

    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(health.router)
    app.include_router(unsubscribe.router)  # public: the signed token is the credential
    app.include_router(exports.router)  # public: the signed link is the credential
    app.include_router(site.router)  # public: the statement and the chat widget
    app.include_router(console.router)  # agent session cookie + CSRF token
    app.mount("/static", StaticFiles(directory=site.STATIC_DIR), name="static")
    app.mount("/console/static", StaticFiles(directory=console.STATIC_DIR), name="console-static")
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(authenticate)])
    api.include_router(requests.router)
    api.include_router(verifications.router)
    api.include_router(preferences.router)
    api.include_router(handoffs.router)
    api.include_router(conversations.router)
    app.include_router(api)
    return app
