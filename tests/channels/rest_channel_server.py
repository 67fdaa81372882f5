"""Serve the REST channel named in credentials.yml the way the Rasa server does, with a
stand-in agent that records every message it is handed and echoes it back (after a second
when the message asks it to be slow, so that copies of one turn overlap).

Run with the Rasa environment's Python: `rest_channel_server.py PORT`. `GET /received`
lists what the agent was handed. Exits non-zero if the channel refuses its credentials.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rasa.core.channels.channel import UserMessage, register  # noqa: E402
from sanic import Sanic, response  # noqa: E402
from sanic.request import Request  # noqa: E402
from sanic.response import HTTPResponse  # noqa: E402

from tests.channels.served import channels_named  # noqa: E402


class RecordingAgent:
    """What `register`'s handler calls: `agent.handle_message(message)`."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def handle_message(self, message: UserMessage) -> None:
        record = {"sender_id": message.sender_id, "text": message.text}
        if message.text and "slow" in message.text:
            record["message_id"] = message.message_id
            await asyncio.sleep(1)
        self.received.append(record)
        await message.output_channel.send_text_message(message.sender_id,
                                                       f"echo: {message.text}")



def main() -> None:
    port = int(sys.argv[1])
    channels = channels_named("rest")
    app = Sanic("rest_channel_under_test", configure_logging=False)
    agent = RecordingAgent()
    app.ctx.agent = agent
    register(channels, app, route="/webhooks/")

    @app.get("/received")
    async def received(request: Request) -> HTTPResponse:
        return response.json(agent.received)

    app.run(host="127.0.0.1", port=port, access_log=False, motd=False)


if __name__ == "__main__":
    main()
