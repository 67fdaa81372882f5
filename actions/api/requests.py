"""Typed client for the backend's privacy-request and verification API, as the assistant may
use it (`PRIVACY_API_TOKEN`): file requests, run verifications, and read one request with
proof that its address was verified. Staff operations (listings, status changes, extensions,
audit trails) need the staff token, which the action server never holds.

Transport, configuration and error mapping come from `actions.api.base.BackendClient`. Build
one with `from_env()`; nothing happens at import time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from urllib.parse import quote

from actions.api.base import DEFAULT_TIMEOUT, BackendClient, backend_url, parse_datetime
from actions.api.errors import (
    BackendError,
    BackendUnavailable,
    Conflict,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
    VerificationFailed,
)
from privacy_assistant.contract import Channel, RequestStatus, RequestType
from privacy_assistant.contract import VerificationPurpose as Purpose

__all__ = [
    "DEFAULT_TIMEOUT",
    "BackendError",
    "BackendUnavailable",
    "Channel",
    "CodeSent",
    "Conflict",
    "FiledRequest",
    "NotFound",
    "PrivacyRequest",
    "PrivacyRequestsClient",
    "Purpose",
    "QueueItem",
    "RateLimited",
    "RequestStatus",
    "RequestType",
    "Unauthorized",
    "ValidationFailed",
    "VerificationFailed",
    "VerificationResult",
    "VerifiedRequest",
    "backend_url",
    "from_env",
]


def _req_dt(value: str) -> datetime:
    parsed = parse_datetime(value)
    assert parsed is not None
    return parsed


@dataclass(frozen=True)
class PrivacyRequest:
    reference: str
    type: RequestType
    status: RequestStatus
    email: str
    name: str | None
    region: str | None
    jurisdiction: str
    authorized_agent: bool
    details: str | None
    channel: Channel
    conversation_id: str | None
    created_at: datetime
    updated_at: datetime
    verified_at: datetime | None
    due_at: datetime
    extensions_used: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PrivacyRequest:
        return cls(
            reference=data["reference"], type=RequestType(data["type"]),
            status=RequestStatus(data["status"]), email=data["email"], name=data.get("name"),
            region=data.get("region"), jurisdiction=data["jurisdiction"],
            authorized_agent=bool(data["authorized_agent"]), details=data.get("details"),
            channel=Channel(data["channel"]), conversation_id=data.get("conversation_id"),
            created_at=_req_dt(data["created_at"]), updated_at=_req_dt(data["updated_at"]),
            verified_at=parse_datetime(data.get("verified_at")), due_at=_req_dt(data["due_at"]),
            extensions_used=int(data["extensions_used"]),
        )


@dataclass(frozen=True)
class FiledRequest(PrivacyRequest):
    """The answer to filing a request: the request, whether this answer emailed a code, until
    when the request's code can still be typed (`None`: there is no such code, as on a retry
    after that code expired, or after the request was verified), and where that code's email
    is (`mail_status`: "sent", "queued" while the backend's outbox retries it, or "none")."""

    code_sent: bool
    code_expires_at: datetime | None
    mail_status: str

    @property
    def code_live(self) -> bool:
        return self.code_expires_at is not None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FiledRequest:
        request = PrivacyRequest.from_json(data)
        return cls(**{f.name: getattr(request, f.name) for f in fields(PrivacyRequest)},
                   code_sent=bool(data["code_sent"]),
                   code_expires_at=parse_datetime(data.get("code_expires_at")),
                   mail_status=str(data["mail_status"]))


@dataclass(frozen=True)
class VerifiedRequest(PrivacyRequest):
    """A request whose code was just confirmed, and that verification's id: the
    conversation's proof of the address (see `actions.common.mark_verified`)."""

    verification_id: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VerifiedRequest:
        request = PrivacyRequest.from_json(data)
        return cls(**{f.name: getattr(request, f.name) for f in fields(PrivacyRequest)},
                   verification_id=str(data["verification_id"]))


@dataclass(frozen=True)
class CodeSent:
    """A code issued; its email handed over ("sent") or still being retried ("queued").
    A status lookup's answer does not say (`None`): it is the same whether or not a code was
    issued at all."""

    verification_id: str
    expires_at: datetime
    mail_status: str | None = None


@dataclass(frozen=True)
class QueueItem:
    """One request in the privacy team's queue: nothing about the person who made it."""

    reference: str
    request_type: str
    status: str
    jurisdiction: str
    due_at: datetime
    days_left: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueueItem:
        return cls(reference=str(data["reference"]), request_type=str(data["request_type"]),
                   status=str(data["status"]), jurisdiction=str(data.get("jurisdiction") or ""),
                   due_at=_req_dt(str(data["due_at"])), days_left=int(data["days_left"]))


@dataclass(frozen=True)
class VerificationResult:
    id: str
    purpose: Purpose
    email: str
    verified_at: datetime
    request_reference: str | None


class PrivacyRequestsClient(BackendClient):
    # -- requests ----------------------------------------------------------------------------
    def create_request(
        self, type: RequestType | str, email: str, *, name: str | None = None,
        region: str | None = None, authorized_agent: bool = False, details: str | None = None,
        channel: Channel | str = Channel.REST, conversation_id: str | None = None,
        idempotency_key: str | None = None, verification_id: str | None = None,
    ) -> FiledRequest:
        """Create a request (a code is emailed). Pass a stable `idempotency_key` so that a retry
        or a double submit returns the same request instead of a second one; such a replay
        emails no code (`code_sent`), and `code_live` says whether the earlier one still works.
        With `verification_id` (a code this conversation confirmed for `email` a moment ago)
        it is filed verified and no code is emailed; an id the backend does not accept as
        proof raises `Unauthorized` (403 `verification_required`) and files nothing."""
        body: dict[str, Any] = {
            "type": RequestType(type).value, "email": email, "name": name, "region": region,
            "authorized_agent": authorized_agent, "details": details,
            "channel": Channel(channel).value, "conversation_id": conversation_id,
        }
        if verification_id is not None:
            body["verification_id"] = verification_id
        key = idempotency_key or uuid.uuid4().hex
        data = self._call("POST", "/api/v1/requests", json=body,
                          headers={"Idempotency-Key": key})
        return FiledRequest.from_json(data)

    def get_request(self, reference: str, *, verification_id: str | None,
                    conversation_id: str | None = None) -> PrivacyRequest:
        """Read one request, proving its address with `verification_id`: a request or status
        lookup code confirmed for that address (403 `Unauthorized` otherwise)."""
        params = {"verification_id": verification_id, "conversation_id": conversation_id}
        return PrivacyRequest.from_json(self._call(
            "GET", f"/api/v1/requests/{_seg(reference)}",
            params={k: v for k, v in params.items() if v is not None}))

    def verify_request(self, reference: str, code: str) -> VerifiedRequest:
        return VerifiedRequest.from_json(self._call(
            "POST", f"/api/v1/requests/{_seg(reference)}/verify", json={"code": code}))

    def resend_code(self, reference: str) -> CodeSent:
        return _code_sent(self._call("POST", f"/api/v1/requests/{_seg(reference)}/resend-code"))

    def queue(self, *, view: str | None = None, days: int | None = None,
              reference: str | None = None) -> tuple[int, list[QueueItem]]:
        """The privacy team's queue without personal data, soonest due first, and how many
        requests match in all: `view` "overdue", or "due" (within `days`, overdue ones
        included), or one `reference` (404 `NotFound` when unknown)."""
        params = {"view": view, "days": days, "reference": reference}
        data = self._call("GET", "/api/v1/requests/queue",
                          params={k: v for k, v in params.items() if v is not None})
        return int(data["total"]), [QueueItem.from_json(item) for item in data["items"]]

    # -- verification ------------------------------------------------------------------------
    def start_status_lookup(self, reference: str, email: str,
                            conversation_id: str | None = None) -> CodeSent:
        """Always succeeds the same way; a code is emailed only if reference and email match."""
        return _code_sent(self._call("POST", "/api/v1/requests/lookup", json={
            "reference": reference, "email": email, "conversation_id": conversation_id}))

    def start_verification(self, email: str, purpose: Purpose,
                           conversation_id: str | None = None) -> CodeSent:
        """Email a code that proves `email` for `purpose` (a filed request's code comes with
        the request instead, so the backend accepts STATUS_LOOKUP and PREFERENCES here)."""
        return _code_sent(self._call("POST", "/api/v1/verifications", json={
            "email": email, "purpose": Purpose(purpose).value,
            "conversation_id": conversation_id}))

    def confirm_verification(self, verification_id: str, code: str) -> VerificationResult:
        data = self._call("POST", f"/api/v1/verifications/{_seg(verification_id)}/confirm",
                          json={"code": code})
        return VerificationResult(id=data["id"], purpose=Purpose(data["purpose"]),
                                  email=data["email"],
                                  verified_at=_req_dt(data["verified_at"]),
                                  request_reference=data.get("request_reference"))

    def health(self) -> bool:
        try:
            return bool(self._call("GET", "/health").get("database") == "ok")
        except BackendError:
            return False


def _seg(value: str) -> str:
    return quote(value.strip(), safe="")


def _code_sent(data: dict[str, Any]) -> CodeSent:
    return CodeSent(verification_id=data["verification_id"],
                    expires_at=_req_dt(data["expires_at"]),
                    mail_status=data.get("mail_status"))


def from_env(timeout: float | None = None) -> PrivacyRequestsClient:
    """Client for `backend_url()` with `PRIVACY_API_TOKEN` (or the backend's var/api_token)."""
    return PrivacyRequestsClient.from_env(timeout)
