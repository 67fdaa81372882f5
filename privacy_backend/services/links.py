"""Which conversations belong to whom: a conversation in which a code confirmed an address is
that address's data from then on (its transcript, handoffs, requests and preference changes),
so an export includes it and a deletion erases it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from privacy_backend.core.models import ConversationLink


def record(session: Session, *, conversation_id: str | None, email: str, now: datetime) -> None:
    """Link the conversation to the address (once: a second code changes nothing)."""
    if not conversation_id:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(ConversationLink).values(
        conversation_id=conversation_id, email=email, verified_at=now,
    ).on_conflict_do_nothing(index_elements=["conversation_id", "email"]))


def conversations_of(session: Session, email: str) -> list[ConversationLink]:
    return list(session.scalars(select(ConversationLink).where(
        ConversationLink.email == email).order_by(ConversationLink.verified_at,
                                                  ConversationLink.id)))


def of_conversation(session: Session, conversation_id: str) -> list[ConversationLink]:
    """The addresses a code confirmed in the conversation, first verified first."""
    return list(session.scalars(select(ConversationLink).where(
        ConversationLink.conversation_id == conversation_id).order_by(
        ConversationLink.verified_at, ConversationLink.id)))


def is_linked(session: Session, conversation_id: str) -> bool:
    return session.scalar(select(ConversationLink.id).where(
        ConversationLink.conversation_id == conversation_id).limit(1)) is not None


def linked_ids(session: Session) -> set[str]:
    return set(session.scalars(select(ConversationLink.conversation_id).distinct()))
