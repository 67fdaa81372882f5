"""Bodies of the appeal API: the ones the assistant sends and reads are the contract it shares
with the backend (`privacy_assistant.api_models.appeals`), re-exported here; staff's
extension takes a reason (`ExtendIn`, as a request's does)."""

from __future__ import annotations

from privacy_assistant.api_models.appeals import (
    APPEAL_TEXT_MAX,
    AppealCreate,
    AppealDecision,
    AppealOut,
)
from privacy_backend.schemas.requests import ExtendIn

__all__ = ["APPEAL_TEXT_MAX", "AppealCreate", "AppealDecision", "AppealOut", "ExtendIn"]
