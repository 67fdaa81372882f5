"""The assistant's own conversations (`/api/v1/conversations`).

`POST /conversations/{id}/erase` is the widget's "Delete chat": the Rasa server's socket.io
channel calls it, with the assistant's token, for the conversation its socket is bound to
(a visitor can name no other). A conversation in which an address was verified is that
person's data and part of the record of their request: it is not erased this way (409
`conversation_verified`); a deletion request erases it with the rest of their data."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path

from privacy_backend.api.deps import NowDep, SessionDep, TrackerStoreDep
from privacy_backend.core.errors import ApiError
from privacy_backend.core.security import CallerDep
from privacy_backend.schemas.conversations import ConversationErased
from privacy_backend.services import erasure, links

log = logging.getLogger(__name__)
router = APIRouter(prefix="/conversations", tags=["conversations"])

ConversationPath = Annotated[str, Path(min_length=1, max_length=128)]


@router.post("/{conversation_id}/erase", response_model=ConversationErased)
def erase_conversation(conversation_id: ConversationPath, session: SessionDep,
                       tracker_store: TrackerStoreDep, caller: CallerDep,
                       now: NowDep) -> ConversationErased:
    """Erase a conversation nobody verified an address in: its events in Rasa's tracker
    store, its handoffs and their summaries. The assistant's token only (staff: 403)."""
    if caller.is_staff:
        raise ApiError(403, "assistant_only", "Only the assistant erases a visitor's chat on "
                       "their behalf; staff erase a person's data by completing a deletion "
                       "request.")
    if links.is_linked(session, conversation_id):
        raise ApiError(409, "conversation_verified", "An address was verified in this "
                       "conversation, so it is kept with that person's requests; a deletion "
                       "request erases it.")
    erased = erasure.erase_conversations(session, tracker_store, [conversation_id], now)
    session.commit()
    log.info("a visitor deleted their chat (%d events)", erased.tracker_events)
    return ConversationErased(erased_events=erased.tracker_events, handoffs=erased.handoffs)
