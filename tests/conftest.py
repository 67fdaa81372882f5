"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_assistant.stack import free_port

__all__ = ["PROJECT_ROOT", "free_port"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT
