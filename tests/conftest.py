"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from privacy_assistant.stack import free_port

__all__ = ["PROJECT_ROOT", "TEST_REDIS_URL", "free_port", "unreachable"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Database 15 of the machine's Redis: tests use their own keys and never flush it.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def unreachable(url: str) -> str | None:
    """Why a server (redis://, postgresql://...) cannot be reached, or None if it answers."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or {
        "redis": 6379, "rediss": 6379}.get(parts.scheme.split("+")[0], 5432)
    try:
        with socket.create_connection((host, port), timeout=1):
            return None
    except OSError as exc:
        return f"{parts.scheme.split('+')[0]} is not reachable on {host}:{port} " \
               f"({exc.strerror or exc})"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT
