"""FastAPI dependencies: the database session, settings, clock, mail outbox, secrets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from privacy_backend.core.settings import Settings
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.mail.outbox import Outbox


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def get_outbox(request: Request) -> Outbox:
    outbox: Outbox = request.app.state.outbox
    return outbox


def get_code_secret(request: Request) -> bytes:
    secret: bytes = request.app.state.code_secret
    return secret


def get_unsubscribe_secret(request: Request) -> bytes:
    secret: bytes = request.app.state.unsubscribe_secret
    return secret


def get_tracker_store(request: Request) -> TrackerStore:
    store: TrackerStore = request.app.state.tracker_store
    return store


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(get_now)]
OutboxDep = Annotated[Outbox, Depends(get_outbox)]
SecretDep = Annotated[bytes, Depends(get_code_secret)]
UnsubscribeSecretDep = Annotated[bytes, Depends(get_unsubscribe_secret)]
TrackerStoreDep = Annotated[TrackerStore, Depends(get_tracker_store)]
