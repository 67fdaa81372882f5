"""Typed client for the backend's privacy-request and verification API, as the assistant may
use it (`PRIVACY_API_TOKEN`): file requests, run verifications, and read one request with
proof that its address was verified. Staff operations (listings, status changes, extensions,
audit trails) need the staff token, which the action server never holds.

Transport, configuration and error mapping come from `actions.api.base.BackendClient` (the
exceptions are those of `actions.api.errors`); the bodies are the backend's own
(`privacy_assistant.api_models.requests`), under the names the actions use. Build one with
`from_env()`; nothing happens at import time.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from actions.api.base import DEFAULT_TIMEOUT, BackendClient, backend_url, send_body
from actions.api.errors import BackendError
from privacy_assistant.api_models import appeals as appeal_bodies
from privacy_assistant.api_models import requests as bodies
from privacy_assistant.api_models.common import Health
from privacy_assistant.contract import Channel, RequestStatus, RequestType
from privacy_assistant.contract import VerificationPurpose as Purpose

__all__ = [
    "DEFAULT_TIMEOUT",
    "Channel",
    "Appeal",
    "CodeSent",
    "FiledRequest",
    "PrivacyRequest",
    "PrivacyRequestsClient",
    "Purpose",
    "QueueItem",
    "RequestStatus",
    "RequestType",
    "VerificationResult",
    "VerifiedRequest",
    "backend_url",
    "from_env",
]

# The backend's bodies under the names the actions use.
PrivacyRequest = bodies.RequestOut
# The answer to filing a request: the request, whether this answer emailed a code, until when
# the request's code can still be typed (`code_live`), and where that code's email is.
FiledRequest = bodies.RequestCreated
# A request whose code was just confirmed, and that verification's id: the conversation's
# proof of the address (see `actions.common.mark_verified`).
VerifiedRequest = bodies.RequestVerified
# Any answer that issued a code: `bodies.CodeSent` (with where its email is) for a request's
# new code and a verification; `bodies.LookupOut` for a status lookup, which does not say (it
# is the same whether or not a code was issued at all).
CodeSent = bodies.CodeIssued
# One request in the privacy team's queue: nothing about the person who made it.
QueueItem = bodies.RequestQueueItem
VerificationResult = bodies.VerificationConfirmed
# An appeal of a denied request: its reference, due date, and whether this answer filed it.
Appeal = appeal_bodies.AppealOut


class PrivacyRequestsClient(BackendClient):
    # -- requests ----------------------------------------------------------------------------
    def create_request(
        self, type: RequestType | str, email: str, *, name: str | None = None,
        region: str | None = None, authorized_agent: bool = False, details: str | None = None,
        channel: Channel | str = Channel.REST, conversation_id: str | None = None,
        idempotency_key: str | None = None, verification_id: str | None = None,
        consumer_email: str | None = None,
    ) -> FiledRequest:
        """Create a request (a code is emailed). Pass a stable `idempotency_key` so that a retry
        or a double submit returns the same request instead of a second one; such a replay
        emails no code (`code_sent`), and `code_live` says whether the earlier one still works.
        With `verification_id` (a code this conversation confirmed for `email` a moment ago)
        it is filed verified and no code is emailed; an id the backend does not accept as
        proof raises `Unauthorized` (403 `verification_required`) and files nothing.
        An authorized agent files with `email` their own address and `consumer_email` the
        consumer's: the code goes to the agent, and the consumer is asked to confirm."""
        extra = {"verification_id": verification_id, "consumer_email": consumer_email}
        body = send_body(
            bodies.RequestCreate, type=RequestType(type), email=email, name=name,
            region=region,
            authorized_agent=authorized_agent, details=details, channel=Channel(channel),
            conversation_id=conversation_id,
            **{name: value for name, value in extra.items() if value is not None})
        key = idempotency_key or uuid.uuid4().hex
        return self._read(FiledRequest, "POST", "/api/v1/requests", json=body,
                          headers={"Idempotency-Key": key})

    def get_request(self, reference: str, *, verification_id: str | None,
                    conversation_id: str | None = None) -> PrivacyRequest:
        """Read one request, proving its address with `verification_id`: a request or status
        lookup code confirmed for that address (403 `Unauthorized` otherwise)."""
        return self._read(PrivacyRequest, "GET", f"/api/v1/requests/{_seg(reference)}",
                          params={"verification_id": verification_id,
                                  "conversation_id": conversation_id})

    def verify_request(self, reference: str, code: str) -> VerifiedRequest:
        """Check a filed request's code: the answer is the request, now verified, and the
        verification the code confirmed."""
        return self._read(VerifiedRequest, "POST",
                          f"/api/v1/requests/{_seg(reference)}/verify",
                          json=send_body(bodies.CodeIn, code=code))

    def resend_code(self, reference: str) -> bodies.CodeSent:
        return self._read(bodies.CodeSent, "POST",
                          f"/api/v1/requests/{_seg(reference)}/resend-code")

    def file_appeal(self, reference: str, reason: str, *, verification_id: str | None,
                    channel: Channel | str = Channel.REST,
                    conversation_id: str | None = None) -> Appeal:
        """Appeal a denied request, proving its address (or its agent's) with
        `verification_id` (403 `Unauthorized` otherwise, the same for an unknown reference).
        A request that is not denied is refused (409 `Conflict`, `not_appealable`); a request
        appealed already answers its appeal with `created` false."""
        return self._read(Appeal, "POST", f"/api/v1/requests/{_seg(reference)}/appeals",
                          json=send_body(appeal_bodies.AppealCreate, reason=reason,
                                         channel=Channel(channel),
                                         conversation_id=conversation_id,
                                         verification_id=verification_id))

    def queue(self, *, view: str | None = None, days: int | None = None,
              reference: str | None = None) -> tuple[int, list[QueueItem]]:
        """The privacy team's queue without personal data, soonest due first, and how many
        requests match in all: `view` "overdue", or "due" (within `days`, overdue ones
        included), or one `reference` (404 `NotFound` when unknown)."""
        queue = self._read(bodies.RequestQueueOut, "GET", "/api/v1/requests/queue",
                           params={"view": view, "days": days, "reference": reference})
        return queue.total, queue.items

    # -- verification ------------------------------------------------------------------------
    def start_status_lookup(self, reference: str, email: str,
                            conversation_id: str | None = None) -> bodies.LookupOut:
        """Always succeeds the same way; a code is emailed only if reference and email match."""
        return self._read(bodies.LookupOut, "POST", "/api/v1/requests/lookup", json=send_body(
            bodies.LookupIn, reference=reference, email=email, conversation_id=conversation_id))

    def start_verification(self, email: str, purpose: Purpose,
                           conversation_id: str | None = None) -> bodies.CodeSent:
        """Email a code that proves `email` for `purpose` (a filed request's code comes with
        the request instead, so the backend accepts STATUS_LOOKUP and PREFERENCES here)."""
        return self._read(bodies.CodeSent, "POST", "/api/v1/verifications", json=send_body(
            bodies.VerificationStart, email=email, purpose=Purpose(purpose).value,
            conversation_id=conversation_id))

    def confirm_verification(self, verification_id: str, code: str) -> VerificationResult:
        return self._read(VerificationResult, "POST",
                          f"/api/v1/verifications/{_seg(verification_id)}/confirm",
                          json=send_body(bodies.CodeIn, code=code))

    def health(self) -> bool:
        try:
            return self._read(Health, "GET", "/health").database == "ok"
        except BackendError:
            return False


def _seg(value: str) -> str:
    return quote(value.strip(), safe="")


def from_env(timeout: float | None = None) -> PrivacyRequestsClient:
    """Client for `backend_url()` with `PRIVACY_API_TOKEN` (or the backend's var/api_token)."""
    return PrivacyRequestsClient.from_env(timeout)
