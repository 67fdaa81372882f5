"""Bodies of the marketing-preference API that the assistant sends and reads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictBool,
    WithJsonSchema,
    model_validator,
)

from privacy_assistant.api_models.common import ConversationId, StrictIn, VerificationId
from privacy_assistant.contract import PreferenceSource

# Channel and topic names are configuration (PREFERENCE_CHANNELS, PREFERENCE_TOPICS), so the
# schema only bounds them; the service checks them against the settings (422 naming them).
_NAME_MAX = 32


def _choices(value: dict[str, Any]) -> dict[str, bool | dict[str, bool]]:
    """`{channel: bool | {topic: bool}}` with clear messages (a plain Union would report
    the failure of each branch)."""
    out: dict[str, bool | dict[str, bool]] = {}
    for channel, choice in value.items():
        name = channel.strip()
        if not 1 <= len(name) <= _NAME_MAX:
            raise ValueError(f"channel names have 1 to {_NAME_MAX} characters")
        if isinstance(choice, bool):
            out[name] = choice
            continue
        if not isinstance(choice, dict) or len(choice) > 64:
            raise ValueError(f"'{name}' must be true, false or a map of topics to true/false")
        topics: dict[str, bool] = {}
        for topic, flag in choice.items():
            if not 1 <= len(topic.strip()) <= _NAME_MAX:
                raise ValueError(f"topic names on '{name}' have 1 to {_NAME_MAX} characters")
            if not isinstance(flag, bool):
                raise ValueError(f"'{name}.{topic.strip()}' must be true or false")
            topics[topic.strip()] = flag
        out[name] = topics
    return out


_CHOICES_SCHEMA = {
    "type": "object",
    "additionalProperties": {"anyOf": [
        {"type": "boolean"},
        {"type": "object", "additionalProperties": {"type": "boolean"}},
    ]},
    "description": "channel -> {topic: subscribed}; `true`/`false` instead of a map sets every "
                   "topic of that channel",
}
ChannelChoices = Annotated[
    dict[str, Any], Field(max_length=16), AfterValidator(_choices),
    WithJsonSchema(_CHOICES_SCHEMA),
]


class PreferenceWrite(StrictIn):
    # What every write carries besides the choices: where it came from and its proof.
    source: PreferenceSource
    conversation_id: ConversationId | None = None
    verification_id: VerificationId | None = Field(
        default=None, description="The assistant's proof: a code confirmed for this address "
                                  "(in this conversation) within VERIFIED_FOR_MINUTES. "
                                  "Staff need none.")


class PreferencesReplace(PreferenceWrite):
    """Full replacement: topics not listed become `false` (not subscribed)."""

    global_opt_out: StrictBool
    channels: ChannelChoices


class PreferencesPatch(PreferenceWrite):
    """Partial change: only what is given changes."""

    global_opt_out: StrictBool | None = None
    channels: ChannelChoices | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> PreferencesPatch:
        if self.global_opt_out is None and not self.channels:
            raise ValueError("give `global_opt_out` and/or `channels` to change")
        return self


class PreferencesOut(BaseModel):
    email: str
    global_opt_out: bool
    channels: dict[str, dict[str, bool]]
    updated_at: datetime | None = Field(description="null: nothing recorded, these are defaults")

    def subscribed(self, channel: str, topic: str) -> bool:
        """Whether marketing on `topic` may be sent by `channel` (the opt-out wins)."""
        return not self.global_opt_out and self.channels.get(channel, {}).get(topic, False)
