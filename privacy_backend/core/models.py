"""SQLAlchemy 2.0 models: privacy requests, their audit trail, one-time verifications, the
outbox of mail to send, marketing preferences with their change history, human handoffs
with the support agents (accounts, console sessions, failed logins) who take them, and the
privacy opt-outs that need no proof (sale and sharing, sensitive information), and the
appeals of denied requests.

All the tables stay in this one module (past 300 lines): they share one `Base` and refer to
each other by foreign keys, and Alembic's autogenerate and a reader both see the whole
schema in one place."""

from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from privacy_assistant.contract import (
    AgentPermission,
    AppealStatus,
    Channel,
    DenialReason,
    HandoffStatus,
    OptOutKind,
    OptOutSource,
    PreferenceSource,
    RequestStatus,
    RequestType,
    VerificationPurpose,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _enum(cls: type[enum.Enum], name: str) -> SAEnum:
    return SAEnum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class PrivacyRequest(Base):
    __tablename__ = "privacy_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    type: Mapped[RequestType] = mapped_column(_enum(RequestType, "request_type"))
    status: Mapped[RequestStatus] = mapped_column(
        _enum(RequestStatus, "request_status"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(64))
    jurisdiction: Mapped[str] = mapped_column(String(16))
    authorized_agent: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    extensions_used: Mapped[int] = mapped_column(Integer, default=0)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    idempotency_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # Set when a completed deletion reduced this request to its minimal form: the address,
    # name, region, details and conversation are gone, `email` holds `erased`.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # An authorized agent's request (CCPA regs §7063): `email` is the consumer's, whose data
    # the request is about; `agent_email` is the agent's, which the code verifies. The
    # request is worked only once the consumer confirmed or staff hold signed permission
    # (`agent_permission`).
    agent_email: Mapped[str | None] = mapped_column(String(254), index=True)
    agent_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consumer_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    agent_permission: Mapped[AgentPermission | None] = mapped_column(
        _enum(AgentPermission, "agent_permission"))
    # A duplicate points to the open request of the same type and address it repeats.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("privacy_requests.id"))
    # When the confirmation of receipt was queued (CCPA regs §7021(a): within 10 business
    # days of receipt).
    receipt_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the request reached a final status: the response, for the yearly metrics.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    denial_reason: Mapped[DenialReason | None] = mapped_column(
        _enum(DenialReason, "denial_reason"))
    # Completed in part only (what was withheld, and why, is the completion's note).
    partial: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    audit_events: Mapped[list[AuditEvent]] = relationship(
        back_populates="request", order_by="AuditEvent.id"
    )
    first_request: Mapped[PrivacyRequest | None] = relationship(remote_side=[id])
    appeal: Mapped[Appeal | None] = relationship(back_populates="request", uselist=False)

    @property
    def duplicate_of(self) -> str | None:
        """A duplicate's first request, by reference."""
        return self.first_request.reference if self.first_request is not None else None

    @property
    def duplicate_of_due_at(self) -> datetime | None:
        return self.first_request.due_at if self.first_request is not None else None

    @property
    def awaiting_consumer(self) -> bool:
        """An agent's request whose agent proved their address, waiting for the consumer's
        confirmation (or staff's record of signed permission)."""
        return (self.authorized_agent and self.status is RequestStatus.PENDING_VERIFICATION
                and self.agent_verified_at is not None and self.agent_permission is None)

    @property
    def verifier_email(self) -> str:
        """The address a code for this request goes to: the agent's, for an agent's request."""
        return self.agent_email or self.email


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("privacy_requests.id"), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    request: Mapped[PrivacyRequest] = relationship(back_populates="audit_events")


class Verification(Base):
    """One emailed one-time code. Only an HMAC of the code is stored. A status lookup that
    matches no request gets a row without a code (`code_hash` is
    `services.verification.UNSENT`), which nothing confirms."""

    __tablename__ = "verifications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    purpose: Mapped[VerificationPurpose] = mapped_column(
        _enum(VerificationPurpose, "verification_purpose")
    )
    email: Mapped[str] = mapped_column(String(254), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(128), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("privacy_requests.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    # 6, or 9 for a code issued while the address was over its guessing limit
    # (`services.code_limits`), so that the bot and the email say how long it is.
    code_digits: Mapped[int] = mapped_column(Integer, default=6, server_default="6")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    # Indexed for the system-wide hourly count of codes (`services.code_limits`).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MailStatus(str, enum.Enum):
    QUEUED = "queued"  # waiting for its first or next delivery attempt
    SENT = "sent"  # handed over to the mail relay (or written to var/mail)
    DROPPED = "dropped"  # not sent before `not_after`: its code had expired


class OutboundMail(Base):
    """One email in the outbox. Routes write it in their own transaction and deliver it after
    the commit, so a slow or broken mail relay never holds a database transaction; what the
    first attempt does not hand over is retried until `not_after`. The message is sealed
    (Fernet: encrypted and authenticated) because it may carry a one-time code, and the sealed
    copy is erased once the mail is sent or dropped."""

    __tablename__ = "outbound_mail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[MailStatus] = mapped_column(_enum(MailStatus, "mail_status"), index=True)
    sealed: Mapped[str | None] = mapped_column(Text)
    verification_id: Mapped[str | None] = mapped_column(
        ForeignKey("verifications.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MarketingPreference(Base):
    """The current marketing choices of one email address (normalised to lower case).

    `channels` maps channel -> topic -> subscribed. A row exists only once something was
    changed; addresses without a row have the documented defaults.
    """

    __tablename__ = "marketing_preferences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    global_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    channels: Mapped[dict[str, dict[str, bool]]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    changes: Mapped[list[PreferenceChange]] = relationship(
        back_populates="preference", order_by="PreferenceChange.id"
    )


class PreferenceChange(Base):
    """One effective change: only the settings that changed, before and after."""

    __tablename__ = "preference_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    preference_id: Mapped[int] = mapped_column(
        ForeignKey("marketing_preferences.id"), index=True
    )
    source: Mapped[PreferenceSource] = mapped_column(_enum(PreferenceSource, "preference_source"))
    actor: Mapped[str | None] = mapped_column(String(128))
    # Indexed: the code-free opt-outs are counted per conversation (`services.preferences`).
    conversation_id: Mapped[str | None] = mapped_column(String(128), index=True)
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    idempotency_fingerprint: Mapped[str | None] = mapped_column(String(64))

    preference: Mapped[MarketingPreference] = relationship(back_populates="changes")


class AgentRole(str, enum.Enum):
    """`agent`: reads the conversations queued for the team and those assigned to them;
    `privacy_admin`: reads every handed-off conversation."""

    AGENT = "agent"
    PRIVACY_ADMIN = "privacy_admin"


class Agent(Base):
    """A support agent who can take conversations over in the console."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    role: Mapped[AgentRole] = mapped_column(_enum(AgentRole, "agent_role"),
                                            default=AgentRole.AGENT,
                                            server_default=AgentRole.AGENT.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TranscriptRead(Base):
    """One reading of a handed-off conversation's transcript in the console: who, which
    handoff, when."""

    __tablename__ = "transcript_reads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id"), index=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AgentSession(Base):
    """A console login. Only a SHA-256 of the cookie value is stored."""

    __tablename__ = "agent_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    agent: Mapped[Agent] = relationship()


class LoginAttempt(Base):
    """One failed console login, for the lockout: the email as typed (lower-cased) and a
    keyed hash of the client address it came from (never the address itself)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    client_key: Mapped[str] = mapped_column(String(64), index=True, server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Handoff(Base):
    """A conversation handed from the bot to a person.

    When Slack is on, each handoff is also one message in the privacy team's channel
    (`integrations.slack`): `slack_ts` names that message, `slack_state` is the status it
    shows, and `slack_lease_until` is held by the process posting or updating it, so two
    backends never post one handoff twice. A `slack_state` that differs from `status` is
    what the handoff sweep brings up to date."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    status: Mapped[HandoffStatus] = mapped_column(_enum(HandoffStatus, "handoff_status"),
                                                  index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_reason: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    slack_state: Mapped[str | None] = mapped_column(String(16))
    slack_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    agent: Mapped[Agent | None] = relationship()


class ConversationLink(Base):
    """A conversation in which a one-time code confirmed an address: from then on that
    conversation (its transcript, handoffs, requests and preference changes) is that
    person's data, exported and erased with it."""

    __tablename__ = "conversation_links"
    __table_args__ = (UniqueConstraint("conversation_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Suppression(Base):
    """An address that must stay opted out of marketing after its data was erased: only a
    keyed hash (HMAC-SHA256 under the code secret) of the address is kept."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(64))


class Export(Base):
    """The package of what is held about a requester, made when a know, access or
    portability request is completed. The package is sealed (Fernet) at rest, reached
    through a signed link that expires at `expires_at`, and deleted by the purge after it."""

    __tablename__ = "exports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("privacy_requests.id"), index=True)
    schema_version: Mapped[str] = mapped_column(String(8))
    sealed: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ExportDownload(Base):
    """One download of an export: which, when, in which format, from which client (a keyed
    hash of its address, never the address)."""

    __tablename__ = "export_downloads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    export_id: Mapped[str] = mapped_column(ForeignKey("exports.id"), index=True)
    format: Mapped[str] = mapped_column(String(8))
    client_key: Mapped[str] = mapped_column(String(64))
    downloaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PrivacyOptOut(Base):
    """One opt-out that needs no proof (CCPA regs §7025-7027): of the sale and sharing of
    personal information, or of uses of sensitive information beyond what is needed. Made in
    the chat against the address the visitor gave (or the browser's conversation), or by the
    socket.io channel when the browser sent Global Privacy Control (`source` `gpc`).

    `email` is empty while it holds for the conversation only; a code confirmed in that
    conversation fills it in (`linked_at`). A deletion request of the address keeps the
    record without address or conversation (`erased_at`), as a record of the request."""

    __tablename__ = "privacy_opt_outs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[OptOutKind] = mapped_column(_enum(OptOutKind, "opt_out_kind"))
    source: Mapped[OptOutSource] = mapped_column(_enum(OptOutSource, "opt_out_source"))
    conversation_id: Mapped[str | None] = mapped_column(String(128), index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    due_date: Mapped[date] = mapped_column(Date())
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Appeal(Base):
    """An appeal of a denied request (Virginia, Colorado, Connecticut, Texas, Oregon, Montana,
    Nebraska and other states): its own reference (`AP-…`) and due date, the window of the
    request's jurisdiction (`core.jurisdictions`) counted from receipt. Staff decide it in
    writing (`decision`); a grant reopens the request, a denial tells the person how to
    complain to their Attorney General. One appeal per request.

    A deletion of the address keeps the appeal without the person's own words (`reason`
    reads `[erased]`, `erased_at`); the decision stays, as the request's denial reason does
    (CCPA regs §7101)."""

    __tablename__ = "privacy_appeals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("privacy_requests.id"), unique=True)
    status: Mapped[AppealStatus] = mapped_column(_enum(AppealStatus, "appeal_status"),
                                                 index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decision: Mapped[str | None] = mapped_column(Text)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    request: Mapped[PrivacyRequest] = relationship(back_populates="appeal")

    @property
    def request_reference(self) -> str:
        return self.request.reference
