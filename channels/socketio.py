"""Rasa's socket.io channel for the website widget, with its session bound to the browser.

Rasa 3.6's own channel trusts any `session_id` a client names: whoever knows a visitor's id
joins that conversation's room, reads the bot's and the agent's messages live, and writes
into it with the visitor's verified status. Here the server issues every session:

* `session_request` with no token, or with a token that does not verify, gets a new random
  conversation id and a token for it: a JWT (PyJWT, HS256) signed with
  `WIDGET_SESSION_SECRET` whose subject is the id. The widget keeps the token, not the id,
  and sends it again after a reload; a valid token resumes its own conversation.
* The conversation a socket talks in is kept on the server, in the socket's session; a
  `session_id` in a `user_uttered` payload is ignored. A socket that has not been issued a
  session receives nothing and writes nothing.
* `end_session` restarts the conversation (every slot is cleared, the verified address
  with them), leaves its room and forgets the binding, and revokes the conversation's
  tokens (`EndedSessions`, in Redis with replicas): a token kept or copied from before is
  refused from then on, and a socket still bound to the conversation writes nothing. The
  widget then forgets its history and token and asks for a new session. With
  `{"erase": true}` ("Delete chat") the channel then asks the backend to erase the
  conversation (`POST /api/v1/conversations/{id}/erase` with the assistant's token): the
  socket's own conversation, never one the client names.
  The backend keeps a conversation in which an address was verified (it belongs to that
  person's requests); `session_ended` says `{"erased": true|false, "reason": ...}`.
* A browser that sends Global Privacy Control (`Sec-GPC: 1` on the handshake, or `"gpc":
  true` in `session_request`) has the opt-out of sale and sharing recorded for its
  conversation, in the background (`channels/privacy_signals.py`); `session_confirm` says
  `"gpc": true` so the widget shows that the signal is honoured.

Client input is checked before Rasa sees it: the message must be text of at most
`MAX_MESSAGE_CHARS`, and metadata a JSON object of at most `MAX_METADATA_CHARS`; anything
else is refused with an `error` event and changes nothing.

Floods are refused (`channels/limits.py`): per client address, connections and session
requests past `WIDGET_SESSIONS_PER_IP_PER_MINUTE` (a refused connection; `error`
`too_many_sessions`) and messages past `WIDGET_MESSAGES_PER_IP_PER_MINUTE` (`error`
`too_many_messages`); per conversation, turns past `CONVERSATION_TURNS_PER_HOUR` (`error`
`conversation_limit`). Each `error` carries `retry_after` (seconds); the widget says so. The
engine.io buffer is limited to `RASA_MAX_BODY_BYTES`, as Sanic's bodies are.

It also fixes two Rasa 3.6 bugs: `enter_room` is awaited (RasaHQ/rasa#13027: without it
no bot message reaches a persistent session), and custom payloads are sent as
`{"custom": {...}}` (Rasa passes them as keyword arguments to `emit`, which raises). A
response's text goes out as one message: Rasa's output splits text at blank lines, which cuts
a quoted passage into several bubbles.

With `redis_url` (`REDIS_URL`) set, the socket.io server's client manager is python-socketio's
`AsyncRedisManager`: a message emitted on one Rasa replica (a bot reply, or an agent's
message sent through the HTTP API of whichever replica the load balancer chose) is published
on Redis and delivered by the replica that holds the visitor's socket. Rasa 3.6 builds its
`AsyncServer` without a client manager and has no option for one, so the channel swaps it in
before the first connection (the server starts its manager on the first connection).

The channel keeps the name `socketio`, so `output_channel=socketio` in the HTTP API (agent
messages, trigger_intent) finds it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint
from socketio import exceptions as sio_exceptions

from channels.backend import UNREACHABLE, Backend
from channels.limits import MAX_MESSAGE_CHARS, ChannelLimits, RateLimiter, max_body_bytes
from channels.privacy_signals import GpcRecorder, gpc_signal
from channels.widget_sessions import (
    MAX_METADATA_CHARS,
    SESSION_DAYS,
    EndedSessions,
    checked_metadata,
    client_address,
    issue_token,
    session_of,
)
from privacy_assistant.secret_files import WIDGET_SESSION_SECRET

logger = logging.getLogger(__name__)

ERASE_TIMEOUT_SECONDS = 10.0
# The Redis pub/sub channel on which replicas pass each other the messages they emit.
SOCKETIO_CHANNEL = "privacy-assistant:socketio"
__all__ = ["MAX_METADATA_CHARS", "SESSION_DAYS", "WidgetSocketIOInput", "checked_metadata",
           "issue_token", "session_of"]


class WidgetSocketIOOutput(SocketIOOutput):
    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """One message per response (Rasa splits at blank lines, cutting a quote apart)."""
        await self._send_message(recipient_id, {"text": text.strip()})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self.sio.emit(self.bot_message_evt, {"custom": json_message}, room=recipient_id)


class WidgetSocketIOInput(SocketIOInput):
    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SocketIOInput:
        channel = super().from_credentials(credentials)
        secret = str((credentials or {}).get("session_secret") or "")
        if not secret:
            # Without a configured secret the sessions last as long as this process: a
            # restart asks every widget to start a new conversation.
            logger.warning("socket.io: no session_secret (WIDGET_SESSION_SECRET); widget "
                           "sessions will not survive a restart of the Rasa server")
            secret = secrets.token_urlsafe(32)
        if len(secret) < WIDGET_SESSION_SECRET.min_chars:
            raise ValueError("the socket.io channel's session_secret (WIDGET_SESSION_SECRET) "
                             f"needs at least {WIDGET_SESSION_SECRET.min_chars} characters")
        channel.session_secret = secret  # type: ignore[attr-defined]
        # Where "Delete chat" is sent: the backend, with the assistant's token.
        channel.backend = Backend(str((credentials or {}).get("backend_url") or ""),  # type: ignore[attr-defined]
                                  str((credentials or {}).get("backend_token") or ""))
        # Records a browser's Global Privacy Control signal through the same backend.
        channel.gpc = GpcRecorder(channel.backend)  # type: ignore[attr-defined]
        # Where replicas share their rooms; empty: the rooms live in this process.
        redis_url = str((credentials or {}).get("redis_url") or "")
        channel.redis_url = redis_url  # type: ignore[attr-defined]
        channel.ended = EndedSessions(redis_url)  # type: ignore[attr-defined]
        limits = ChannelLimits.from_env()
        channel.limiters = {  # type: ignore[attr-defined]
            "connect": RateLimiter(limits.widget_sessions_per_ip_per_minute, 60, redis_url,
                                   "privacy-assistant:limit:connect:"),
            "session": RateLimiter(limits.widget_sessions_per_ip_per_minute, 60, redis_url,
                                   "privacy-assistant:limit:session:"),
            "message": RateLimiter(limits.widget_messages_per_ip_per_minute, 60, redis_url,
                                   "privacy-assistant:limit:message:"),
            "turn": RateLimiter(limits.conversation_turns_per_hour, 3600, redis_url,
                                "privacy-assistant:limit:turn:"),
        }
        return channel

    async def erase(self, session_id: str) -> dict[str, Any]:
        """Ask the backend to erase the conversation; what `session_ended` tells the widget."""
        backend: Backend = self.backend  # type: ignore[attr-defined]
        if not backend.configured:
            return {"erased": False, "reason": "unavailable"}
        try:
            status = await backend.post(f"/api/v1/conversations/{session_id}/erase",
                                        timeout=ERASE_TIMEOUT_SECONDS)
        except UNREACHABLE as exc:
            logger.warning("the backend did not erase a chat: %s", type(exc).__name__)
            return {"erased": False, "reason": "unavailable"}
        if status == 200:
            return {"erased": True, "reason": None}
        if status == 409:
            return {"erased": False, "reason": "verified"}
        logger.warning("the backend answered %d to erasing a chat", status)
        return {"erased": False, "reason": "unavailable"}

    def get_output_channel(self) -> SocketIOOutput | None:
        if self.sio is None:
            return super().get_output_channel()
        return WidgetSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None
        redis_url: str = getattr(self, "redis_url", "")
        if redis_url:
            manager = socketio.AsyncRedisManager(redis_url, channel=SOCKETIO_CHANNEL)
            manager.set_server(sio)
            sio.manager = manager
        # engine.io's own buffer (1 MB by default), as small as Sanic's bodies.
        sio.eio.max_http_buffer_size = max_body_bytes()
        secret: str = self.session_secret  # type: ignore[attr-defined]
        ended: EndedSessions = self.ended  # type: ignore[attr-defined]
        limiters: dict[str, RateLimiter] = self.limiters  # type: ignore[attr-defined]
        recorder: GpcRecorder = self.gpc  # type: ignore[attr-defined]

        async def refuse(sid: str, reason: str, retry_after: int | None = None) -> None:
            body: dict[str, Any] = {"error": reason}
            if retry_after is not None:
                body["retry_after"] = retry_after
            await sio.emit("error", body, room=sid)

        def address(sid: str) -> str:
            return client_address(sio.get_environ(sid, namespace=self.namespace))

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: Any, auth: Any = None) -> bool:
            if await limiters["connect"].hit(client_address(environ)):
                raise sio_exceptions.ConnectionRefusedError("too_many_sessions")
            return True

        async def bound_session(sid: str) -> str | None:
            try:
                session = await sio.get_session(sid, namespace=self.namespace)
            except KeyError:
                return None
            value = session.get("session_id") if isinstance(session, dict) else None
            return value if isinstance(value, str) else None

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            wait = await limiters["session"].hit(address(sid))
            if wait:
                await refuse(sid, "too_many_sessions", wait)
                return
            token = data.get("session_token") if isinstance(data, dict) else None
            session_id = session_of(secret, token)
            if session_id is None or await ended.ended(session_id):
                session_id = secrets.token_hex(16)
            previous = await bound_session(sid)
            if previous is not None and previous != session_id:
                await sio.leave_room(sid, previous, namespace=self.namespace)
            await sio.save_session(sid, {"session_id": session_id}, namespace=self.namespace)
            await sio.enter_room(sid, session_id, namespace=self.namespace)
            gpc = gpc_signal(sio.get_environ(sid, namespace=self.namespace), data)
            if gpc:
                recorder.record(session_id)  # in the background: the chat does not wait
            await sio.emit("session_confirm",
                           {"session_id": session_id,
                            "session_token": issue_token(secret, session_id), "gpc": gpc},
                           room=sid)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            sender_id = await bound_session(sid)
            if sender_id is None:
                await refuse(sid, "no_session")
                return
            wait = await limiters["message"].hit(address(sid))
            if wait:
                await refuse(sid, "too_many_messages", wait)
                return
            if await ended.ended(sender_id):
                # Ended from another socket: this one's binding goes with it.
                await sio.leave_room(sid, sender_id, namespace=self.namespace)
                await sio.save_session(sid, {}, namespace=self.namespace)
                await refuse(sid, "no_session")
                return
            if not isinstance(data, dict):
                await refuse(sid, "bad_message")
                return
            text = data.get("message", "")
            if not isinstance(text, str) or len(text) > MAX_MESSAGE_CHARS:
                await refuse(sid, "bad_message")
                return
            metadata = checked_metadata(data.get(self.metadata_key))
            if metadata is None:
                await refuse(sid, "bad_metadata")
                return
            # `slack` is what the Slack channel says about a staff member; a widget's word
            # for it counts for nothing, so it is not kept.
            metadata.pop("slack", None)
            wait = await limiters["turn"].hit(sender_id)
            if wait:
                await refuse(sid, "conversation_limit", wait)
                return
            await on_new_message(UserMessage(
                text, WidgetSocketIOOutput(sio, self.bot_message_evt),
                sender_id, input_channel=self.name(), metadata=metadata))

        @sio.on("end_session", namespace=self.namespace)
        async def end_session(sid: str, data: Any = None) -> None:
            session_id = await bound_session(sid)
            if session_id is None:
                await refuse(sid, "no_session")
                return
            # `/restart` resets the tracker: the slots, and the verified address with them.
            await on_new_message(UserMessage(
                "/restart", CollectingOutputChannel(), session_id, input_channel=self.name()))
            # Every token issued for the conversation is refused from now on.
            await ended.end(session_id)
            await sio.leave_room(sid, session_id, namespace=self.namespace)
            await sio.save_session(sid, {}, namespace=self.namespace)
            outcome: dict[str, Any] = {}
            if isinstance(data, dict) and data.get("erase") is True:
                # The socket's own conversation: a `session_id` in `data` is never read.
                outcome = await self.erase(session_id)
            await sio.emit("session_ended", outcome, room=sid)
            logger.debug("a widget ended its conversation")

        return blueprint
