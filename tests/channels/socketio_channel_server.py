"""Serve the socket.io channel named in credentials.yml the way the Rasa server does, with a
stand-in agent that records every message it is handed and echoes it back.

Run with the Rasa environment's Python: `socketio_channel_server.py PORT`. `GET /received`
lists what the agent was handed (the conversation and the text).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rasa.core.channels.channel import UserMessage  # noqa: E402

from tests.channels.served import RecordingAgent, serve  # noqa: E402


class EchoAgent(RecordingAgent):
    async def handle_message(self, message: UserMessage) -> None:
        self.received.append({"sender_id": message.sender_id, "text": message.text})
        await message.output_channel.send_text_message(message.sender_id,
                                                       f"echo: {message.text}")


if __name__ == "__main__":
    serve("socketio", EchoAgent())
