"""How the Slack channel's replies look and where they go: one post per reply, in Block Kit
(the text in sections, the cited heading as a link, the buttons), in the DM or thread the
message came from; `ask_privacy_team` posts the question to the privacy team's channel.

The citation comes from the answer's `citation` custom payload (`actions/knowledge.py`: the
heading and the link), never from the text: Rasa hands the payload to `send_text_message`
with the text, and the text's own closing citation line (`utter_answer_from_statement`'s
"— Heading (link)") is left out of the sections so the citation shows once. Runs in the Rasa
environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import OutputChannel

from channels.slack_web import SlackWeb

CHANNEL_NAME = "slack"
SECTION_CHARS = 3000  # the most text a Block Kit section holds
BUTTON_ACTION = "rasa_button"
_LINK_UNSAFE = frozenset("<>| \t\n")  # characters that would break Slack's <link|text>


def conversation_id(team: str, channel: str, thread_ts: str | None) -> str:
    """The Rasa conversation of a DM (no thread) or of one thread in a channel."""
    return f"slack:{team}:{channel}" + (f":{thread_ts}" if thread_ts else "")


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


@dataclass(frozen=True)
class Citation:
    """The section an answer quotes: its heading and the link to it."""

    heading: str
    link: str

    @classmethod
    def of(cls, custom: object) -> Citation | None:
        """The citation in a bot message's custom payload, if it has a usable one."""
        found = custom.get("citation") if isinstance(custom, dict) else None
        if not isinstance(found, dict):
            return None
        heading, link = found.get("heading"), found.get("link")
        if not (isinstance(heading, str) and heading.strip() and isinstance(link, str)
                and link.startswith(("https://", "http://"))
                and not _LINK_UNSAFE.intersection(link)):
            return None
        return cls(heading=heading, link=link)

    @property
    def line(self) -> str:
        """The closing line `utter_answer_from_statement` renders for this citation."""
        return f"— {self.heading} ({self.link})"


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


def blocks_for(text: str, buttons: list[dict[str, Any]] | None = None,
               citation: Citation | None = None) -> list[dict[str, Any]]:
    """A reply as Block Kit: its text in sections, its citation as a linked heading, and its
    buttons (each sends its payload back, as in the web widget)."""
    body = text.strip()
    if citation and body.endswith(citation.line):
        body = body[:-len(citation.line)].strip()
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": part, "verbatim": True}}
        for part in chunks(escape(body))]
    if citation:
        blocks.append({"type": "context", "elements": [{
            "type": "mrkdwn", "text": f"— <{citation.link}|{escape(citation.heading)}>"}]})
    if buttons:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "action_id": f"{BUTTON_ACTION}_{i}",
             "text": {"type": "plain_text", "text": str(b.get("title", ""))[:75]},
             "value": str(b.get("payload", ""))[:2000]}
            for i, b in enumerate(buttons[:5])]})
    return blocks


class SlackThreadOutput(OutputChannel):
    """The bot's replies to one conversation: posts in its DM or thread."""

    def __init__(self, web: SlackWeb, turn: Turn) -> None:
        self.web = web
        self.turn = turn

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """One post; a `custom` citation that came with the text is its linked heading."""
        await self.web.post(self.turn.channel, text, thread_ts=self.turn.thread_ts,
                            blocks=blocks_for(text, citation=Citation.of(kwargs.get("custom"))))

    async def send_text_with_buttons(self, recipient_id: str, text: str,
                                     buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        await self.web.post(self.turn.channel, text, thread_ts=self.turn.thread_ts,
                            blocks=blocks_for(text, buttons, Citation.of(kwargs.get("custom"))))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, image)

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, str(attachment))

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any],
                               **kwargs: Any) -> None:
        """`ask_privacy_team` posts the question to the privacy team's channel with a link
        back to this thread; a `citation` is shown with the text it came with."""
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
