"""Answers of the conversation routes."""

from __future__ import annotations

from pydantic import BaseModel


class ConversationErased(BaseModel):
    erased_events: int
    handoffs: int
