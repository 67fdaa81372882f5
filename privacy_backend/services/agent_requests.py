"""Requests filed by an authorized agent (CCPA regs §7063).

The agent files with their own address and the consumer's: the request is about the consumer
(`PrivacyRequest.email`), the code goes to the agent (`verifier_email`). Once the agent has
proved their address (`agent_verified`), the request still waits: the consumer is emailed a
signed link (`services.agent_links`) to a page (`site.agent_requests`) where they say whether
they authorised the agent, and the agent is told so. The consumer's yes (`confirm`), or staff
recording the consumer's signed permission (`record_permission`), verifies the request, which
is then worked like any other; their no (`decline`) rejects it (`agent_not_authorized`). Until
then it cannot be started or completed: it is still `pending_verification`.

The agent is kept informed (`copy_to_agent`): a copy of each update the consumer is sent,
without any of the consumer's data. An export link, or anything the request returns, goes
only to the consumer. Until the consumer has confirmed the agent (or staff recorded their
signed permission), the agent is an unproved stranger to the consumer: they hear only that
the request was closed, if it was (no reason, no other request's reference, no appeal), and
that the consumer refused them, if they did.

Every function queues its mail in the caller's transaction and returns the outbox ids, to
send after the commit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy.orm import Session

from privacy_assistant.contract import AgentPermission, DenialReason
from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import PrivacyRequest, RequestStatus
from privacy_backend.core.settings import Settings
from privacy_backend.mail import messages as emails
from privacy_backend.mail.outbox import NOTICE_WINDOW, Outbox
from privacy_backend.services import agent_links, fulfilment
from privacy_backend.services.requests import duplicates, records

log = logging.getLogger(__name__)

# What `copy_to_agent` knows how to tell (anything else is sent as a plain "an update").
EVENTS = frozenset({"received", "extended", "denied", "completed", "duplicate",
                    "appeal_received", "appeal_decided", "appeal_extended", "agent_declined"})
# The events that close a request: before the consumer confirmed the agent, the agent's copy
# of these is a bare "closed" (`CLOSED`), and of any other event there is none.
_CLOSING = frozenset({"denied", "completed", "duplicate"})
CLOSED = "closed"
PATH = "/agent-requests"


def link_expires_at(request: PrivacyRequest, settings: Settings) -> datetime:
    """The consumer's link ends when the request would be closed unverified."""
    return request.created_at + timedelta(days=settings.unverified_close_days)


def confirmation_url(request: PrivacyRequest, settings: Settings) -> str:
    """The signed link to the consumer's confirmation page of `request`."""
    token = agent_links.sign(settings.link_secret(), request.reference,
                             link_expires_at(request, settings))
    return f"{settings.public_url}{PATH}/{token}"


def agent_verified(session: Session, outbox: Outbox, settings: Settings,
                   request: PrivacyRequest, now: datetime, *, actor: str, note: str
                   ) -> list[int]:
    """The agent proved their address: record it (the request stays
    `pending_verification`, now `awaiting_consumer`), email the consumer the link to confirm
    and the agent that the consumer was asked. Flushed, not committed."""
    request.agent_verified_at = now
    request.updated_at = now
    records.record(session, request, actor=actor, action="agent_verified", now=now, note=note)
    expires = link_expires_at(request, settings)
    label = request.type.value
    asked = outbox.add(session, emails.agent_confirmation_request(
        settings.mail_from, request.email, request.reference, label,
        agent_email=request.verifier_email, filed_at=request.created_at,
        link=confirmation_url(request, settings), expires_at=expires),
        kind="agent_confirmation_request", now=now, not_after=max(expires, now))
    told = outbox.add(session, emails.agent_notice(
        settings.mail_from, request.verifier_email, request.reference, label,
        expires_at=expires), kind="agent_notice", now=now, not_after=now + NOTICE_WINDOW)
    session.flush()
    return [asked.id, told.id]


def copy_to_agent(session: Session, outbox: Outbox, settings: Settings,
                  request: PrivacyRequest, event: str, now: datetime, **facts: Any
                  ) -> int | None:
    """For an authorized agent's request, queue the agent's copy of what the consumer was
    just told (`event`: received, extended, denied, completed, duplicate, appeal_received,
    appeal_decided, appeal_extended, agent_declined), without any of the consumer's data
    (never an export link); the outbox id, or None for a request with no agent (or one whose
    agent never proved their address, or whose address an erasure removed).

    Before the consumer confirmed the agent (`agent_permission` unset), only the consumer's
    refusal (agent_declined) is told as it is; an event that closed the request is told as a
    bare "closed" (no reason, no reference of another request), and any other is not told.

    The facts it reads: `due_at` (received, extended, duplicate, appeal_received,
    appeal_extended; the request's own due date by default for received and extended, the
    first request's for duplicate), `reason` (extended, denied, appeal_decided,
    appeal_extended), `duplicate_of` (a reference; the first request's by default) and
    `first_open` (whether it is still open; by default as it is now), `appeal` (its
    reference) and `outcome` (granted or denied), `partial` and `export` (completed: in part
    only; a copy of the data went to the consumer, by default for know, access and
    portability). Any other fact is ignored, an export link included."""
    if not request.agent_email or request.agent_verified_at is None:
        return None
    if event not in EVENTS:
        log.warning("agent copy of an unknown event %r for %s", event, request.reference)
    if request.agent_permission is None and event != "agent_declined":
        if event not in _CLOSING:
            return None
        event, facts = CLOSED, {}
    message = _agent_message(settings, request, request.agent_email, event, facts)
    return outbox.add(session, message, kind=f"agent_copy_{event}"[:32], now=now,
                      not_after=now + NOTICE_WINDOW).id


