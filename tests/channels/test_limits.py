"""The channels' flood limits (`channels/limits.py`): their defaults are the documented
settings', the counters refuse past the limit until the window ends, and the Sanic limits
`scripts/rasa_run.py` sets come from the settings."""

from __future__ import annotations

import asyncio

import pytest

from channels.limits import (
    DEFAULT_MAX_BODY_BYTES,
    ChannelLimits,
    RateLimiter,
    max_body_bytes,
    sanic_environment,
)
from privacy_assistant.settings import SharedSettings


def test_the_defaults_are_the_settings_defaults() -> None:
    shared = SharedSettings.load({}, env_file=None)
    limits = ChannelLimits()
    for name in ("widget_sessions_per_ip_per_minute", "widget_messages_per_ip_per_minute",
                 "conversation_turns_per_hour"):
        assert getattr(limits, name) == getattr(shared, name), name
    assert shared.rasa_max_body_bytes == DEFAULT_MAX_BODY_BYTES == max_body_bytes({})
    assert shared.rasa_proxies_count == 0


def test_the_environment_sets_the_limits() -> None:
    limits = ChannelLimits.from_env({"CONVERSATION_TURNS_PER_HOUR": "7",
                                     "WIDGET_MESSAGES_PER_IP_PER_MINUTE": ""})
    assert limits.conversation_turns_per_hour == 7
    assert limits.widget_messages_per_ip_per_minute == 120
    with pytest.raises(ValueError):
        ChannelLimits.from_env({"CONVERSATION_TURNS_PER_HOUR": "-1"})


def test_sanic_gets_the_body_limit_and_the_proxies() -> None:
    assert sanic_environment({}) == {"SANIC_REQUEST_MAX_SIZE": "65536",
                                     "SANIC_WEBSOCKET_MAX_SIZE": "65536"}
    found = sanic_environment({"RASA_MAX_BODY_BYTES": "2048", "RASA_PROXIES_COUNT": "1"})
    assert found["SANIC_REQUEST_MAX_SIZE"] == "2048" and found["SANIC_PROXIES_COUNT"] == "1"
    with pytest.raises(ValueError):
        sanic_environment({"RASA_MAX_BODY_BYTES": "10"})


def test_a_counter_refuses_past_its_limit_and_keys_are_apart() -> None:
    async def run() -> None:
        limiter = RateLimiter(3, 60)
        assert [await limiter.hit("a") for _ in range(3)] == [0, 0, 0]
        wait = await limiter.hit("a")
        assert 1 <= wait <= 60
        assert await limiter.hit("b") == 0
        assert await RateLimiter(0, 60).hit("a") == 0  # 0: off

    asyncio.run(run())
