"""Requests made by an authorized agent (CCPA regs §7063), over the real API and the real
confirmation page: the agent files with their own address and the consumer's, the code goes
to the agent, the request is the consumer's; a correct code asks the consumer to confirm
(a signed link to `/agent-requests/<token>`) and tells the agent; the consumer's yes
verifies the request (receipts to both), their no rejects it (`agent_not_authorized`);
staff may record signed permission instead.

From the attacker's side: the agent cannot have the request worked before the consumer
answers, never receives the export link, hears nothing of the consumer's other requests,
staff's reasons or an appeal before the consumer confirms them (by mail or by reading the
request), and a forged, altered, expired or other kind of
link (an export's, an unsubscribe link, one for a request made by no agent) is refused and
changes nothing; the assistant's token cannot record permission."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from privacy_backend.core.models import AuditEvent, PrivacyRequest
from privacy_backend.services import agent_links, agent_requests, export_links, unsubscribe

from .support import Api, mail_text, mails_to, one_mail

AGENT = "agent@lawfirm.example"
ADA = "ada@example.com"
LINK = re.compile(r"https?://\S+(/agent-requests/\S+)")
# The link of a request filed at the harness's start (March 10, 2025, 14:30 UTC) ends with
# its 7-day window for verification (UNVERIFIED_CLOSE_DAYS, default 7).
LINK_ENDS = "March 17, 2025"


@pytest.fixture
def api(store_api: Api) -> Api:
    return store_api  # the completions read the conversations' store


def _file(api: Api, request_type: str = "access", **overrides: Any) -> dict[str, Any]:
    return api.create(**{"type": request_type, "email": AGENT, "consumer_email": ADA,
                         "authorized_agent": True, "conversation_id": "agent-conv",
                         **overrides})


def _subjects(api: Api, address: str) -> list[str]:
    return [str(m["Subject"]) for m in mails_to(api, address)]


def _link(api: Api) -> str:
    """The path of the confirmation link in the newest mail to the consumer that has one."""
    for message in reversed(mails_to(api, ADA)):
        found = LINK.search(mail_text(message))
        if found:
            return found.group(1)
    raise AssertionError("the consumer was sent no confirmation link")


def _row(api: Api, reference: str) -> PrivacyRequest:
    with api.client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        row = session.scalar(select(PrivacyRequest).where(PrivacyRequest.reference == reference))
        assert row is not None
        session.expunge(row)
        return row


def _actions(api: Api, reference: str) -> list[str]:
    with api.client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        request_id = session.scalar(select(PrivacyRequest.id).where(
            PrivacyRequest.reference == reference))
        return list(session.scalars(select(AuditEvent.action).where(
            AuditEvent.request_id == request_id).order_by(AuditEvent.id)))


def _read_as(api: Api, reference: str, address: str) -> dict[str, Any]:
    """The request as the assistant reads it with a status-lookup code confirmed for
    `address` (the agent's or the consumer's)."""
    conversation = f"read-{address}"
    started = api.post("/api/v1/requests/lookup", json={
        "reference": reference, "email": address, "conversation_id": conversation})
    assert started.status_code == 202, started.text
    vid = started.json()["verification_id"]
    confirmed = api.post(f"/api/v1/verifications/{vid}/confirm",
                         json={"code": api.last_code()})
    assert confirmed.status_code == 200, confirmed.text
    read = api.get(f"/api/v1/requests/{reference}",
                   params={"verification_id": vid, "conversation_id": conversation})
    assert read.status_code == 200, read.text
    body: dict[str, Any] = read.json()
    return body


def _own_request(api: Api, request_type: str = "access") -> str:
    """The consumer's own request, verified (filed on March 10, 2025 in California: due
    April 24, 2025)."""
    reference = str(api.create(type=request_type, email=ADA, conversation_id="own-conv")[
        "reference"])
    api.verify(reference)
    return reference


def _agent_verified(api: Api, request_type: str = "access") -> str:
    """An agent's request whose agent typed the code: it waits for the consumer."""
    reference = str(_file(api, request_type)["reference"])
    body = api.verify(reference)
    assert body["status"] == "pending_verification" and body["awaiting_consumer"] is True
    return reference


def _confirmed(api: Api, request_type: str = "access") -> str:
    reference = _agent_verified(api, request_type)
    answered = api.client.post(_link(api), data={"answer": "yes"})
    assert answered.status_code == 200, answered.text
    return reference


# -- filing and the agent's code ----------------------------------------------------------------

