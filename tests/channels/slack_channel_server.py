"""Serve the Slack channel named in credentials.yml the way the Rasa server does, with a
stand-in agent that records every message it is handed and answers through the channel's
own output, so the tests see real posts reach the Slack stand-in.

Run with the Rasa environment's Python: `slack_channel_server.py PORT`. The channel reads its
credentials from the environment (SLACK_*), as `make run` gives them. `GET /received` lists
what the agent was handed. What the agent answers depends on the message:

* `slow …`: waits 4 s first (the webhook must have answered long before);
* `paragraphs`: a reply of two paragraphs (one post, not two);
* `quote`: a quote with its citation line and `citation` payload, as Rasa hands over the
  statement's answers;
* `citation line only`: a reply ending in a citation-like line, without a payload;
* `buttons`: a reply with two buttons;
* `ask team`: the `ask_privacy_team` payload of action_ask_privacy_team;
* `burst`: three replies at once (posts are spaced a second apart per channel);
* anything else: `echo: <text>`.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rasa.core.channels.channel import UserMessage  # noqa: E402

from tests.channels.served import RecordingAgent, serve  # noqa: E402

# The citation payload actions/knowledge.py sends with a quoted answer, and its line.
CITATION = {"heading": "Data Retention", "anchor": "retention", "score": 0.9,
            "link": "https://intranet.example.com/handbook#retention"}
CITED = f"{CITATION['heading']} ({CITATION['link']})"


class AnsweringAgent(RecordingAgent):
    """Records every message with its channel and metadata, then answers by its text."""

    async def handle_message(self, message: UserMessage) -> None:
        text = message.text or ""
        self.received.append({"sender_id": message.sender_id, "text": text,
                              "input_channel": message.input_channel,
                              "metadata": message.metadata})
        out = message.output_channel
        sender = message.sender_id
        if text.startswith("slow"):
            await asyncio.sleep(4)
            await out.send_text_message(sender, f"echo: {text}")
        elif text == "paragraphs":
            await out.send_text_message(sender, "First paragraph.\n\nSecond paragraph.")
        elif text == "quote":  # as Rasa hands over utter_answer_from_statement
            await out.send_response(sender, {"text": f"“We keep <your> data & more.”\n— {CITED}",
                                             "custom": {"citation": CITATION}})
        elif text == "citation line only":  # a closing line like a citation, no payload
            await out.send_text_message(sender, f"Not an answer.\n— {CITED}")
        elif text == "buttons":
            await out.send_text_with_buttons(sender, "Shall I?", [
                {"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}])
        elif text == "ask team":
            await out.send_custom_json(sender, {"ask_privacy_team": {
                "question": "Can we keep <b>call recordings</b> for 5 years?"}})
        elif text == "burst":
            for n in range(3):
                await out.send_text_message(sender, f"part {n + 1}")
        else:
            await out.send_text_message(sender, f"echo: {text}")



if __name__ == "__main__":
    serve("slack", AnsweringAgent())