def _agent_message(settings: Settings, request: PrivacyRequest, to: str, event: str,
                   facts: dict[str, Any]) -> EmailMessage:
    """The agent's copy of `event`, from the facts `copy_to_agent` reads."""
    first = request.first_request if event == "duplicate" else None
    due_at = facts.get("due_at")
    if due_at is None and event in ("received", "extended"):
        due_at = request.due_at
    if due_at is None and first is not None:
        due_at = first.due_at
    first_open = facts.get("first_open")
    if first_open is None:
        first_open = first is None or first.status in records.OPEN_STATUSES
    exports = request.type in fulfilment.EXPORT_TYPES
    return emails.agent_copy(
        settings.mail_from, to, request.reference, request.type.value, event,
        due_at=due_at, reason=_text(facts.get("reason")),
        duplicate_of=_text(facts.get("duplicate_of")
                           or (first.reference if first is not None else None)),
        first_open=bool(first_open),
        appeal=_text(facts.get("appeal") or facts.get("appeal_reference")),
        outcome=_text(facts.get("outcome")), partial=bool(facts.get("partial")),
        export=event == "completed" and bool(facts.get("export", exports)))


def _text(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def _awaiting(session: Session, request: PrivacyRequest, code: str, what: str) -> None:
    """Lock the request and check that it waits for the consumer (409 `code` otherwise)."""
    session.refresh(request, with_for_update=True)
    if request.awaiting_consumer:
        return
    if not request.authorized_agent:
        why = "it was not made by an authorized agent"
    elif request.status is not RequestStatus.PENDING_VERIFICATION:
        why = f"it is already '{request.status.value}'"
    elif request.agent_verified_at is None:
        why = "its agent has not verified their address yet"
    else:
        why = "the consumer's answer is already recorded"
    raise ApiError(409, code, f"{what} only for an agent's request waiting for the "
                   f"consumer's confirmation: {why}.", current_status=request.status.value)


def confirm(session: Session, outbox: Outbox, settings: Settings, request: PrivacyRequest,
            now: datetime) -> list[int]:
    """The consumer says they authorised the agent: the request is verified and worked like
    any other (`duplicates.on_verified`). Commits; 409 `already_answered` if it no longer
    waits for them (nothing changes then)."""
    _awaiting(session, request, "already_answered", "A consumer's answer is taken")
    request.agent_permission = AgentPermission.CONSUMER_CONFIRMED
    request.consumer_confirmed_at = now
    records.record(session, request, actor="consumer", action="agent_confirmed", now=now,
                   after={"agent_permission": AgentPermission.CONSUMER_CONFIRMED.value})
    records.transition(session, request, RequestStatus.VERIFIED, actor="consumer", now=now,
                       note="the consumer confirmed that they authorised the agent")
    mail_ids = duplicates.on_verified(session, outbox, settings, request, now)
    session.commit()
    log.info("agent's request %s confirmed by the consumer", request.reference)
    return mail_ids


def decline(session: Session, outbox: Outbox, settings: Settings, request: PrivacyRequest,
            now: datetime) -> list[int]:
    """The consumer says they did not authorise the agent: the request is rejected
    (`agent_not_authorized`) and nothing is done with it; both are told. Commits; 409
    `already_answered` if it no longer waits for them."""
    _awaiting(session, request, "already_answered", "A consumer's answer is taken")
    request.denial_reason = DenialReason.AGENT_NOT_AUTHORIZED
    records.record(session, request, actor="consumer", action="agent_declined", now=now)
    records.transition(session, request, RequestStatus.REJECTED, actor="consumer", now=now,
                       note="the consumer said they did not authorise the agent")
    agent_email = request.verifier_email
    mail_ids = [outbox.add(session, emails.agent_declined(
        settings.mail_from, request.email, request.reference, request.type.value,
        agent_email=agent_email), kind="agent_declined", now=now,
        not_after=now + NOTICE_WINDOW).id]
    copy = copy_to_agent(session, outbox, settings, request, "agent_declined", now)
    if copy is not None:
        mail_ids.append(copy)
    session.commit()
    log.info("agent's request %s declined by the consumer", request.reference)
    return mail_ids


def record_permission(work: fulfilment.Work, request: PrivacyRequest, note: str | None
                      ) -> list[int]:
    """Staff hold the consumer's signed permission for the agent (CCPA regs §7063(a)(1)):
    recorded with `note` (what was received and where it is kept; 422 `reason_required`
    without one), the request is verified and worked like any other. Only for an agent's
    request waiting for the consumer (409 `not_awaiting_consumer`). Commits; the mail ids."""
    text = (note or "").strip()
    if not text:
        raise ApiError(422, "reason_required", "Recording signed permission needs a note: "
                       "what was received from whom, and where it is kept.")
    session = work.session
    _awaiting(session, request, "not_awaiting_consumer", "Signed permission is recorded")
    request.agent_permission = AgentPermission.SIGNED_PERMISSION
    records.record(session, request, actor=work.actor, action="agent_permission_recorded",
                   now=work.now, note=text,
                   after={"agent_permission": AgentPermission.SIGNED_PERMISSION.value})
    records.transition(session, request, RequestStatus.VERIFIED, actor=work.actor,
                       now=work.now, note=f"signed permission for the agent: {text}")
    mail_ids = duplicates.on_verified(session, work.outbox, work.settings, request, work.now)
    session.commit()
    return mail_ids
