"""FastAPI dependencies: the database session, settings, clock, mail outbox, secrets, the
tracker store. All but the session and the clock are objects the app factory keeps in
`app.state` (`main.create_app`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from privacy_backend.core.settings import Settings
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.mail.outbox import Outbox


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


def get_now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def app_state(name: str) -> Callable[[Request], Any]:
    """A dependency that returns `app.state.<name>`."""

    def dependency(request: Request) -> Any:
        return getattr(request.app.state, name)

    dependency.__name__ = f"get_{name}"
    return dependency


get_settings = app_state("settings")
get_outbox = app_state("outbox")
get_code_secret = app_state("code_secret")
get_unsubscribe_secret = app_state("unsubscribe_secret")
get_tracker_store = app_state("tracker_store")

SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(get_now)]
OutboxDep = Annotated[Outbox, Depends(get_outbox)]
SecretDep = Annotated[bytes, Depends(get_code_secret)]
UnsubscribeSecretDep = Annotated[bytes, Depends(get_unsubscribe_secret)]
TrackerStoreDep = Annotated[TrackerStore, Depends(get_tracker_store)]
