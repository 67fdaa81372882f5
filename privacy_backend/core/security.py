"""Who is calling the API: two bearer credentials, each compared in constant time.

- `PRIVACY_API_TOKEN` (else `var/api_token`) is the assistant's: the action server files
  requests, runs verifications, queues handoffs, and reads or changes one address's requests
  and marketing choices only with proof that the address was verified (see
  `services.verification.proof`).
- `PRIVACY_STAFF_TOKEN` (else `var/staff_token`) is the staff's, for automation: status
  changes, extensions, listings, audit trails and histories, with no proof needed.

Agents in the console are staff too, on the console's own routes (session cookie on
`/console`); /api/v1 takes only the two bearer tokens. Audit rows name the `Caller.actor`
(`assistant`, `staff-token`), never a name the caller sends.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from privacy_backend.core.errors import ApiError
from privacy_backend.core.settings import Settings

log = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False, description="PRIVACY_API_TOKEN (the assistant) or "
                                                   "PRIVACY_STAFF_TOKEN (staff automation)")


class CallerKind(str, Enum):
    ASSISTANT = "assistant"
    STAFF = "staff"


@dataclass(frozen=True)
class Caller:
    """The authenticated caller, and the name its changes are recorded under."""

    kind: CallerKind
    actor: str

    @property
    def is_staff(self) -> bool:
        return self.kind is CallerKind.STAFF


ASSISTANT = Caller(CallerKind.ASSISTANT, "assistant")
STAFF_TOKEN = Caller(CallerKind.STAFF, "staff-token")


@dataclass(frozen=True)
class ApiTokens:
    assistant: bytes
    staff: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiTokens:
        assistant, staff = settings.api_token(), settings.staff_token()
        if hmac.compare_digest(assistant.encode(), staff.encode()):
            raise ValueError("PRIVACY_STAFF_TOKEN must differ from PRIVACY_API_TOKEN: one "
                             "credential cannot be both the assistant's and the staff's")
        return cls(assistant=assistant.encode(), staff=staff.encode())


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller of an /api/v1 route (401 without a valid bearer token)."""
    tokens: ApiTokens = request.app.state.api_tokens
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "Missing bearer token: send 'Authorization: Bearer "
                       "<token>' (PRIVACY_API_TOKEN or PRIVACY_STAFF_TOKEN).",
                       headers={"WWW-Authenticate": "Bearer"})
    given = credentials.credentials.encode()
    # Both comparisons always run, so the time taken says nothing about which one matched.
    is_assistant = hmac.compare_digest(given, tokens.assistant)
    is_staff = hmac.compare_digest(given, tokens.staff)
    if is_staff:
        return STAFF_TOKEN
    if is_assistant:
        return ASSISTANT
    raise ApiError(401, "unauthorized", "Invalid bearer token.",
                   headers={"WWW-Authenticate": "Bearer"})


CallerDep = Annotated[Caller, Depends(authenticate)]


def require_staff(caller: CallerDep) -> Caller:
    """Staff-only routes: 403 for the assistant's token."""
    if not caller.is_staff:
        raise ApiError(403, "staff_only", "This route needs a staff identity: send "
                       "'Authorization: Bearer <PRIVACY_STAFF_TOKEN>'.")
    return caller


StaffDep = Annotated[Caller, Depends(require_staff)]