def test_the_code_goes_to_the_agent_and_the_request_is_the_consumers(api: Api) -> None:
    body = _file(api)
    assert body["status"] == "pending_verification"
    assert body["email"] == ADA and body["agent_email"] == AGENT
    assert body["authorized_agent"] is True and body["awaiting_consumer"] is False
    [code_mail] = api.mails()
    assert code_mail["To"] == AGENT and body["reference"] in mail_text(code_mail)
    assert "the access request you made as an authorized agent" in mail_text(code_mail)
    assert mails_to(api, ADA) == []

    verified = api.verify(body["reference"])
    assert verified["status"] == "pending_verification"
    assert verified["awaiting_consumer"] is True and verified["agent_permission"] is None
    assert "agent_verified" in _actions(api, body["reference"])
    [asked] = mails_to(api, ADA)
    text = mail_text(asked)
    assert AGENT in text and body["reference"] in text and "access request" in text
    assert "March 10, 2025" in text and LINK_ENDS in text and LINK.search(text)
    notices = _subjects(api, AGENT)
    assert notices == ["Your verification code",
                       f"Privacy request {body['reference']}: we asked the consumer to confirm"]
    assert "emailed the consumer" in mail_text(mails_to(api, AGENT)[-1])
    # No confirmation of receipt yet: the request is not verified.
    assert not any("We received" in s for s in _subjects(api, ADA) + notices)


def test_a_proof_filed_with_the_request_must_be_for_the_agents_address(api: Api) -> None:
    consumer_proof = api.proof(ADA, "agent-conv")
    refused = api.post("/api/v1/requests", json={
        "type": "access", "email": AGENT, "consumer_email": ADA, "authorized_agent": True,
        "region": "California", "channel": "web", "conversation_id": "agent-conv",
        "verification_id": consumer_proof})
    assert refused.status_code == 403 and refused.json()["error"] == "verification_required"
    assert api.counts()["privacy_requests"] == 0

    agent_proof = api.proof(AGENT, "agent-conv")
    filed = _file(api, verification_id=agent_proof)
    assert filed["status"] == "pending_verification" and filed["awaiting_consumer"] is True
    assert LINK.search(mail_text(mails_to(api, ADA)[-1]))


# -- the consumer's answer ----------------------------------------------------------------------

def test_the_consumer_confirms_on_the_page_and_both_get_the_receipt(api: Api) -> None:
    reference = _agent_verified(api)
    link = _link(api)
    page = api.client.get(link)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    html = page.text
    assert '<html lang="en">' in html and "<main>" in html and "<h1>" in html
    assert reference in html and AGENT in html and "March 10, 2025" in html
    assert "Access request" in html
    assert re.search(r'<button type="submit" name="answer" value="yes">Yes, I authorised this '
                     r"agent</button>", html)
    assert re.search(r'<button type="submit" name="answer" value="no">No, I did not</button>',
                     html)
    assert _row(api, reference).status.value == "pending_verification"  # GET changes nothing
    before = api.counts()

    done = api.client.post(link, data={"answer": "yes"})
    assert done.status_code == 200 and 'role="status"' in done.text
    row = _row(api, reference)
    assert row.status.value == "verified" and row.agent_permission is not None
    assert row.agent_permission.value == "consumer_confirmed"
    assert row.consumer_confirmed_at == datetime(2025, 3, 10, 14, 30, tzinfo=timezone.utc)
    assert "agent_confirmed" in _actions(api, reference)
    assert f"We received your privacy request {reference}" in _subjects(api, ADA)
    assert f"Privacy request {reference} you made: received" in _subjects(api, AGENT)
    assert api.counts()["audit_events"] > before["audit_events"]

    # Once only: a second answer, either way, changes nothing and says it was answered.
    settled = api.counts()
    again = api.client.post(link, data={"answer": "no"})
    assert again.status_code == 409 and "already answered" in again.text
    assert _row(api, reference).status.value == "verified" and api.counts() == settled
    shown = api.client.get(link)
    assert shown.status_code == 200 and "already confirmed" in shown.text
    assert "<form" not in shown.text


