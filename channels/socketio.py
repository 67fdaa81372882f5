"""Rasa's socket.io channel with two Rasa 3.6 bugs fixed, for the website widget.

1. With `session_persistence: true`, Rasa 3.6 calls `sio.enter_room(...)` without `await`;
   since python-socketio 5.10 that is a coroutine, so the browser never joins its session's
   room and receives no bot message at all (RasaHQ/rasa#13027).
2. `send_custom_json` calls `sio.emit(event, **json_message)`, so a response with
   `json_message={"citation": ...}` raises TypeError and the whole turn is lost (not even
   saved in the tracker). Here custom payloads are sent as `{"custom": {...}}`, the shape the
   REST channel uses.

It also sends a response's text as one message: Rasa's socket.io output splits text at blank
lines, which cuts a quoted passage into several bubbles.

The channel keeps the name `socketio`, so `output_channel=socketio` in the HTTP API (agent
messages, trigger_intent) finds it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint


class WidgetSocketIOOutput(SocketIOOutput):
    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """One message per response (Rasa splits at blank lines, cutting a quote apart)."""
        await self._send_message(recipient_id, {"text": text.strip()})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self.sio.emit(self.bot_message_evt, {"custom": json_message}, room=recipient_id)


class WidgetSocketIOInput(SocketIOInput):
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

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: dict | None) -> None:
            data = data or {}
            if not data.get("session_id"):
                data["session_id"] = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, data["session_id"])
            await sio.emit("session_confirm", data["session_id"], room=sid)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: dict) -> None:
            if self.session_persistence:
                if not data.get("session_id"):
                    return
                sender_id = data["session_id"]
            else:
                sender_id = sid
            metadata = data.get(self.metadata_key, {})
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            await on_new_message(UserMessage(
                data.get("message", ""), WidgetSocketIOOutput(sio, self.bot_message_evt),
                sender_id, input_channel=self.name(), metadata=metadata))

        return blueprint
