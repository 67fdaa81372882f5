"""The Slack channel: staff ask privacy questions in a DM or by mentioning the bot, and the
answer goes in the thread they asked in. It replaces Rasa 3.6's `SlackInput`, which gets
several things wrong; each is fixed here and tested in tests/channels/test_slack.py:

* **Deduplication.** Slack redelivers an event it thinks was not acknowledged, and sometimes
  the same message under a new `event_id`; a mention in a channel the app reads arrives as
  both `message` and `app_mention`. Rasa answers each copy. Here an event is taken once per
  `event_id` and once per `(channel, ts)`, claimed with an atomic set-if-absent in Redis when
  `REDIS_URL` is set (so several Rasa replicas share it), else in this process
  (`channels.claims`).
* **One reply, one post.** Rasa's Slack output cuts a reply at every blank line into several
  posts. Here a reply is one post in Block Kit (the quote, then the heading of the answer's
  `citation` payload as a link), with the plain text as the fallback Slack shows in
  notifications (`channels.slack_replies`).
* **Acknowledged at once.** Slack expects a 200 within 3 s and retries otherwise; the answer
  is worked out in a background task after the acknowledgement.
* **No server errors.** Slash commands get a short ephemeral help text, button clicks on the
  bot's own buttons become the button's message, any other interactivity payload is
  acknowledged and ignored.
* **Never answers a bot**, itself included (`bot_id`, `subtype`, or the bot's own user id).
* **Rate limits.** At most one post a second per channel from this process
  (`channels.pacer`), and a 429 is retried after its `Retry-After` (slack_sdk's retry
  handler; the Web API client is `channels.slack_web`).

Every request is checked first: Slack's v0 signature over the raw body, within five minutes
(slack_sdk's `SignatureVerifier`); a bad or stale signature is a 401 and nothing is read.
Events from another workspace than `SLACK_TEAM_ID` (when it is set) are refused with 403.

A conversation is a DM channel, or a thread in a channel: `slack:<team>:<channel>` or
`slack:<team>:<channel>:<thread ts>`. In a channel the bot answers a mention, then every
message in that thread ("tell me more") without needing another mention. Each message
carries, as Rasa metadata, who wrote it (`users.info`: id, name, email) and whether they are a
member of the privacy team's channel (`conversations.members`), so both are recorded with the
conversation; the actions trust them only when Rasa says the message came in on this channel.

Off while `SLACK_BOT_TOKEN` is empty: the webhook then answers 404.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.signature import SignatureVerifier

from channels.claims import ClaimStore
from channels.pacer import Pacer
from channels.slack_replies import (
    BUTTON_ACTION,
    CHANNEL_NAME,
    Citation,
    SlackThreadOutput,
    Turn,
    blocks_for,
    chunks,
    conversation_id,
    escape,
)
from channels.slack_web import SlackWeb

# The names this module has always offered, now defined where their job is.
__all__ = ["BUTTON_ACTION", "CHANNEL_NAME", "Citation", "Pacer", "SeenStore", "SlackStaffInput",
           "SlackThreadOutput", "SlackWeb", "Turn", "blocks_for", "chunks", "conversation_id",
           "escape"]

logger = logging.getLogger(__name__)

SEEN_SECONDS = 24 * 3600  # how long an event id or message stays claimed (Slack retries for ~1 h)
THREAD_SECONDS = 7 * 24 * 3600  # a thread the bot answered in stays a conversation this long
_MENTION = re.compile(r"<@(?P<user>[A-Z0-9]+)(?:\|[^>]*)?>")

SLASH_COMMAND_HELP = (
    "I answer privacy questions in a direct message, or when you mention me in a channel; "
    "I reply in the thread. Try: _a customer emailed asking us to delete their data, what "
    "do I do?_")


class SeenStore(ClaimStore):
    """The events, messages, clicks and threads the channel has taken, in a `ClaimStore`
    (Redis when a URL is given, shared by every replica, else this process)."""

    def __init__(self, redis_url: str = "", prefix: str = "privacy-assistant:slack:") -> None:
        super().__init__(redis_url, prefix)

    async def claim(self, key: str, ttl: int = SEEN_SECONDS, value: bytes = b"1") -> bool:
        return await super().claim(key, ttl, value)

    async def mark(self, key: str, ttl: int) -> None:
        await self.put(key, b"1", ttl)


class SlackStaffInput(InputChannel):
    """Slack's Events API and interactivity at `/webhooks/slack/webhook`."""

    def __init__(self, bot_token: str = "", signing_secret: str = "",
                 api_url: str = "https://slack.com/api/", team_id: str = "",
                 privacy_channel: str = "", redis_url: str = "") -> None:
        self.enabled = bool(bot_token)
        if self.enabled and not signing_secret:
            raise ValueError("the Slack channel needs SLACK_SIGNING_SECRET with SLACK_BOT_TOKEN")
        self.team_id = team_id
        self.verifier = SignatureVerifier(signing_secret or "unset")
        self.web = SlackWeb(bot_token, api_url, privacy_channel) if self.enabled else None
        self.seen = SeenStore(redis_url) if self.enabled else None
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SlackStaffInput:
        given = {k: str(v or "").strip() for k, v in (credentials or {}).items()}
        return cls(bot_token=given.get("bot_token", ""),
                   signing_secret=given.get("signing_secret", ""),
                   api_url=given.get("api_url") or "https://slack.com/api/",
                   team_id=given.get("team_id", ""),
                   privacy_channel=given.get("privacy_channel", ""),
                   redis_url=given.get("redis_url", ""))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack = Blueprint("slack_staff_webhook", __name__)

        @slack.get("/")
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "enabled": self.enabled})

        @slack.post("/webhook")
        async def webhook(request: Request) -> HTTPResponse:
            if not self.enabled:
                return response.json({"ok": False, "error": "slack_not_configured"}, status=404)
            if not self.verifier.is_valid_request(request.body, dict(request.headers)):
                return response.json({"ok": False, "error": "invalid_signature"}, status=401)
            if request.form and "command" in request.form:
                return response.json({"response_type": "ephemeral", "text": SLASH_COMMAND_HELP})
            if request.form and "payload" in request.form:
                return await self._interaction(request.form.get("payload"), on_new_message)
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                return response.json({"ok": False, "error": "invalid_json"}, status=400)
            if not isinstance(body, dict):
                return response.json({"ok": False, "error": "invalid_json"}, status=400)
            if body.get("type") == "url_verification":
                return response.json({"challenge": str(body.get("challenge", ""))})
            if body.get("type") != "event_callback":
                return response.text("")
            if self.team_id and body.get("team_id") != self.team_id:
                return response.json({"ok": False, "error": "wrong_workspace"}, status=403)
            event_id = str(body.get("event_id") or "")
            assert self.seen is not None
            if event_id and not await self.seen.claim(f"event:{event_id}"):
                return response.text("")  # a retry or duplicate of an event already taken
            event = body.get("event")
            if isinstance(event, dict):
                self._start(self._event(str(body.get("team_id") or ""), event, on_new_message))
            return response.text("")

        return slack

    def _start(self, work: Awaitable[None]) -> None:
        """Run `work` after the acknowledgement, keeping a reference until it ends."""
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _event(self, team: str, event: dict[str, Any],
                     on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        try:
            turn = await self._turn_of(team, event)
            if turn is not None:
                await self._answer(turn, turn.text, on_new_message)
        except Exception:  # a failed answer must not take the channel down
            logger.exception("slack: answering an event failed")

    async def _turn_of(self, team: str, event: dict[str, Any]) -> Turn | None:
        """The message to answer in `event`, or None: bots, edits, joins and channel chatter
        that neither mentions the bot nor continues one of its threads are not answered."""
        assert self.web is not None and self.seen is not None
        kind = event.get("type")
        if kind not in ("message", "app_mention"):
            return None
        if event.get("bot_id") or event.get("bot_profile") or event.get("subtype"):
            return None
        user, channel = str(event.get("user") or ""), str(event.get("channel") or "")
        text, ts = str(event.get("text") or ""), str(event.get("ts") or "")
        me = (await self.web.identity()).get("user_id")
        if not user or not channel or not ts or user == me:
            return None
        dm = event.get("channel_type") == "im"
        thread_ts = None if dm else str(event.get("thread_ts") or ts)
        mentioned = kind == "app_mention" or bool(me and f"<@{me}" in text)
        if not dm and not mentioned and not (
                event.get("thread_ts")
                and await self.seen.has(f"thread:{team}:{channel}:{thread_ts}")):
            return None
        # One answer per message: a mention arrives as `message` and as `app_mention`, and a
        # message is sometimes redelivered under a new event id.
        if not await self.seen.claim(f"message:{team}:{channel}:{ts}"):
            return None
        words = _MENTION.sub(lambda m: "" if m["user"] == me else m.group(0), text).strip()
        return Turn(team=team, user=user, channel=channel, text=words, ts=ts,
                    thread_ts=thread_ts)

    async def _answer(self, turn: Turn, text: str,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        assert self.web is not None and self.seen is not None
        if turn.thread_ts:
            await self.seen.mark(f"thread:{turn.team}:{turn.channel}:{turn.thread_ts}",
                                 THREAD_SECONDS)
        person = await self.web.person(turn.user)
        metadata = {"slack": {
            "team": turn.team, "channel": turn.channel, "thread_ts": turn.thread_ts,
            "ts": turn.ts, "dm": turn.thread_ts is None, "user": turn.user,
            "name": person.get("name"), "email": person.get("email"),
            "privacy_team": await self.web.on_privacy_team(turn.user)}}
        await on_new_message(UserMessage(
            text or "hi", SlackThreadOutput(self.web, turn), turn.sender_id,
            input_channel=CHANNEL_NAME, metadata=metadata))

    async def _interaction(self, raw: Any,
                           on_new_message: Callable[[UserMessage], Awaitable[Any]]
                           ) -> HTTPResponse:
        """A click on one of the bot's buttons becomes the button's message in the
        conversation it was posted in; any other interactivity payload is acknowledged."""
        try:
            payload = json.loads(raw or "{}")
        except ValueError:
            return response.text("")
        if not isinstance(payload, dict) or payload.get("type") != "block_actions":
            return response.text("")
        team = str((payload.get("team") or {}).get("id") or "")
        if self.team_id and team != self.team_id:
            return response.json({"ok": False, "error": "wrong_workspace"}, status=403)
        actions = [a for a in payload.get("actions") or []
                   if isinstance(a, dict) and str(a.get("action_id", "")).startswith(BUTTON_ACTION)]
        container = payload.get("container") or {}
        user = str((payload.get("user") or {}).get("id") or "")
        channel = str(container.get("channel_id") or (payload.get("channel") or {}).get("id") or "")
        message_ts = str(container.get("message_ts") or "")
        if not actions or not user or not channel or not message_ts:
            return response.text("")
        assert self.seen is not None
        click = str(actions[0].get("action_ts") or payload.get("trigger_id") or "")
        if not await self.seen.claim(f"click:{team}:{channel}:{message_ts}:{click}"):
            return response.text("")
        # Slack names a DM's channel "directmessage"; DM channel ids start with D.
        dm = ((payload.get("channel") or {}).get("name") == "directmessage"
              or channel.startswith("D"))
        thread_ts = None if dm else str(container.get("thread_ts")
                                        or (payload.get("message") or {}).get("thread_ts")
                                        or message_ts)
        turn = Turn(team=team, user=user, channel=channel, text="", ts=message_ts,
                    thread_ts=thread_ts)
        value = str(actions[0].get("value") or "")
        self._start(self._clicked(turn, value, on_new_message))
        return response.text("")

    async def _clicked(self, turn: Turn, value: str,
                       on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        try:
            await self._answer(turn, value, on_new_message)
        except Exception:
            logger.exception("slack: answering a button failed")

    def get_output_channel(self) -> OutputChannel | None:
        return None  # replies need the thread; the HTTP API cannot name one
