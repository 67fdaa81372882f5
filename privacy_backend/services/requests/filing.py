"""The requester's side of a privacy request: filing it (idempotent; verified at once with a
code confirmed earlier, else sent a code), checking its code, sending the code again, a
status lookup, and reading a request with the assistant's proof of the address.

An authorized agent's request (`services.agent_requests`) is verified by the agent's own
address: its code goes there, and a correct code (or a proof for that address) does not
verify the request but asks the consumer to confirm the agent. The agent's address, as well
as the consumer's, may look the request up and read it;
until the consumer confirms the agent, the agent's proof reads nothing of the consumer's
other requests or of an appeal.

Each function does one API call's work, commits, and sends its email after the commit
(through the outbox, so a mail relay that is down loses nothing)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session

from privacy_backend.core.errors import ApiError, not_found
from privacy_backend.core.models import (
    PrivacyRequest,
    RequestStatus,
    Verification,
    VerificationPurpose,
)
from privacy_backend.core.settings import Settings
from privacy_backend.mail import code_mail
from privacy_backend.mail.outbox import Outbox
from privacy_backend.schemas.requests import MailState, RequestCreate, RequestOut
from privacy_backend.services import agent_requests, verification
from privacy_backend.services.requests import duplicates, records

log = logging.getLogger(__name__)

# What proves that a caller may read one request: a code confirmed for its address.
READ_PROOF = frozenset({VerificationPurpose.REQUEST, VerificationPurpose.STATUS_LOOKUP})


@dataclass(frozen=True)
class Filed:
    """A filing's outcome: the request; whether this call created it (else it replays an
    earlier Idempotency-Key); the code that can still be typed, and where its email is."""

    request: PrivacyRequest
    created: bool
    code_sent: bool
    live: Verification | None
    mail: MailState


@dataclass(frozen=True)
class Lookup:
    """A status lookup's verification, and the sending of its code's email to run after
    the answer (None when the reference and the address do not match: nothing is sent)."""

    verification: Verification
    send_after: Callable[[], object] | None


def _issue_code(session: Session, request: PrivacyRequest, *, settings: Settings,
                secret: bytes, now: datetime, outbox: Outbox) -> tuple[Verification, int]:
    """Issue a code for the request, record it, and queue its email (sent after the commit);
    the verification and the outbox row's id."""
    issued, code = verification.issue(
        session, settings=settings, secret=secret, now=now, purpose=VerificationPurpose.REQUEST,
        email=request.verifier_email, conversation_id=request.conversation_id,
        request_id=request.id,
    )
    records.record(session, request, actor="system", action="verification_code_sent", now=now,
                   after={"verification_id": issued.id,
                          "expires_at": issued.expires_at.isoformat()})
    mail = code_mail.queue_code_mail(outbox, session, settings, now=now, verification=issued,
                                     code=code, request=request)
    return issued, mail.id


def file_request(session: Session, outbox: Outbox, body: RequestCreate, *, settings: Settings,
                 secret: bytes, now: datetime, idempotency_key: str | None,
                 actor: str) -> Filed:
    """File a request and queue its code's email in one transaction, then send the email,
    waiting at most MAIL_SEND_WAIT_SECONDS. A replay sends no code: it reports the code
    issued before, if it can still be typed, and where its email is. With a
    `verification_id` that proves the address, the request (or a replay still awaiting its
    code) is verified instead (`_file_verified`)."""
    request, created = records.create(session, body, settings=settings, now=now,
                                      idempotency_key=idempotency_key, actor=actor)
    if (body.verification_id is not None and request.agent_verified_at is None
            and request.status is RequestStatus.PENDING_VERIFICATION):
        return _file_verified(session, outbox, request, body, created, settings=settings,
                              now=now, actor=actor)
    if not created:
        live = verification.live_for_request(session, request.id, now)
        mail = code_mail.mail_state(Outbox.status_for(session, live.id)) if live else "none"
        return Filed(request, created=False, code_sent=False, live=live, mail=mail)
    issued, mail_id = _issue_code(session, request, settings=settings, secret=secret, now=now,
                                  outbox=outbox)
    session.commit()
    log.info("privacy request %s created (%s, %s)", request.reference, request.type.value,
             request.jurisdiction)
    mail = code_mail.send_code_mail(outbox, mail_id, settings)
    return Filed(request, created=True, code_sent=mail == "sent", live=issued, mail=mail)


