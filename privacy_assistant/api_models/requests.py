"""Bodies of the request and verification API that the assistant sends and reads: inputs
forbid unknown fields and bound lengths; answers carry the request and its codes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from privacy_assistant.api_models.common import ConversationId, Email, StrictIn, VerificationId
from privacy_assistant.code_mask import CODE_DIGITS, LONG_CODE_DIGITS
from privacy_assistant.contract import (
    AgentPermission,
    AppealStatus,
    Channel,
    RequestStatus,
    RequestType,
    VerificationPurpose,
)


class RequestCreate(StrictIn):
    type: RequestType
    email: Email
    name: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=64,
                               description="State or country of residence, e.g. 'California'")
    authorized_agent: bool = Field(default=False, description="Filed by an authorized agent "
                                   "for the consumer at `consumer_email`: `email` is the "
                                   "agent's own address, which the code verifies")
    consumer_email: Email | None = Field(
        default=None, description="With `authorized_agent`, required: the address of the "
                                  "consumer the request is for. The consumer is emailed to "
                                  "confirm the agent, and the request is worked only after "
                                  "that (or once staff record signed permission).")
    details: str | None = Field(default=None, max_length=2000)
    channel: Channel = Channel.REST
    conversation_id: ConversationId | None = None
    verification_id: VerificationId | None = Field(
        default=None, description="A code confirmed for this address (in this conversation) "
                                  "within VERIFIED_FOR_MINUTES: the request is filed verified "
                                  "and no new code is emailed.")

    @model_validator(mode="after")
    def _agent_names_the_consumer(self) -> RequestCreate:
        if self.authorized_agent and self.consumer_email is None:
            raise ValueError("an authorized agent's request needs `consumer_email`, the "
                             "address of the consumer it is for")
        if not self.authorized_agent and self.consumer_email is not None:
            raise ValueError("`consumer_email` goes only with `authorized_agent`")
        if self.consumer_email is not None and self.consumer_email == self.email:
            raise ValueError("`consumer_email` is the consumer's address, not the agent's own "
                             "(`email`): for your own request, leave `authorized_agent` out")
        return self


class CodeIn(StrictIn):
    code: str = Field(max_length=16, description="The code from the email: 6 digits, or 9 "
                                                 "when its address was over its guessing limit")

    @field_validator("code")
    @classmethod
    def _digits(cls, value: str) -> str:
        digits = re.sub(r"[\s.-]", "", value)
        if not re.fullmatch(rf"\d{{{CODE_DIGITS}}}|\d{{{LONG_CODE_DIGITS}}}", digits):
            raise ValueError(f"the code has {CODE_DIGITS} digits ({LONG_CODE_DIGITS} when the "
                             "email says so)")
        return digits


class LookupIn(StrictIn):
    reference: str = Field(min_length=1, max_length=32)
    email: Email
    conversation_id: ConversationId | None = None


class VerificationStart(StrictIn):
    email: Email
    purpose: Literal["status_lookup", "preferences"]
    conversation_id: ConversationId | None = None


class AppealSummary(BaseModel):
    """The appeal of a denied request, as the request shows it."""

    model_config = ConfigDict(from_attributes=True)

    reference: str
    status: AppealStatus
    received_at: datetime
    due_at: datetime
    decided_at: datetime | None


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    reference: str
    type: RequestType
    status: RequestStatus
    email: str = Field(description="The address of the person the request is about (the "
                                   "consumer's, for an authorized agent's request)")
    name: str | None
    region: str | None
    jurisdiction: str
    authorized_agent: bool
    agent_email: str | None = Field(default=None, description="An authorized agent's own "
                                                              "address")
    awaiting_consumer: bool = Field(default=False, description="An agent's request whose agent "
                                    "is verified and whose consumer has not yet confirmed")
    agent_permission: AgentPermission | None = None
    details: str | None
    channel: Channel
    conversation_id: str | None
    created_at: datetime
    updated_at: datetime
    verified_at: datetime | None
    due_at: datetime
    extensions_used: int
    duplicate_of: str | None = Field(default=None, description="A duplicate's first request: "
                                     "its reference (status `duplicate`)")
    duplicate_of_due_at: datetime | None = Field(default=None, description="When the first "
                                                 "request is due")
    appeal: AppealSummary | None = None


QueueView = Literal["due", "overdue", "reference"]
# The most requests one queue answer lists; `total` says how many matched.
QUEUE_CAP = 50


class RequestQueueItem(BaseModel):
    """One request in the privacy team's queue, with nothing about the person who made it:
    no address, name, details, conversation or audit trail."""

    reference: str
    request_type: RequestType
    status: RequestStatus
    jurisdiction: str
    due_at: datetime
    days_left: int = Field(description="Calendar days (UTC) from today to the due date: 0 on "
                                       "the day it is due, negative once it is overdue.")


class RequestQueueOut(BaseModel):
    """The answer of GET /requests/queue."""

    view: QueueView
    as_of: datetime = Field(description="The time `days_left` and overdue are reckoned from")
    days: int | None = Field(description="The window of view `due`, in days; null otherwise")
    total: int = Field(description=f"How many requests match; `items` lists the first "
                                   f"{QUEUE_CAP}, soonest due first")
    items: list[RequestQueueItem]


class RequestVerified(RequestOut):
    """The answer to a correct code: the request, and the verification the code confirmed
    (the conversation's proof that it owns the address)."""

    verification_id: str


# A code's email: handed over to the mail relay, still being tried (the outbox retries it
# until the code expires), or there is no code whose email could be awaited.
MailState = Literal["sent", "queued", "failed", "none"]
MAIL_STATE = ("`sent`: handed over to the mail relay; `queued`: not yet (the relay is slow or "
              "down), retried until the code expires; `failed`: given up; `none`: no code's "
              "email to speak of (no code can be typed, or it predates the outbox).")



CODE_DIGITS_DOC = ("How many digits the code has: 6, or 9 when its address was over its "
                   "guessing limit.")


class RequestCreated(RequestOut):
    """The answer to POST /requests, new (201) or a replay of its Idempotency-Key (200)."""

    code_sent: bool = Field(description="Whether this response issued a code and its email was "
                                        "handed over within MAIL_SEND_WAIT_SECONDS.")
    mail_status: MailState = Field(description="The email of the code that can still be "
                                               "typed. " + MAIL_STATE)
    code_digits: int = Field(default=CODE_DIGITS, description=CODE_DIGITS_DOC)
    code_expires_at: datetime | None = Field(
        description="When the request's code that can still be typed expires; null when there "
                    "is none (never sent, expired, replaced, tried too often, or the request "
                    "no longer awaits verification). Ask for a new one with /resend-code.")

    @property
    def code_live(self) -> bool:
        """Whether the request's code can still be typed (a replay may find it spent)."""
        return self.code_expires_at is not None


class CodeIssued(BaseModel):
    """What every answer that issued a code carries: a code sent, a status lookup's answer."""

    verification_id: str
    expires_at: datetime


class CodeSent(CodeIssued):
    mail_status: MailState = Field(description=MAIL_STATE)
    message: str
    code_digits: int = Field(default=CODE_DIGITS, description=CODE_DIGITS_DOC)

    @classmethod
    def of(cls, verification_id: str, expires_at: datetime, mail_status: MailState,
           code_digits: int = CODE_DIGITS) -> CodeSent:
        message = {
            "sent": "A verification code was emailed.",
            "queued": "A verification code was issued; its email is delayed and is retried "
                      "until the code expires.",
        }.get(mail_status, "A verification code was issued but its email could not be sent; "
                           "ask for a new code.")
        return cls(verification_id=verification_id, expires_at=expires_at,
                   mail_status=mail_status, message=message, code_digits=code_digits)


class LookupOut(CodeIssued):
    message: str = (
        "If the reference and the email address match a request, a verification code was "
        "emailed to that address."
    )


class VerificationConfirmed(BaseModel):
    id: str
    purpose: VerificationPurpose
    email: str
    conversation_id: str | None
    verified_at: datetime
    request_reference: str | None = None
