"""Rasa's REST channel behind a bearer token, for server-to-server use and tests.

Rasa 3.6's own REST channel takes a message from anyone who can reach the server, with a
sender id of their choice: whoever knows a visitor's id can write into that conversation.
This channel keeps the name `rest` (so the webhook stays at `/webhooks/rest/webhook`) and
refuses any request to the webhook without `Authorization: Bearer <REST_CHANNEL_TOKEN>`:
401 with a JSON error, before the body is read, so nothing reaches the tracker. The token
is compared in constant time. The health route (`GET /webhooks/rest/`) stays open.

**A caller cannot speak for another channel.** Rasa's REST channel takes `input_channel` and
`metadata` from the body; with `"input_channel": "slack"` and Slack-shaped metadata a caller
would pass for a member of the privacy team (`actions/staff.py` trusts the Slack channel's
word). Here every turn is reported as channel `rest`, and the body's `input_channel` and
`metadata` are ignored: no action reads a REST caller's metadata.

**A message is at most `MAX_MESSAGE_CHARS` (5,000) characters**, as on the widget's socket:
a longer one is refused with 413 (`MessageTooLong`) and reaches nothing (20 kB of text would
cost the NLU pipeline seconds of CPU a turn).

**A busy conversation does not grow without bound:** past `CONVERSATION_TURNS_PER_HOUR`
turns of one sender within the hour (`channels/limits.py`), a message is refused with 429
(`TooManyTurns`, `Retry-After`) and reaches nothing.

credentials.yml gives the token as `token: ${REST_CHANNEL_TOKEN}`; the channel refuses to
start without one of at least `MIN_TOKEN_CHARS` characters (`make run` generates one into
`var/rest_channel_token`).

**A retried turn is handled once.** A caller may send `"message_id"` (1-100 letters, digits
or `_.:-`) with a message. The first attempt with a given (sender, message id) claims it
with a lease of `LEASE_SECONDS`, renewed while the turn runs, and the answer is kept for
`ANSWER_SECONDS` after it; any other attempt (a client's retry, or the load balancer's
resend after a replica died) returns that answer instead of handling the message again, or
waits for it while the first attempt runs. When the first attempt's replica died, its lease
lapses: the next attempt claims the turn, and if the conversation's tracker already holds
the message (Rasa saved the turn, then the replica died before answering), it answers with
the bot messages that followed it, replayed through the output channel as Rasa does;
otherwise it handles the message. An answer whose conversation was erased while its turn
ran (the erasure's mark in the tracker store, `privacy_assistant.tombstones`, is newer than
the turn's start) is not kept: the erasure could not name that turn, so nothing would
delete it. The claims and answers live in Redis when `redis_url`
(`REDIS_URL`) is set, shared by every replica, else in this process. Without a message id a
message is handled every time it is sent, as in Rasa.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.claims import ClaimStore
from channels.limits import MAX_MESSAGE_CHARS, ChannelLimits, RateLimiter
from privacy_assistant import tombstones
from privacy_assistant.secret_files import REST_CHANNEL_TOKEN

logger = logging.getLogger(__name__)

MIN_TOKEN_CHARS = REST_CHANNEL_TOKEN.min_chars
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
LEASE_SECONDS = 10  # a turn's claim lapses this long after its replica stopped renewing it
RENEW_SECONDS = 3
ANSWER_SECONDS = 24 * 3600  # how long a retry gets the first attempt's answer
WAIT_SECONDS = 30  # how long a retry waits for an attempt still running
_PENDING = b"pending"


class Turns(ClaimStore):
    """Claims and answers of turns sent with a message id, keyed by a hash of (sender,
    message id), in a `ClaimStore` (Redis when a URL is given, else this process)."""

    def __init__(self, redis_url: str = "") -> None:
        super().__init__(redis_url, prefix="privacy-assistant:rest:")

    @staticmethod
    def key(sender_id: str, message_id: str) -> str:
        return hashlib.sha256(f"{sender_id}\0{message_id}".encode()).hexdigest()

    async def start(self, key: str) -> bool:
        """Claim the turn for `LEASE_SECONDS`; whether this attempt is the first."""
        return await self.claim(key, LEASE_SECONDS, _PENDING)

    async def keep(self, key: str) -> None:
        """Renew the claim of a turn still running."""
        await self.renew(key, _PENDING, LEASE_SECONDS)

    async def answer(self, key: str) -> list[dict[str, Any]] | None:
        """The stored answer, or None while the turn is claimed or unclaimed."""
        value = await self.get(key)
        if not value or value == _PENDING:
            return None
        stored: list[dict[str, Any]] = json.loads(value)
        return stored

    async def store(self, key: str, messages: list[dict[str, Any]]) -> None:
        await self.put(key, json.dumps(messages).encode(), ANSWER_SECONDS)

    async def forget(self, key: str) -> None:
        await self.drop(key)


class TokenRestInput(RestInput):
    """The REST channel, answering only callers that send the channel's bearer token."""

    def __init__(self, token: str, redis_url: str = "") -> None:
        if len(token) < MIN_TOKEN_CHARS:
            raise ValueError(f"the REST channel's token (REST_CHANNEL_TOKEN) needs at least "
                             f"{MIN_TOKEN_CHARS} characters; `make run` generates one")
        self._token = token.encode("utf-8")
        self.turns = Turns(redis_url)
        self.busy = RateLimiter(ChannelLimits.from_env().conversation_turns_per_hour, 3600,
                                redis_url, "privacy-assistant:limit:rest-turn:")

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TokenRestInput:
        given = credentials or {}
        return cls(str(given.get("token") or "").strip(), str(given.get("redis_url") or ""))

    def authorised(self, request: Request) -> bool:
        """Whether the request carries `Authorization: Bearer <the channel's token>`."""
        scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode("utf-8"), self._token)

    async def handle(self, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                     text: Any, sender_id: Any, input_channel: str, metadata: Any,
                     message_id: str | None = None) -> list[dict[str, Any]]:
        """One turn, its answer collected (what Rasa's REST channel does)."""
        collector = CollectingOutputChannel()
        try:
            await on_new_message(UserMessage(text, collector, sender_id,
                                             input_channel=input_channel, metadata=metadata,
                                             message_id=message_id))
        except asyncio.CancelledError:
            logger.error("a REST turn timed out")
        except Exception:
            logger.exception("a REST turn failed")
        return collector.messages

    async def replayed(self, request: Request, sender_id: str,
                       message_id: str) -> list[dict[str, Any]] | None:
        """The answer to a message the tracker already holds (its turn was saved, then its
        replica died before answering), or None if the tracker does not hold it."""
        store = getattr(getattr(request.app.ctx, "agent", None), "tracker_store", None)
        tracker = await store.retrieve(sender_id) if store is not None else None
        if tracker is None:
            return None
        events = list(tracker.events)
        start = next((i for i, e in enumerate(events)
                      if isinstance(e, UserUttered) and e.message_id == message_id), None)
        if start is None:
            return None
        collector = CollectingOutputChannel()
        for event in events[start + 1:]:
            if isinstance(event, UserUttered):
                break
            if isinstance(event, BotUttered):
                await collector.send_response(sender_id, event.message())
        return collector.messages

    async def handle_once(self, request: Request,
                          on_new_message: Callable[[UserMessage], Awaitable[Any]],
                          text: Any, sender_id: str, input_channel: str, metadata: Any,
                          message_id: str) -> list[dict[str, Any]] | None:
        """The turn handled by the first attempt only; None if it is still running after
        `WAIT_SECONDS`."""
        key = Turns.key(sender_id, message_id)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if await self.turns.start(key):
                started = time.time()
                renewing = asyncio.create_task(self._renew(key))
                try:
                    messages = await self.replayed(request, sender_id, message_id)
                    if messages is None:
                        messages = await self.handle(on_new_message, text, sender_id,
                                                     input_channel, metadata, message_id)
                finally:
                    renewing.cancel()
                if await self.erased_since(request, sender_id, started):
                    await self.turns.forget(key)
                else:
                    await self.turns.store(key, messages)
                return messages
            answered = await self.turns.answer(key)
            if answered is not None:
                return answered
            await asyncio.sleep(0.1)
        return None

    @staticmethod
    async def erased_since(request: Request, sender_id: str, started: float) -> bool:
        """Whether the conversation was erased after `started` (a turn in flight): the
        tracker store's erasure mark says so. A store without marks (in memory) never was;
        a store that cannot be read counts as erased, so nothing is kept that might be."""
        store = getattr(getattr(request.app.ctx, "agent", None), "tracker_store", None)
        engine = getattr(store, "engine", None)
        if engine is None:
            return False
        try:
            through = await asyncio.to_thread(tombstones.erased_through, engine, sender_id)
        except Exception:  # noqa: BLE001 - any database failure: keep nothing
            logger.warning("could not read the erasure marks; the REST answer is not kept")
            return True
        return through is not None and through >= started

    async def _renew(self, key: str) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            await self.turns.keep(key)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        # Rasa's REST routes (health, webhook), with the webhook's turn handled here.
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Any:
            body = request.json if isinstance(request.json, dict) else {}
            sender_id, text = body.get("sender"), body.get("message")
            # The channel is this one, whatever the body claims; a caller's metadata would
            # only serve to pose as another channel's user (Slack's), so none is passed on.
            metadata = None
            input_channel = self.name()
            message_id = body.get("message_id")
            if isinstance(text, str) and len(text) > MAX_MESSAGE_CHARS:
                return response.json(
                    {"status": "failure", "reason": "MessageTooLong",
                     "message": f"A message is at most {MAX_MESSAGE_CHARS} characters."},
                    status=413)
            if (not bool_arg(request, "stream", default=False) and isinstance(sender_id, str)
                    and sender_id and isinstance(message_id, str)
                    and MESSAGE_ID.match(message_id)):
                # A retry of a turn already answered gets that answer again: it is not a new
                # turn, so the conversation's turn limit does not count it.
                answered = await self.turns.answer(Turns.key(sender_id, message_id))
                if answered is not None:
                    return response.json(answered)
            wait = await self.busy.hit(str(sender_id))
            if wait:
                return response.json(
                    {"status": "failure", "reason": "TooManyTurns",
                     "message": "This conversation has had too many turns within the hour; "
                                "try again later."},
                    status=429, headers={"Retry-After": str(wait)})
            if bool_arg(request, "stream", default=False):
                return response.stream(self.stream_response(
                    on_new_message, text, sender_id, input_channel, metadata),
                    content_type="text/event-stream")
            if message_id is None:
                return response.json(await self.handle(on_new_message, text, sender_id,
                                                       input_channel, metadata))
            if not (isinstance(message_id, str) and MESSAGE_ID.match(message_id)
                    and isinstance(sender_id, str) and sender_id):
                return response.json(
                    {"status": "failure", "reason": "BadMessageId",
                     "message": "message_id must be 1-100 letters, digits or _.:- and "
                                "come with a sender."}, status=400)
            messages = await self.handle_once(request, on_new_message, text, sender_id,
                                              input_channel, metadata, message_id)
            if messages is None:
                return response.json(
                    {"status": "failure", "reason": "StillHandling",
                     "message": "This message is still being handled; send it again."},
                    status=409, headers={"Retry-After": "1"})
            return response.json(messages)

        # Blueprint middleware runs for this blueprint's routes only, before the handler:
        # an unauthorised request never reaches Rasa's message handling.
        @webhook.middleware("request")
        async def require_token(request: Request) -> HTTPResponse | None:
            if request.method == "GET" and request.path.rstrip("/").endswith("/rest"):
                return None  # the health route
            if self.authorised(request):
                return None
            return response.json(
                {"status": "failure", "reason": "NotAuthenticated",
                 "message": "Send the REST channel's token as 'Authorization: Bearer <token>'."},
                status=401, headers={"WWW-Authenticate": 'Bearer realm="rasa-rest"'},
            )

        return webhook
