"""Bodies of the console's fulfilment workbench (`/console/api/requests`, privacy admins):
the requests list, one request's page, and the action a privacy admin takes on it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from privacy_assistant.api_models.appeals import APPEAL_TEXT_MAX
from privacy_assistant.contract import AgentPermission, AppealStatus, DenialReason
from privacy_backend.core.models import Channel, RequestStatus, RequestType
from privacy_backend.schemas.common import StrictIn
from privacy_backend.services.workbench import Action

# The most requests one page of the list holds.
MAX_PER_PAGE = 100
# A written reason: what staff type, spaces around it dropped, never empty.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                          max_length=APPEAL_TEXT_MAX)]
# A reference as staff type it (`normalize_reference` accepts `pr 7kq2 m9xd` and the like).
Reference = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class WorkbenchItem(BaseModel):
    """One row of the requests list: enough to pick what to work next, no personal data."""

    reference: str
    type: RequestType
    status: RequestStatus
    jurisdiction: str
    created_at: datetime
    due_at: datetime
    days_left: int = Field(description="Calendar days (UTC) from today to the due date: 0 on "
                                       "the day it is due, negative once it is overdue.")
    erased: bool = Field(description="A completed deletion reduced it to its minimal form")
    agent: bool = Field(default=False, description="Filed by an authorized agent")
    awaiting_consumer: bool = Field(default=False, description="An agent's request waiting "
                                    "for the consumer's confirmation (or signed permission)")
    duplicate_of: str | None = Field(default=None, description="The open request this one "
                                                               "duplicates")
    appeal: AppealStatus | None = Field(default=None, description="Its appeal's status, if "
                                                                  "it was appealed")


class WorkbenchPage(BaseModel):
    total: int = Field(description="How many requests match the filters")
    page: int
    per_page: int
    as_of: datetime = Field(description="The time `days_left` and overdue are reckoned from")
    jurisdictions: list[str] = Field(description="The jurisdictions configured (the filter's "
                                                 "choices)")
    items: list[WorkbenchItem]


class RequesterOut(BaseModel):
    email: str = Field(description="`erased` once a completed deletion removed it")
    name: str | None
    region: str | None
    authorized_agent: bool
    channel: Channel


class AuditEntryOut(BaseModel):
    at: datetime
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None


class LinkedConversationOut(BaseModel):
    """A conversation in which a code confirmed the requester's address, by its handle only."""

    handle: str
    verified_at: datetime
    handoffs: int


class DownloadOut(BaseModel):
    at: datetime
    format: str


class ExportOut(BaseModel):
    id: str
    created_at: datetime
    expires_at: datetime
    available: bool = Field(description="Its link still opens (not expired, not purged)")
    downloads: list[DownloadOut]


class ConsoleAppeal(BaseModel):
    """An appeal of a denied request as the workbench shows it."""

    reference: str
    request_reference: str
    request_type: RequestType
    jurisdiction: str
    status: AppealStatus
    reason: str | None = Field(description="The person's own words; `[erased]` once a "
                                           "deletion of their address removed them")
    channel: Channel
    received_at: datetime
    due_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision: str | None = Field(description="The written decision")
    erased: bool
    extendable: bool = Field(description="Open, not yet due, in a jurisdiction that allows "
                                         "one extension of an appeal")


class ConsoleAppealPage(BaseModel):
    total: int
    page: int
    per_page: int
    as_of: datetime
    items: list[ConsoleAppeal]


class AppealDecisionIn(StrictIn):
    """The written decision of an appeal: emailed to the person and kept."""

    outcome: Literal["granted", "denied"]
    reason: Reason


class AppealExtendIn(StrictIn):
    """Why the appeal needs more time: emailed to the person."""

    reason: Reason


class WorkbenchDetail(BaseModel):
    """One request's page: who asked, what for, what happened so far, what can happen next."""

    reference: str
    type: RequestType
    status: RequestStatus
    jurisdiction: str
    requester: RequesterOut
    details: str | None = Field(description="What the requester wrote; on a correction "
                                            "request, the correction asked for")
    created_at: datetime
    updated_at: datetime
    verified_at: datetime | None
    due_at: datetime
    days_left: int
    extensions_used: int
    extension_reason: str | None
    erased_at: datetime | None
    audit: list[AuditEntryOut]
    conversations: list[LinkedConversationOut]
    exports: list[ExportOut]
    actions: list[Action] = Field(description="What the status graph (and the jurisdiction's "
                                              "extension rule) allows now")
    agent_email: str | None = Field(default=None, description="The authorized agent's own "
                                    "address (the requester's is `requester.email`)")
    agent_permission: AgentPermission | None = None
    awaiting_consumer: bool = False
    duplicate_of: str | None = None
    receipt_confirmed_at: datetime | None = None
    receipt_due: datetime | None = Field(default=None, description="When the receipt must be "
                                         "confirmed by, while it is not")
    denial_reason: DenialReason | None = None
    partial: bool = Field(default=False, description="Complied with in part")
    appeal: ConsoleAppeal | None = None


class ActionIn(StrictIn):
    """`deny` and `extend` need a `note`, the reason (recorded and emailed to the requester);
    `complete` on a correction request needs one saying what was corrected, and a partial
    completion one saying what was withheld and why; `record_permission` needs one saying
    what signed permission staff hold. `deny` takes a `denial_reason`, `complete` `partial`,
    `mark_duplicate` the `duplicate_of` reference."""

    action: Action
    note: str | None = Field(default=None, max_length=2000)
    denial_reason: DenialReason | None = None
    partial: bool = False
    duplicate_of: Reference | None = None