def test_the_consumer_declines_the_request_is_rejected_and_both_are_told(api: Api) -> None:
    reference = _agent_verified(api)
    link = _link(api)
    done = api.client.post(link, data={"answer": "no"})
    assert done.status_code == 200 and "the request is closed" in done.text
    row = _row(api, reference)
    assert row.status.value == "rejected" and row.agent_permission is None
    assert row.denial_reason is not None and row.denial_reason.value == "agent_not_authorized"
    assert "agent_declined" in _actions(api, reference)
    closed = mails_to(api, ADA)[-1]
    assert closed["Subject"] == f"Your privacy request {reference} is closed"
    assert AGENT in mail_text(closed)
    copy = one_mail(api, AGENT, f"Privacy request {reference} you made: refused by the consumer")
    assert "did not authorise you" in mail_text(copy)
    assert "could not fulfil" not in mail_text(copy)  # the consumer refused, not staff
    # Nothing can be done with it now.
    started = api.staff.patch(f"/api/v1/requests/{reference}", json={"status": "in_progress"})
    assert started.status_code == 409
    assert api.client.post(link, data={"answer": "yes"}).status_code == 409
    assert _row(api, reference).status.value == "rejected"


def test_a_post_without_an_answer_asks_again_and_changes_nothing(api: Api) -> None:
    reference = _agent_verified(api)
    before = api.counts()
    for data in ({}, {"answer": "maybe"}):
        asked = api.client.post(_link(api), data=data)
        assert asked.status_code == 400 and 'role="alert"' in asked.text
    assert _row(api, reference).status.value == "pending_verification"
    assert api.counts() == before


# -- staff with signed permission ---------------------------------------------------------------