def _file_verified(session: Session, outbox: Outbox, request: PrivacyRequest,
                   body: RequestCreate, created: bool, *, settings: Settings, now: datetime,
                   actor: str) -> Filed:
    """Verify the request with the code confirmed earlier (403 `verification_required`,
    nothing stored, if it proves nothing) and email the confirmation of receipt; for an
    agent's request, the proof is for the agent's address and the consumer is asked to
    confirm the agent instead."""
    try:
        proof = verification.proof(session, body.verification_id,
                                   email=request.verifier_email,
                                   conversation_id=body.conversation_id, settings=settings,
                                   now=now)
        note = f"email verified by a one-time code confirmed earlier (verification {proof.id})"
        if request.authorized_agent:
            mail_ids = agent_requests.agent_verified(session, outbox, settings, request, now,
                                                     actor=actor, note=f"agent's {note}")
        else:
            records.transition(session, request, RequestStatus.VERIFIED, actor=actor, now=now,
                               note=note)
            mail_ids = duplicates.on_verified(session, outbox, settings, request, now)
    except ApiError:
        session.rollback()
        raise
    session.commit()
    for mail_id in mail_ids:
        outbox.send_later(mail_id)
    if created:
        log.info("privacy request %s created verified (%s, %s)", request.reference,
                 request.type.value, request.jurisdiction)
    return Filed(request, created=created, code_sent=False, live=None, mail="none")


def _awaiting_verification(session: Session, reference: str) -> PrivacyRequest:
    """The request, if it waits for its code: a code can be checked or sent again only then
    (404 if there is no such request, 409 if it does not wait, nor does an agent's request
    whose agent's address is verified: it waits for the consumer)."""
    request = records.get_or_404(session, reference)
    if request.status is not RequestStatus.PENDING_VERIFICATION:
        raise ApiError(409, "illegal_transition",
                       f"This request is '{request.status.value}', not awaiting verification.",
                       current_status=request.status.value)
    if request.agent_verified_at is not None:
        raise ApiError(409, "awaiting_consumer",
                       "The agent's address is verified: this request waits for the "
                       "consumer to confirm the agent.", current_status=request.status.value)
    return request


def verify_request(session: Session, outbox: Outbox, reference: str, code: str, *,
                   settings: Settings, secret: bytes, now: datetime
                   ) -> tuple[PrivacyRequest, Verification]:
    """Check the request's code; on a match the request is verified and its confirmation
    of receipt emailed in the background (an agent's request instead waits for the
    consumer, who is emailed the link to confirm the agent, and the agent is told). The
    request and the verification it confirmed."""
    request = _awaiting_verification(session, reference)
    latest = verification.latest_for_request(session, request.id)
    if latest is None:
        raise ApiError(410, "code_expired", "No code is active. Ask for a new code.")
    try:
        verification.check(session, latest, code, settings=settings, secret=secret, now=now)
    except verification.VerificationFailure as failure:
        raise verification.failure_error(failure, settings) from None
    if request.authorized_agent:
        mail_ids = agent_requests.agent_verified(
            session, outbox, settings, request, now, actor="requester",
            note="agent's email verified with a one-time code")
    else:
        records.transition(session, request, RequestStatus.VERIFIED, actor="requester",
                           now=now, note="email verified with a one-time code")
        mail_ids = duplicates.on_verified(session, outbox, settings, request, now)
    session.commit()
    for mail_id in mail_ids:
        outbox.send_later(mail_id)
    return request, latest


