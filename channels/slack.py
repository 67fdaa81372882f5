"""The Slack channel: staff ask privacy questions in a DM or by mentioning the bot, and the
answer goes in the thread they asked in. It replaces Rasa 3.6's `SlackInput`, which gets
several things wrong; each is fixed here and tested in tests/channels/test_slack.py:

* **Deduplication.** Slack redelivers an event it thinks was not acknowledged, and sometimes
  the same message under a new `event_id`; a mention in a channel the app reads arrives as
  both `message` and `app_mention`. Rasa answers each copy. Here an event is taken once per
  `event_id` and once per `(channel, ts)`, claimed with an atomic set-if-absent in Redis when
  `REDIS_URL` is set (so several Rasa replicas share it), else in this process.
* **One reply, one post.** Rasa's Slack output cuts a reply at every blank line into several
  posts. Here a reply is one post in Block Kit (the quote, then its heading as a link), with
  the plain text as the fallback Slack shows in notifications.
* **Acknowledged at once.** Slack expects a 200 within 3 s and retries otherwise; the answer
  is worked out in a background task after the acknowledgement.
* **No server errors.** Slash commands get a short ephemeral help text, button clicks on the
  bot's own buttons become the button's message, any other interactivity payload is
  acknowledged and ignored.
* **Never answers a bot**, itself included (`bot_id`, `subtype`, or the bot's own user id).
* **Rate limits.** At most one post a second per channel from this process, and a 429 is
  retried after its `Retry-After` (slack_sdk's retry handler).

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
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

CHANNEL_NAME = "slack"
SEEN_SECONDS = 24 * 3600  # how long an event id or message stays claimed (Slack retries for ~1 h)
THREAD_SECONDS = 7 * 24 * 3600  # a thread the bot answered in stays a conversation this long
USER_CACHE_SECONDS = 600
MEMBERS_CACHE_SECONDS = 60
POST_INTERVAL_SECONDS = 1.0  # Slack's limit for chat.postMessage: about one a second per channel
SECTION_CHARS = 3000  # the most text a Block Kit section holds
MAX_TEXT_CHARS = 4000
BUTTON_ACTION = "rasa_button"
# Answers end with "— Heading (link)" (utter_answer_from_statement): shown as a link in Slack.
_CITATION_LINE = re.compile(r"^— (?P<heading>.+) \((?P<link>https?://\S+)\)$")
_MENTION = re.compile(r"<@(?P<user>[A-Z0-9]+)(?:\|[^>]*)?>")

SLASH_COMMAND_HELP = (
    "I answer privacy questions in a direct message, or when you mention me in a channel; "
    "I reply in the thread. Try: _a customer emailed asking us to delete their data, what "
    "do I do?_")


def conversation_id(team: str, channel: str, thread_ts: str | None) -> str:
    """The Rasa conversation of a DM (no thread) or of one thread in a channel."""
    return f"slack:{team}:{channel}" + (f":{thread_ts}" if thread_ts else "")


def escape(text: str) -> str:
    """Slack's mrkdwn escapes: &, < and > are control characters there."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chunks(text: str, size: int = SECTION_CHARS) -> Iterator[str]:
    """`text` in pieces of at most `size` characters, cut at line breaks where possible."""
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        cut = cut if cut > 0 else size
        yield text[:cut]
        text = text[cut:].lstrip("\n")
    if text:
        yield text


def blocks_for(text: str, buttons: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """A reply as Block Kit: its text in sections, a closing citation line as a linked
    heading, and its buttons (each sends its payload back, as in the web widget)."""
    lines = text.strip().split("\n")
    citation = _CITATION_LINE.match(lines[-1]) if lines else None
    body = "\n".join(lines[:-1] if citation else lines).strip()
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": part, "verbatim": True}}
        for part in chunks(escape(body))]
    if citation:
        blocks.append({"type": "context", "elements": [{
            "type": "mrkdwn",
            "text": f"— <{citation['link']}|{escape(citation['heading'])}>"}]})
    if buttons:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "action_id": f"{BUTTON_ACTION}_{i}",
             "text": {"type": "plain_text", "text": str(b.get("title", ""))[:75]},
             "value": str(b.get("payload", ""))[:2000]}
            for i, b in enumerate(buttons[:5])]})
    return blocks


