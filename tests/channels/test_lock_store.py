"""Replicas sharing conversation locks in Redis (rasa_server/lock_store.py), from the side of
the race: several replicas draw tickets for one conversation at the same moment. Each ticket
must be drawn once, or two replicas handle the same conversation at once. Rasa's own
`RedisLockStore` is run through the same race as the control that shows the race is real."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT_ROOT, TEST_REDIS_URL, unreachable

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
RACE = PROJECT_ROOT / "tests" / "channels" / "lock_race.py"
REPLICAS, DRAWS = 4, 100


def _race(kind: str) -> dict[str, Any]:
    if not RASA_PYTHON.is_file():
        pytest.fail(f"{RASA_PYTHON} is missing: run `make install`")
    done = subprocess.run([str(RASA_PYTHON), str(RACE), TEST_REDIS_URL, kind, str(REPLICAS),
                           str(DRAWS)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(autouse=True)
def _redis() -> None:
    reason = unreachable(TEST_REDIS_URL)
    if reason:
        pytest.skip(reason)


def test_every_ticket_is_drawn_once_by_replicas_racing_for_one_conversation() -> None:
    result = _race("shared")
    assert result == {"drawn": REPLICAS * DRAWS, "distinct": REPLICAS * DRAWS, "twice": 0,
                      "left_behind": False}


def test_rasas_own_redis_lock_store_draws_tickets_twice_in_the_same_race() -> None:
    # The control: without the atomic draw, the same race hands one ticket to two replicas.
    assert _race("rasa")["twice"] > 0


def test_endpoints_use_the_shared_lock_store_with_redis_url() -> None:
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text("utf-8"))
    assert endpoints["lock_store"] == {"type": "rasa_server.lock_store.SharedLockStore",
                                       "url": "${REDIS_URL}"}
