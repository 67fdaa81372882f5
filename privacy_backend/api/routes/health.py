"""`GET /health`: no authentication, reports whether the database answers."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from privacy_backend import __version__
from privacy_backend.core.db import ping
from privacy_backend.schemas.common import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(request: Request, response: Response) -> Health:
    db_ok = ping(request.app.state.engine)
    if not db_ok:
        response.status_code = 503
    return Health(status="ok" if db_ok else "degraded",
                  database="ok" if db_ok else "unreachable", version=__version__)
