"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from privacy_assistant.stack import free_port, unreachable

__all__ = ["PROJECT_ROOT", "TEST_REDIS_URL", "close_socket", "free_port", "unreachable",
           "wait_until"]

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Database 15 of the machine's Redis: tests use their own keys and never flush it.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of tests/e2e runs the trained model: mark it `model`, so that `make test`
    can run the others while the model trains (`-m "not model"`)."""
    e2e = PROJECT_ROOT / "tests" / "e2e"
    for item in items:
        if item.path.is_relative_to(e2e):
            item.add_marker(pytest.mark.model)


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


def close_socket(client: Any) -> None:
    """Disconnect a python-socketio client without waiting for the long-poll request the
    server holds open (up to its ping interval, 25 s): the disconnect packets are sent as
    `Client.disconnect` sends them, then Engine.IO is closed with `abort`, which skips only
    the wait for the client's read loop."""
    from socketio import packet

    if client.connected:
        for namespace in list(client.namespaces):
            client._send_packet(client.packet_class(packet.DISCONNECT, namespace=namespace))
    client.eio.disconnect(abort=True)


def wait_until(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
    """The first truthy value `condition` returns, asked every `interval` seconds; an
    AssertionError if none comes within `timeout` (for what another process does after the
    test has seen something else: a save, a post, a reply)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {condition}")
        time.sleep(interval)
    return value
