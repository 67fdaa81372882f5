"""The values the backend's API and its clients agree on.

The backend stores them (`privacy_backend.core.models`) and the action server's clients
(`actions/api/`) send and read them; both import them from here, so a new request type or
status is added in one place. Changing a value is a change of the API and of the data
already stored.
"""

from __future__ import annotations

import enum


class RequestType(str, enum.Enum):
    KNOW = "know"
    ACCESS = "access"
    PORTABILITY = "portability"
    DELETION = "deletion"
    CORRECTION = "correction"


class RequestStatus(str, enum.Enum):
    PENDING_VERIFICATION = "pending_verification"
    VERIFIED = "verified"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CLOSED_UNVERIFIED = "closed_unverified"
    # A second open request of the same type for the same verified address: it points to
    # the first (`duplicate_of`) and starts no clock of its own.
    DUPLICATE = "duplicate"


class DenialReason(str, enum.Enum):
    """Why a request was denied, as the yearly metrics count denials (CCPA regs §7102)."""

    IDENTITY_NOT_VERIFIED = "identity_not_verified"  # the requester could not be verified
    AGENT_NOT_AUTHORIZED = "agent_not_authorized"  # the consumer did not confirm the agent
    EXEMPTION = "exemption"  # an exception of the law applies (e.g. a legal obligation)
    UNFOUNDED = "unfounded"  # manifestly unfounded or excessive
    OTHER = "other"


class AppealStatus(str, enum.Enum):
    """An appeal of a denied request: `open` until staff decide it in writing."""

    OPEN = "open"
    GRANTED = "granted"  # the request is reopened and worked
    DENIED = "denied"  # the denial stands; the person is told how to complain to the AG


class AgentPermission(str, enum.Enum):
    """How an authorized agent's permission to act for the consumer was established
    (CCPA regs §7063): the consumer confirmed it directly, or staff hold signed permission."""

    CONSUMER_CONFIRMED = "consumer_confirmed"
    SIGNED_PERMISSION = "signed_permission"


class Channel(str, enum.Enum):
    """Where a request or handoff came from."""

    WEB = "web"
    SLACK = "slack"
    REST = "rest"
    AGENT = "agent"


class VerificationPurpose(str, enum.Enum):
    """What a one-time code proves the address for."""

    REQUEST = "request"
    STATUS_LOOKUP = "status_lookup"
    PREFERENCES = "preferences"


class PreferenceSource(str, enum.Enum):
    """Where a marketing-preference change came from."""

    CHAT = "chat"
    UNSUBSCRIBE_LINK = "unsubscribe_link"
    AGENT = "agent"
    SLACK = "slack"
    API = "api"


class OptOutKind(str, enum.Enum):
    """A privacy opt-out that needs no proof of identity (CCPA regs §7026, §7027)."""

    SALE_SHARING = "sale_sharing"  # do not sell or share my personal information
    LIMIT_SENSITIVE = "limit_sensitive"  # limit the use of my sensitive personal information


class OptOutSource(str, enum.Enum):
    """Where a privacy opt-out came from: the chat, or a browser's Global Privacy Control."""

    CHAT = "chat"
    GPC = "gpc"


class HandoffStatus(str, enum.Enum):
    """`waiting` for an agent -> `active` (an agent took it) -> `closed`."""

    WAITING = "waiting"
    ACTIVE = "active"
    CLOSED = "closed"
