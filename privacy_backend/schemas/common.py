"""What every request and response body shares: bounded strings, strict inputs, health (from
the contract with the assistant, `privacy_assistant.api_models.common`), and row ids in paths."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from privacy_assistant.api_models.common import (
    ConversationId,
    Email,
    Health,
    Note,
    StrictIn,
    VerificationId,
)

__all__ = ["ConversationId", "Email", "Health", "Note", "RowId", "StrictIn", "VerificationId"]

# A row id in a path: the database's INTEGER range, so a huge number is a 422, not an error.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
