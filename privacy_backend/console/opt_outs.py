"""The privacy opt-outs in the console's workbench (`/console/api/opt-outs`, privacy admins
only): what was received, from where, when it is due, and whether an address is attached,
newest first. Conversations are named by their handle, as everywhere in the console."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from privacy_assistant.contract import OptOutKind, OptOutSource
from privacy_backend.api.deps import SessionDep
from privacy_backend.console.auth import PrivacyAdminDep
from privacy_backend.services import opt_outs
from privacy_backend.services.handoffs import handle

router = APIRouter(prefix="/opt-outs")


class ConsoleOptOut(BaseModel):
    reference: str
    kind: OptOutKind
    source: OptOutSource
    received_at: datetime
    due_date: date
    email: str | None
    conversation: str | None  # its handle
    linked_at: datetime | None
    erased: bool


@router.get("", response_model=list[ConsoleOptOut])
def list_opt_outs(_: PrivacyAdminDep, session: SessionDep,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[ConsoleOptOut]:
    """The newest opt-outs first."""
    return [ConsoleOptOut(
        reference=o.reference, kind=o.kind, source=o.source, received_at=o.received_at,
        due_date=o.due_date, email=o.email,
        conversation=handle(o.conversation_id) if o.conversation_id else None,
        linked_at=o.linked_at, erased=o.erased_at is not None)
        for o in opt_outs.listing(session, limit=limit)]
