"""Bodies of the marketing-preference API and of unsubscribe links.

The bodies the assistant sends and reads are the contract it shares with the backend
(`privacy_assistant.api_models.preferences`, and `.opt_outs` for the code-free opt-out) and
are re-exported here; histories and
unsubscribe links, which only staff and the site use, are defined here.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from privacy_assistant.api_models.opt_outs import MarketingOptOutIn, MarketingOptOutOut
from privacy_assistant.api_models.preferences import (
    ChannelChoices,
    PreferencesOut,
    PreferencesPatch,
    PreferencesReplace,
)
from privacy_backend.core.models import PreferenceSource
from privacy_backend.schemas.common import Email, StrictIn

__all__ = [
    "ChannelChoices", "MarketingOptOutIn", "MarketingOptOutOut", "PreferenceChangeOut",
    "PreferencesOut", "PreferencesPatch", "PreferencesReplace", "UnsubscribeLinkIn",
    "UnsubscribeLinkOut",
]


class PreferenceChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source: PreferenceSource
    actor: str | None
    conversation_id: str | None
    before: dict[str, bool] = Field(description="changed settings before, e.g. "
                                                "{\"channels.email.promotions\": true}")
    after: dict[str, bool]
    created_at: datetime


class UnsubscribeLinkIn(StrictIn):
    email: Email
    scope: str = Field(min_length=1, max_length=70,
                       description="`all` (global opt-out), a channel (`email`), or "
                                   "`channel:topic` (`email:promotions`)")


class UnsubscribeLinkOut(BaseModel):
    url: str
    scope: str
    expires_at: datetime
    headers: dict[str, str] = Field(description="`List-Unsubscribe` and "
                                                "`List-Unsubscribe-Post` (RFC 8058) for the mail")
