"""Secrets on disk (API token, code-hashing key, unsubscribe-link key) and bearer-token
authentication."""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from privacy_backend.core.errors import ApiError
from privacy_backend.core.settings import Settings

log = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False, description="PRIVACY_API_TOKEN or the var/api_token file")


def load_or_create_secret(path: Path) -> str:
    """Read a secret from `path`, generating it once (mode 0600) if the file does not exist.

    Creation is race-safe across processes: the secret is written to a private temporary file
    and hard-linked into place, which fails if another process got there first.
    """
    try:
        value = path.read_text(encoding="utf-8").strip()
        if value:
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
            return value
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value + "\n")
        try:
            os.link(tmp, path)
            log.info("generated a new secret in %s", path)
        except FileExistsError:
            value = path.read_text(encoding="utf-8").strip()
    finally:
        tmp.unlink(missing_ok=True)
    return value


def api_token(settings: Settings) -> str:
    if settings.privacy_api_token is not None and settings.privacy_api_token.get_secret_value():
        return settings.privacy_api_token.get_secret_value()
    return load_or_create_secret(settings.var_dir / "api_token")


def code_secret(settings: Settings) -> bytes:
    if settings.verification_secret is not None and settings.verification_secret.get_secret_value():
        return settings.verification_secret.get_secret_value().encode()
    return load_or_create_secret(settings.var_dir / "verification_secret").encode()


def unsubscribe_secret(settings: Settings) -> bytes:
    if settings.unsubscribe_secret is not None and settings.unsubscribe_secret.get_secret_value():
        return settings.unsubscribe_secret.get_secret_value().encode()
    return load_or_create_secret(settings.var_dir / "unsubscribe_secret").encode()


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected: str = request.app.state.api_token
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "Missing bearer token: send 'Authorization: Bearer "
                       "<token>' (PRIVACY_API_TOKEN or the var/api_token file).",
                       headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "Invalid bearer token.",
                       headers={"WWW-Authenticate": "Bearer"})
