"""The claim store both channels share (`channels/claims.py`), in its in-process form: the
Redis form is exercised by the replica tests of tests/channels/test_rest.py and test_slack.py."""

from __future__ import annotations

import asyncio

import pytest

from channels import claims
from channels.claims import ClaimStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    ticking = Clock()
    monkeypatch.setattr(claims.time, "monotonic", ticking)
    return ticking


def test_a_claim_is_the_first_callers_until_it_expires(clock: Clock) -> None:
    store = ClaimStore(prefix="test:")

    async def scenario() -> list[bool]:
        taken = [await store.claim("k", 10), await store.claim("k", 10)]
        clock.now += 10
        return [*taken, await store.claim("k", 10)]

    assert asyncio.run(scenario()) == [True, False, True]


def test_values_are_kept_renewed_and_forgotten(clock: Clock) -> None:
    store = ClaimStore()

    async def scenario() -> list[object]:
        await store.claim("turn", 10, b"pending")
        clock.now += 8
        await store.renew("turn", b"pending", 10)  # still held: kept for another 10 s
        clock.now += 8
        held = (await store.get("turn"), await store.has("turn"))
        await store.put("turn", b"answer", 5)
        answered = await store.get("turn")
        clock.now += 5
        await store.renew("turn", b"pending", 10)  # expired: a renewal does not bring it back
        return [held, answered, await store.get("turn"), await store.has("turn")]

    assert asyncio.run(scenario()) == [(b"pending", True), b"answer", None, False]


def test_expired_claims_are_dropped_once_the_store_is_large(
        clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(claims, "MAX_LOCAL_KEYS", 3)
    store = ClaimStore()

    async def scenario() -> None:
        for n in range(4):
            await store.claim(f"old-{n}", 1)
        clock.now += 2
        await store.claim("new", 1)

    asyncio.run(scenario())
    assert list(store._local) == ["new"]
