"""How our processes prove themselves to Rasa's HTTP API: a short-lived JWT in a header.

The Rasa server runs with `--jwt-secret` (the value of `RASA_API_TOKEN`) and
`--jwt-method HS256`, and without `--auth-token` (`scripts/rasa_run.py`), so Rasa refuses
its `?token=` query string and accepts only `Authorization: Bearer <JWT>` signed with that
secret. Rasa's `requires_auth` lets a token whose payload says
`{"user": {"username": ..., "role": "admin"}}` use every endpoint, and a `"user"` role
only the conversation named by its username; the backend and the supervisor read and write
any conversation, so they sign admin tokens. A token lives `TTL_SECONDS` (sanic-jwt adds 3
minutes of leeway for clock skew), so one seen in a log or a proxy is soon useless.

The backend (`privacy_backend.integrations.rasa`), the supervisor's health check and the
end-to-end tests build their tokens here.
"""

from __future__ import annotations

import time

import jwt

from privacy_assistant.secret_files import RASA_API_TOKEN

ALGORITHM = "HS256"
TTL_SECONDS = 60
# The shortest secret that signs these tokens (HS256 wants at least its hash's 32 bytes).
MIN_SECRET_CHARS = RASA_API_TOKEN.min_chars


def rasa_api_jwt(secret: str, *, username: str, role: str = "admin",
                 ttl: int = TTL_SECONDS, now: float | None = None) -> str:
    """A JWT for Rasa's HTTP API, signed with `secret` (`RASA_API_TOKEN`)."""
    issued = int(time.time() if now is None else now)
    payload = {"user": {"username": username, "role": role},
               "iat": issued, "exp": issued + ttl}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def rasa_api_headers(secret: str, *, username: str) -> dict[str, str]:
    """The header that authenticates one call to Rasa's HTTP API as an admin."""
    return {"Authorization": f"Bearer {rasa_api_jwt(secret, username=username)}"}