def resend_code(session: Session, outbox: Outbox, reference: str, *, settings: Settings,
                secret: bytes, now: datetime) -> tuple[Verification, MailState]:
    """A new code for a request that waits for one (the earlier one stops working), and
    where its email is after at most MAIL_SEND_WAIT_SECONDS."""
    request = _awaiting_verification(session, reference)
    issued, mail_id = _issue_code(session, request, settings=settings, secret=secret, now=now,
                                  outbox=outbox)
    session.commit()
    return issued, code_mail.send_code_mail(outbox, mail_id, settings)


def start_lookup(session: Session, outbox: Outbox, *, reference: str, email: str,
                 conversation_id: str | None, settings: Settings, secret: bytes,
                 now: datetime) -> Lookup:
    """Start a status lookup with the same work whether or not the reference and the
    address match (one verification row, counted by the same limits, one commit); only a
    match gets a code, whose email is written, queued and sent after the answer
    (`Lookup.send_after`)."""
    request = records.get_by_reference(session, reference)
    purpose = VerificationPurpose.STATUS_LOOKUP
    if request is None or email not in _addresses(request):
        unsent = verification.issue_unsent(session, settings=settings, now=now, purpose=purpose,
                                           email=email, conversation_id=conversation_id)
        session.commit()
        return Lookup(unsent, send_after=None)
    issued, code = verification.issue(
        session, settings=settings, secret=secret, now=now, purpose=purpose, email=email,
        conversation_id=conversation_id, request_id=request.id,
    )
    session.commit()
    # Even the email is written after the answer: before it, a match and a miss do the same.
    return Lookup(issued, send_after=partial(
        code_mail.queue_code_mail_later, outbox, settings, now=now, verification=issued,
        code=code, request=request))


def _addresses(request: PrivacyRequest) -> tuple[str, ...]:
    """The addresses that may look a request up: the consumer's and an agent's."""
    return (request.email, request.agent_email) if request.agent_email else (request.email,)


def prove_reader(session: Session, request: PrivacyRequest | None,
                 verification_id: str | None, *, conversation_id: str | None,
                 settings: Settings, now: datetime) -> Verification:
    """The assistant's proof that it may act on `request`: a request or status-lookup code
    confirmed for the consumer's address or the agent's (`READ_PROOF`), else 403
    `verification_required`; for no request, the proof is checked against no address, so the
    403 looks the same."""
    addresses = _addresses(request) if request is not None else ("",)
    found = (session.get(Verification, verification_id[:32])
             if verification_id and request is not None else None)
    address = found.email if found is not None and found.email in addresses else addresses[0]
    return verification.proof(session, verification_id, email=address,
                              conversation_id=conversation_id, settings=settings, now=now,
                              purposes=READ_PROOF)


def read_request(session: Session, reference: str, *, staff: bool,
                 verification_id: str | None, conversation_id: str | None,
                 settings: Settings, now: datetime) -> RequestOut:
    """Staff read any request (404 if there is none); the assistant only one whose address
    (the consumer's or the agent's) its `verification_id` proves (else 403
    `verification_required`, the same for a request that does not exist). An agent whom the
    consumer has not confirmed (nor staff recorded their permission) reads the request
    without the consumer's earlier request it repeats and without its appeal."""
    if staff:
        return RequestOut.model_validate(records.get_or_404(session, reference))
    request = records.get_by_reference(session, reference[:32])
    proof = prove_reader(session, request, verification_id, conversation_id=conversation_id,
                         settings=settings, now=now)
    if request is None:  # no confirmed code is for no address: the proof refused already
        raise not_found("request")
    shown = RequestOut.model_validate(request)
    if unconfirmed_agent(request, proof.email):
        return shown.model_copy(update={"duplicate_of": None, "duplicate_of_due_at": None,
                                        "appeal": None})
    return shown


def unconfirmed_agent(request: PrivacyRequest, address: str) -> bool:
    """Whether `address` is an agent's whom the consumer has not confirmed (and for whom
    staff recorded no signed permission): they may hear nothing of the consumer's other
    requests, staff's reasons or an appeal."""
    return (request.agent_email is not None and address == request.agent_email
            and address != request.email and request.agent_permission is None)
