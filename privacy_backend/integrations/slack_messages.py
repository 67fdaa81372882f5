"""What a handoff's message in the privacy team's Slack channel says: why the visitor wanted
a person, on which channel, since when and what became of it, with a link to the handoff in
the console, as Block Kit and a plain-text fallback. It never carries the visitor's summary,
conversation id or address.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from privacy_backend.core.models import Handoff, HandoffStatus
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.slack_api import Message

CHANNEL_LABELS = {"web": "website chat", "socketio": "website chat",
                  "rest": "support desk (REST)"}


def _escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as markup: they are sent escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_date(moment: datetime) -> str:
    """A time Slack shows in each reader's own time zone, with a UTC fallback."""
    utc = moment.astimezone(timezone.utc)
    return (f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}"
            f"|{utc:%Y-%m-%d %H:%M} UTC>")


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)


def console_link(settings: Settings, handoff_id: int) -> str:
    return f"{settings.public_url}/console#handoff-{handoff_id}"


def _outcome(handoff: Handoff) -> tuple[str, str | None]:
    """What became of the handoff, as a headline and the line saying when (None while it
    waits). Agents are staff: the one who took it is named."""
    agent = _escape(handoff.agent.name) if handoff.agent else None
    if handoff.status is HandoffStatus.WAITING:
        return "waiting for an agent", None
    if handoff.status is HandoffStatus.ACTIVE:
        taken = slack_date(handoff.taken_at or handoff.created_at)
        return f"taken by {agent or 'an agent'}", f"*Taken by {agent or 'an agent'}* {taken}"
    closed = slack_date(handoff.closed_at or handoff.created_at)
    if handoff.close_reason == "handed_back":
        return "handed back to the bot", f"*Handed back to the bot* by {agent or 'an agent'} " \
                                         f"{closed}"
    if handoff.close_reason == "timed_out":
        return "closed: nobody took it in time", f"*Timed out* {closed}: nobody took it"
    by = f" by {agent}" if agent and handoff.taken_at else ""
    return "closed", f"*Closed*{by} {closed}"


def handoff_message(handoff: Handoff, settings: Settings) -> Message:
    """The message for a handoff as it is now: reason, channel, waiting since, what became
    of it, and the console link. No summary, conversation id or address."""
    headline, outcome = _outcome(handoff)
    reason, label = _escape(handoff.reason), _escape(channel_label(handoff.channel))
    link = console_link(settings, handoff.id)
    since = slack_date(handoff.created_at)
    fields = [f"*Reason*\n{reason}", f"*Channel*\n{label}", f"*Waiting since*\n{since}"]
    blocks: list[dict[str, Any]] = [
        {"type": "section",
         "text": {"type": "mrkdwn", "text": f"*Handoff #{handoff.id}*: {headline}"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if outcome:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": outcome}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"<{link}|Open handoff #{handoff.id} in the console>"}]})
    text = (f"Handoff #{handoff.id} from the {label}, {headline}: {reason} "
            f"(waiting since {since}). {link}")
    return Message(text=text, blocks=blocks)
