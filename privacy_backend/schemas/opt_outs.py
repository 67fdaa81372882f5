"""Bodies of the privacy opt-out API (`/api/v1/opt-outs`). What the assistant sends and reads
is the contract it shares with the backend (`privacy_assistant.api_models.opt_outs`),
re-exported here; the staff listing, which names the address, is defined here."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from privacy_assistant.api_models.opt_outs import OptOutCreate, OptOutOut
from privacy_assistant.contract import OptOutKind, OptOutSource

__all__ = ["OptOutCreate", "OptOutOut", "OptOutRecord"]


class OptOutRecord(BaseModel):
    """One opt-out as staff see it."""

    model_config = ConfigDict(from_attributes=True)

    reference: str
    kind: OptOutKind
    source: OptOutSource
    received_at: datetime
    due_date: date
    email: str | None
    conversation_id: str | None
    linked_at: datetime | None
    erased_at: datetime | None