def test_staff_record_signed_permission_with_a_note(api: Api) -> None:
    reference = _agent_verified(api)
    url = f"/api/v1/requests/{reference}/agent-permission"
    before = api.counts()
    for body in ({}, {"note": "   "}):
        missing = api.staff.post(url, json=body)
        assert missing.status_code == 422 and missing.json()["error"] == "reason_required"
    assert api.counts() == before

    done = api.staff.post(url, json={"note": "signed form received by post, scanned to DMS-42"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "verified"
    assert done.json()["agent_permission"] == "signed_permission"
    assert "agent_permission_recorded" in _actions(api, reference)
    audit = api.staff.get(f"/api/v1/requests/{reference}/audit").json()
    assert any(e["note"] == "signed form received by post, scanned to DMS-42" for e in audit)
    assert f"We received your privacy request {reference}" in _subjects(api, ADA)

    # Recorded once; the consumer's link now says it needs no answer.
    again = api.staff.post(url, json={"note": "again"})
    assert again.status_code == 409 and again.json()["error"] == "not_awaiting_consumer"
    page = api.client.get(_link(api))
    assert "already confirmed" in page.text and "<form" not in page.text


def test_signed_permission_is_only_for_an_agents_request_awaiting_the_consumer(api: Api
                                                                             ) -> None:
    own = api.create()["reference"]
    refused = api.staff.post(f"/api/v1/requests/{own}/agent-permission", json={"note": "x"})
    assert refused.status_code == 409 and refused.json()["error"] == "not_awaiting_consumer"
    unverified = _file(api, conversation_id="agent-conv-2")["reference"]
    refused = api.staff.post(f"/api/v1/requests/{unverified}/agent-permission",
                             json={"note": "x"})
    assert refused.status_code == 409  # the agent has not proved their address yet
    assert _row(api, unverified).agent_permission is None
    assert api.staff.post("/api/v1/requests/PR-2222-2222/agent-permission",
                          json={"note": "x"}).status_code == 404


def test_the_assistant_token_cannot_record_permission(api: Api) -> None:
    reference = _agent_verified(api)
    before = api.counts()
    refused = api.post(f"/api/v1/requests/{reference}/agent-permission",
                       json={"note": "trust me, I am the agent"})
    assert refused.status_code == 403
    assert _row(api, reference).agent_permission is None and api.counts() == before


# -- the agent's side: nothing before the consumer, never the consumer's data ----------------

def test_the_agent_cannot_have_the_request_worked_before_the_consumer_confirms(api: Api
                                                                              ) -> None:
    reference = _agent_verified(api)
    before = api.counts()
    for status in ("in_progress", "completed"):
        moved = api.staff.patch(f"/api/v1/requests/{reference}", json={"status": status})
        assert moved.status_code == 409, moved.text
    # The agent cannot verify the request themselves with a fresh code either.
    resent = api.post(f"/api/v1/requests/{reference}/resend-code")
    assert resent.status_code == 409 and resent.json()["error"] == "awaiting_consumer"
    retyped = api.post(f"/api/v1/requests/{reference}/verify", json={"code": "123456"})
    assert retyped.status_code == 409
    assert _row(api, reference).status.value == "pending_verification"
    assert api.counts() == before


def test_the_export_link_goes_to_the_consumer_only(api: Api) -> None:
    reference = _confirmed(api)
    for status in ("in_progress", "completed"):
        moved = api.staff.patch(f"/api/v1/requests/{reference}", json={"status": status})
        assert moved.status_code == 200, moved.text
    done = [m for m in mails_to(api, ADA) if "is complete" in str(m["Subject"])]
    assert len(done) == 1 and "/exports/" in mail_text(done[0])
    to_agent = mails_to(api, AGENT)
    assert not any("/exports/" in mail_text(m) for m in to_agent)
    copy = [m for m in to_agent if str(m["Subject"]).endswith("you made: complete")]
    assert len(copy) == 1
    assert "went to the consumer only" in mail_text(copy[0])


def test_the_agents_copy_never_carries_an_export_link_even_if_given_one(api: Api) -> None:
    reference = _confirmed(api)
    app = api.client.app
    with app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        row = session.scalar(select(PrivacyRequest).where(PrivacyRequest.reference == reference))
        assert row is not None
        mail_id = agent_requests.copy_to_agent(
            session, app.state.outbox, api.settings, row, "completed", api.clock(),  # type: ignore[attr-defined]
            export_link="https://example.test/exports/SECRET-TOKEN", summary="Ada's data")
        session.commit()
    assert mail_id is not None
    app.state.outbox.deliver(mail_id)  # type: ignore[attr-defined]
    [copy] = [m for m in mails_to(api, AGENT) if str(m["Subject"]).endswith("made: complete")]
    text = mail_text(copy)
    assert "went to the consumer only" in text
    assert "SECRET-TOKEN" not in text and "Ada's data" not in text


def test_a_request_without_an_agent_gets_no_agent_copy(api: Api) -> None:
    reference = api.create()["reference"]
    with api.client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        row = session.scalar(select(PrivacyRequest).where(PrivacyRequest.reference == reference))
        assert row is not None
        assert agent_requests.copy_to_agent(
            session, api.client.app.state.outbox, api.settings, row, "received",  # type: ignore[attr-defined]
            api.clock()) is None


def test_the_agent_may_look_the_request_up_and_a_stranger_may_not(api: Api) -> None:
    reference = _agent_verified(api)
    for address in (AGENT, ADA):
        # (The notices of the agent's verification are sent in the background: count.)
        codes = _subjects(api, address).count("Your verification code")
        started = api.post("/api/v1/requests/lookup", json={
            "reference": reference, "email": address, "conversation_id": f"look-{address}"})
        assert started.status_code == 202
        vid = started.json()["verification_id"]
        code = api.last_code()
        assert _subjects(api, address).count("Your verification code") == codes + 1
        confirmed = api.post(f"/api/v1/verifications/{vid}/confirm", json={"code": code})
        assert confirmed.status_code == 200, confirmed.text
        read = api.get(f"/api/v1/requests/{reference}",
                       params={"verification_id": vid, "conversation_id": f"look-{address}"})
        assert read.status_code == 200 and read.json()["reference"] == reference
    stranger = "mallory@example.com"
    api.post("/api/v1/requests/lookup", json={
        "reference": reference, "email": stranger, "conversation_id": "look-mallory"})
    assert mails_to(api, stranger) == []  # no code: the address is not the request's
    proof = api.proof(stranger, "look-mallory")
    read = api.get(f"/api/v1/requests/{reference}",
                   params={"verification_id": proof, "conversation_id": "look-mallory"})
    assert read.status_code == 403 and read.json()["error"] == "verification_required"


# -- links that are not the consumer's ----------------------------------------------------------

def _refused(api: Api, path: str, reference: str, status: int, heading: str) -> None:
    """GET and POST to `path` both get `status` with `heading`, and nothing changes."""
    before = api.counts()
    for response in (api.client.get(path), api.client.post(path, data={"answer": "yes"})):
        assert response.status_code == status, response.text
        assert f"<h1>{heading}</h1>" in response.text and "<form" not in response.text
    assert _row(api, reference).status.value == "pending_verification"
    assert _row(api, reference).agent_permission is None
    assert api.counts() == before


def test_a_forged_or_altered_link_is_refused(api: Api) -> None:
    reference = _agent_verified(api)
    link = _link(api)
    token = link.rsplit("/", 1)[1]
    altered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    for path in (f"/agent-requests/{altered}", "/agent-requests/made-up",
                 f"/agent-requests/{reference}", f"/agent-requests/{'A' * 500}"):
        _refused(api, path, reference, 400, "This link is not valid")
    other_secret = agent_links.sign(b"another secret" * 3, reference,
                                    datetime(2025, 3, 17, tzinfo=timezone.utc))
    _refused(api, f"/agent-requests/{other_secret}", reference, 400, "This link is not valid")


def test_export_and_unsubscribe_tokens_do_not_open_the_page_nor_it_theirs(api: Api) -> None:
    reference = _agent_verified(api)
    secret: bytes = api.client.app.state.unsubscribe_secret  # type: ignore[attr-defined]
    until = datetime(2025, 3, 17, tzinfo=timezone.utc)
    export_token = export_links.sign(secret, reference, until)
    unsubscribe_token = unsubscribe.encode(secret, unsubscribe.new_link(
        ADA, unsubscribe.Scope(), now=api.clock(), ttl=timedelta(days=7)))
    for token in (export_token, unsubscribe_token):
        _refused(api, f"/agent-requests/{token}", reference, 400, "This link is not valid")
    token = _link(api).rsplit("/", 1)[1]
    assert api.client.get(f"/exports/{token}").status_code == 403
    assert api.client.post(f"/unsubscribe/{token}").status_code == 400


def test_an_expired_link_is_gone_and_changes_nothing(api: Api) -> None:
    reference = _agent_verified(api)
    link = _link(api)
    api.clock.advance(days=6, hours=23)
    assert api.client.get(link).status_code == 200  # still inside the window
    api.clock.advance(hours=1)  # March 17, 14:30: the window is over
    _refused(api, link, reference, 410, "This link has expired")


def test_a_request_made_by_no_agent_has_no_agent_page(api: Api) -> None:
    reference = api.create()["reference"]
    api.verify(reference)
    assert not any(LINK.search(mail_text(m)) for m in api.mails())
    secret: bytes = api.client.app.state.unsubscribe_secret  # type: ignore[attr-defined]
    # Even a link sealed with the right key and purpose for it opens no page.
    token = agent_links.sign(secret, reference, datetime(2025, 3, 17, tzinfo=timezone.utc))
    before = api.counts()
    for response in (api.client.get(f"/agent-requests/{token}"),
                     api.client.post(f"/agent-requests/{token}", data={"answer": "no"})):
        assert response.status_code == 400 and "<form" not in response.text
    assert _row(api, reference).status.value == "verified"
    assert _row(api, reference).denial_reason is None and api.counts() == before


# -- before the consumer confirms: the agent is a stranger to them -----------------------------

def test_an_unconfirmed_agent_hears_nothing_of_the_consumers_other_request(api: Api) -> None:
    """Staff mark the agent's request, still awaiting the consumer, a duplicate of the
    consumer's own request: the agent is told only that it closed, and reading it with
    their own proof shows no reference or due date of the consumer's other request."""
    own = _own_request(api)
    reference = _agent_verified(api)
    marked = api.staff.patch(f"/api/v1/requests/{reference}",
                             json={"status": "duplicate", "duplicate_of": own})
    assert marked.status_code == 200, marked.text
    copy = one_mail(api, AGENT, f"Privacy request {reference} you made: closed")
    text = mail_text(copy)
    assert own not in text and "April 24, 2025" not in text and "repeats" not in text
    assert not any(own in mail_text(m) for m in mails_to(api, AGENT))

    as_agent = _read_as(api, reference, AGENT)
    assert as_agent["status"] == "duplicate"
    assert as_agent["duplicate_of"] is None and as_agent["duplicate_of_due_at"] is None
    # The consumer, whose request it is, reads it in full.
    as_consumer = _read_as(api, reference, ADA)
    assert as_consumer["duplicate_of"] == own
    assert as_consumer["duplicate_of_due_at"].startswith("2025-04-24")


def test_an_unconfirmed_agent_hears_no_reason_for_a_denial_nor_the_appeal(api: Api) -> None:
    reference = _agent_verified(api)
    reason = "Staff's own words about the consumer's account 4711."
    denied = api.staff.patch(f"/api/v1/requests/{reference}",
                             json={"status": "rejected", "note": reason,
                                   "denial_reason": "exemption"})
    assert denied.status_code == 200, denied.text
    copy = one_mail(api, AGENT, f"Privacy request {reference} you made: closed")
    assert "4711" not in mail_text(copy) and "Reason" not in mail_text(copy)

    # The consumer appeals by replying (staff file it) and staff deny it in writing.
    told = len(mails_to(api, AGENT))
    filed = api.staff.post(f"/api/v1/requests/{reference}/appeals",
                           json={"reason": "I did ask for this.", "channel": "rest"})
    assert filed.status_code == 201, filed.text
    appeal = filed.json()["reference"]
    decision = "The appeal's written decision, naming account 4711."
    decided = api.staff.post(f"/api/v1/appeals/{appeal}/decision",
                             json={"outcome": "denied", "reason": decision})
    assert decided.status_code == 200, decided.text
    assert len(mails_to(api, AGENT)) == told  # no copy of the appeal, filed or decided
    assert any(decision in mail_text(m) for m in mails_to(api, ADA))

    as_agent = _read_as(api, reference, AGENT)
    assert as_agent["status"] == "rejected" and as_agent["appeal"] is None
    as_consumer = _read_as(api, reference, ADA)
    assert as_consumer["appeal"]["reference"] == appeal
    assert as_consumer["appeal"]["status"] == "denied"


def test_a_confirmed_agent_reads_the_request_in_full(api: Api) -> None:
    own = _own_request(api)
    reference = _confirmed(api)  # the consumer's yes: it repeats their own request
    as_agent = _read_as(api, reference, AGENT)
    assert as_agent["status"] == "duplicate" and as_agent["duplicate_of"] == own


# -- what the consumer and the agent are told of a duplicate ------------------------------------

def test_a_yes_that_makes_a_duplicate_names_the_consumers_first_request(api: Api) -> None:
    own = _own_request(api)
    reference = _agent_verified(api)
    done = api.client.post(_link(api), data={"answer": "yes"})
    assert done.status_code == 200, done.text
    assert _row(api, reference).status.value == "duplicate"
    assert f"repeats your earlier request {own}" in done.text
    assert "April 24, 2025" in done.text  # the first request's due date
    assert "We are working on the request and will respond by" not in done.text
    copy = one_mail(api, AGENT, f"Privacy request {reference} you made: already open")
    assert f"repeats {own}, which is still open" in mail_text(copy)
    assert "April 24, 2025" in mail_text(copy)


def test_the_agents_copy_of_a_duplicate_of_a_closed_request_says_it_was_answered(
        api: Api) -> None:
    own = _own_request(api)
    for status in ("in_progress", "completed"):
        moved = api.staff.patch(f"/api/v1/requests/{own}", json={"status": status})
        assert moved.status_code == 200, moved.text
    reference = _confirmed(api)  # the first is answered: this one is worked
    assert _row(api, reference).status.value == "verified"
    marked = api.staff.patch(f"/api/v1/requests/{reference}",
                             json={"status": "duplicate", "duplicate_of": own})
    assert marked.status_code == 200, marked.text
    text = mail_text(one_mail(api, AGENT, f"Privacy request {reference} you made: repeats an "
                                    "answered request"))
    assert f"repeats {own}, which we answered already" in text
    assert "still open" not in text


def test_an_expired_link_to_a_confirmed_request_says_it_was_confirmed(api: Api) -> None:
    reference = _confirmed(api)
    link = _link(api)
    api.clock.advance(days=7)  # the link's window is over
    before = api.counts()
    for response in (api.client.get(link), api.client.post(link, data={"answer": "no"})):
        assert response.status_code == 410
        assert "already confirmed" in response.text
        assert "closed without being acted on" not in response.text
        assert "<form" not in response.text
    assert _row(api, reference).status.value == "verified" and api.counts() == before


def test_the_agent_is_told_of_an_appeal_extension(api: Api) -> None:
    reference = _confirmed(api)
    app = api.client.app
    due = datetime(2025, 6, 9, 23, 59, 59, tzinfo=timezone.utc)
    with app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        row = session.scalar(select(PrivacyRequest).where(PrivacyRequest.reference == reference))
        assert row is not None
        mail_id = agent_requests.copy_to_agent(
            session, app.state.outbox, api.settings, row, "appeal_extended", api.clock(),  # type: ignore[attr-defined]
            appeal="AP-TEST-0001", due_at=due, reason="We are still collecting records.")
        session.commit()
    assert mail_id is not None
    app.state.outbox.deliver(mail_id)  # type: ignore[attr-defined]
    copy = one_mail(api, AGENT, f"Privacy request {reference} you made: appeal extended")
    text = mail_text(copy)
    assert "more time to decide the appeal AP-TEST-0001" in text
    assert ("Reason: We are still collecting records. We will decide it in writing by "
            "June 9, 2025.") in text