class SeenStore:
    """Claims: `claim(key)` is True for the first caller only, for `ttl` seconds. In Redis
    (`SET key NX EX`, atomic, shared by every replica) when a URL is given, else in this
    process."""

    def __init__(self, redis_url: str = "", prefix: str = "privacy-assistant:slack:") -> None:
        self.prefix = prefix
        self._local: dict[str, float] = {}
        self._redis: Any = None
        if redis_url:
            from redis.asyncio import Redis  # the Rasa environment has redis for its stores

            self._redis = Redis.from_url(redis_url)

    async def claim(self, key: str, ttl: int = SEEN_SECONDS) -> bool:
        if self._redis is not None:
            return bool(await self._redis.set(self.prefix + key, b"1", nx=True, ex=ttl))
        now = time.monotonic()
        if len(self._local) > 50_000:
            self._local = {k: t for k, t in self._local.items() if t > now}
        if self._local.get(key, 0.0) > now:
            return False
        self._local[key] = now + ttl
        return True

    async def mark(self, key: str, ttl: int) -> None:
        if self._redis is not None:
            await self._redis.set(self.prefix + key, b"1", ex=ttl)
        else:
            self._local[key] = time.monotonic() + ttl

    async def has(self, key: str) -> bool:
        if self._redis is not None:
            return bool(await self._redis.exists(self.prefix + key))
        return self._local.get(key, 0.0) > time.monotonic()


class Pacer:
    """At most one post per `interval` seconds to each Slack channel from this process."""

    def __init__(self, interval: float = POST_INTERVAL_SECONDS) -> None:
        self.interval = interval
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    @asynccontextmanager
    async def turn(self, channel: str) -> Any:
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            wait = self._last.get(channel, 0.0) + self.interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                self._last[channel] = time.monotonic()


@dataclass(frozen=True)
class Turn:
    """A message the bot answers: who wrote what, where, and in which conversation."""

    team: str
    user: str
    channel: str
    text: str
    ts: str
    thread_ts: str | None  # the thread the reply goes in; None in a DM

    @property
    def sender_id(self) -> str:
        return conversation_id(self.team, self.channel, self.thread_ts)


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


class SlackThreadOutput(OutputChannel):
    """The bot's replies to one conversation: posts in its DM or thread."""

    def __init__(self, web: SlackWeb, turn: Turn) -> None:
        self.web = web
        self.turn = turn

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.web.post(self.turn.channel, text, thread_ts=self.turn.thread_ts,
                            blocks=blocks_for(text))

    async def send_text_with_buttons(self, recipient_id: str, text: str,
                                     buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        await self.web.post(self.turn.channel, text, thread_ts=self.turn.thread_ts,
                            blocks=blocks_for(text, buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, image)

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, str(attachment))

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any],
                               **kwargs: Any) -> None:
        """`ask_privacy_team` posts the question to the privacy team's channel with a link
        back to this thread; the citation the answers also carry as data is already shown
        as the reply's linked heading."""
        ask = json_message.get("ask_privacy_team")
        if isinstance(ask, dict):
            await self.ask_privacy_team(str(ask.get("question") or "").strip())

    async def ask_privacy_team(self, question: str) -> None:
        turn, web = self.turn, self.web
        if not web.privacy_channel:
            await self.send_text_message(
                turn.sender_id, "No privacy team channel is set up for me to ask; please "
                "ask your privacy team directly.")
            return
        link = await web.permalink(turn.channel, turn.thread_ts or turn.ts)
        asked = question or "(no question given)"
        text = (f"<@{turn.user}> asked a privacy question the documents don't answer:\n"
                f"> {escape(asked)}\n<{link}|Answer in the thread>")
        posted = await web.post(web.privacy_channel, text, blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_CHARS]}}])
        reply = (f"I've asked the privacy team in <#{web.privacy_channel}>; someone will "
                 "answer here." if posted else
                 f"I couldn't post to <#{web.privacy_channel}> just now; please ask there.")
        await self.web.post(turn.channel, reply, thread_ts=turn.thread_ts)


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
