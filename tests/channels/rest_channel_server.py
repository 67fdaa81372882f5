"""Serve the REST channel named in credentials.yml the way the Rasa server does, with a
stand-in agent that records every message it is handed and echoes it back (after a second
when the message asks it to be slow, so that copies of one turn overlap).

Run with the Rasa environment's Python: `rest_channel_server.py PORT`. `GET /received`
lists what the agent was handed. Exits non-zero if the channel refuses its credentials.

With `TEST_TRACKER_DB` (a SQLite file) the agent has a tracker store with Rasa's
`engine` and no conversations, and a message that says "erased mid-turn" has the
conversation erased while its turn runs: the agent writes the erasure's mark as the backend
does (`privacy_assistant.tombstones`).

A message about the handbook is answered as the assistant answers it (`actions/staff.py`):
the handbook for a member of the privacy team (channel `slack` with Slack's metadata), a
refusal for anyone else; the channel and metadata it came with are recorded too.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rasa.core.channels.channel import UserMessage  # noqa: E402

from privacy_assistant import tombstones  # noqa: E402
from tests.channels.served import RecordingAgent, serve  # noqa: E402


class MarksOnlyStore:
    """A tracker store with Rasa's `engine` attribute that holds no conversation."""

    def __init__(self, path: str) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(f"sqlite:///{path}")

    async def retrieve(self, sender_id: str) -> None:
        return None


class EchoAgent(RecordingAgent):
    """Records every message, then echoes it (after a second when it asks to be slow)."""

    def __init__(self) -> None:
        super().__init__()
        if os.environ.get("TEST_TRACKER_DB"):
            self.tracker_store = MarksOnlyStore(os.environ["TEST_TRACKER_DB"])

    async def handle_message(self, message: UserMessage) -> None:
        if message.text and "erased mid-turn" in message.text:
            store = self.tracker_store
            tombstones.ensure_table(store.engine)
            with store.engine.begin() as conn:
                now = time.time()
                tombstones.mark(conn, {message.sender_id: now}, now)
        record = {"sender_id": message.sender_id, "text": message.text}
        if message.text and "handbook" in message.text:
            record.update(input_channel=message.input_channel, metadata=message.metadata)
            self.received.append(record)
            staff = message.input_channel == "slack" and "slack" in (message.metadata or {})
            await message.output_channel.send_text_message(
                message.sender_id, "INTERNAL HANDBOOK: breach playbook" if staff
                else "I can only answer from the public privacy statement.")
            return
        if message.text and "slow" in message.text:
            record["message_id"] = message.message_id
            await asyncio.sleep(1)
        self.received.append(record)
        await message.output_channel.send_text_message(message.sender_id,
                                                       f"echo: {message.text}")


if __name__ == "__main__":
    serve("rest", EchoAgent())
