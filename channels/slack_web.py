"""What the Slack channel (`channels.slack`) asks of Slack's Web API: who the bot is
(`auth.test`), who wrote a message (`users.info`), who is on the privacy team
(`conversations.members`), posts (`chat.postMessage`, paced by `channels.pacer`, 429s
retried after their Retry-After) and permalinks. Slack's answers about people are cached
briefly. Runs in the Rasa environment.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from channels.pacer import Pacer

logger = logging.getLogger(__name__)

USER_CACHE_SECONDS = 600
MEMBERS_CACHE_SECONDS = 60
MAX_TEXT_CHARS = 4000  # the longest plain-text fallback a post carries


class SlackWeb:
    """What the channel asks of Slack's Web API, with short-lived caches for who people are
    and who is on the privacy team."""

    def __init__(self, token: str, api_url: str, privacy_channel: str) -> None:
        self.client = AsyncWebClient(
            token=token, base_url=api_url, timeout=10,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3)])
        self.privacy_channel = privacy_channel
        self.pacer = Pacer()
        self._identity: dict[str, Any] | None = None
        self._users: dict[str, tuple[float, dict[str, Any]]] = {}
        self._members: tuple[float, frozenset[str]] | None = None

    async def identity(self) -> dict[str, Any]:
        """`auth.test`: the bot's own user id and the workspace's address, asked once."""
        if self._identity is None:
            found = await self.client.auth_test()
            self._identity = {"user_id": found.get("user_id"), "bot_id": found.get("bot_id"),
                              "url": found.get("url") or "https://slack.com/"}
        return self._identity

    async def person(self, user: str) -> dict[str, Any]:
        """`users.info`: the staff member's name and email (scope users:read.email)."""
        cached = self._users.get(user)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            found = (await self.client.users_info(user=user)).get("user") or {}
        except SlackApiError as error:
            logger.warning("slack: users.info failed: %s", error.response.get("error"))
            return {"user": user}
        profile = found.get("profile") or {}
        person = {"user": user, "name": found.get("real_name") or profile.get("real_name"),
                  "email": profile.get("email")}
        self._users[user] = (time.monotonic() + USER_CACHE_SECONDS, person)
        return person

    async def on_privacy_team(self, user: str) -> bool:
        """Whether `user` is a member of the privacy team's channel (`conversations.members`,
        every page of it)."""
        if not self.privacy_channel:
            return False
        if self._members is None or self._members[0] < time.monotonic():
            members: set[str] = set()
            cursor = ""
            try:
                while True:
                    page = await self.client.conversations_members(
                        channel=self.privacy_channel, limit=200, cursor=cursor or None)
                    members.update(page.get("members") or [])
                    cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
                    if not cursor:
                        break
            except SlackApiError as error:
                logger.warning("slack: conversations.members failed: %s",
                               error.response.get("error"))
                return False
            self._members = (time.monotonic() + MEMBERS_CACHE_SECONDS, frozenset(members))
        return user in self._members[1]

    async def post(self, channel: str, text: str, *, thread_ts: str | None = None,
                   blocks: list[dict[str, Any]] | None = None) -> str | None:
        """One message (in a thread when `thread_ts` is given); its ts, or None if Slack
        refused it after the retries."""
        async with self.pacer.turn(channel):
            try:
                posted = await self.client.chat_postMessage(
                    channel=channel, text=text[:MAX_TEXT_CHARS], thread_ts=thread_ts,
                    blocks=blocks, unfurl_links=False, unfurl_media=False)
            except SlackApiError as error:
                logger.warning("slack: chat.postMessage failed: %s", error.response.get("error"))
                return None
        ts = posted.get("ts")
        return str(ts) if ts else None

    async def permalink(self, channel: str, ts: str) -> str:
        try:
            found = await self.client.chat_getPermalink(channel=channel, message_ts=ts)
            if found.get("permalink"):
                return str(found["permalink"])
        except SlackApiError:
            pass
        base = str((await self.identity())["url"]).rstrip("/")
        return f"{base}/archives/{channel}/p{ts.replace('.', '')}"
