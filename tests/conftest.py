"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from privacy_assistant.stack import free_port, unreachable

__all__ = ["PROJECT_ROOT", "TEST_REDIS_URL", "free_port", "unreachable"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Database 15 of the machine's Redis: tests use their own keys and never flush it.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT
