"""The Slack app manifest a company creates its app from (slack/app-manifest.yml) asks for
what the channel uses and sends Slack to the channel's webhook."""

from __future__ import annotations

from typing import Any

import yaml

from tests.conftest import PROJECT_ROOT

MANIFEST = PROJECT_ROOT / "slack" / "app-manifest.yml"


def _manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text("utf-8"))
    return loaded


def test_the_manifest_asks_for_the_scopes_the_channel_uses() -> None:
    scopes = set(_manifest()["oauth_config"]["scopes"]["bot"])
    # The list, and the read scopes conversations.members needs for the privacy
    # team's channel (public or private).
    assert scopes == {"app_mentions:read", "chat:write", "im:history", "channels:history",
                      "groups:history", "users:read", "users:read.email", "channels:read",
                      "groups:read"}


def test_events_and_buttons_go_to_the_channels_webhook() -> None:
    settings = _manifest()["settings"]
    events = settings["event_subscriptions"]
    assert events["request_url"].endswith("/webhooks/slack/webhook")
    assert set(events["bot_events"]) == {"app_mention", "message.im", "message.channels",
                                         "message.groups"}
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"] == events["request_url"]
    assert settings["socket_mode_enabled"] is False
    assert _manifest()["features"]["app_home"]["messages_tab_enabled"] is True
