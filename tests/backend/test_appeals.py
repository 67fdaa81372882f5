"""Appeals of denied requests over REST: the assistant files one with its proof of the
request's address (anything else is a 403 that looks the same for a request that does not
exist), once per request, only for a denied request; staff decide it in writing (a grant
reopens the request, a denial names where to complain) and extend it once where the state
allows; a deletion of the address keeps the decision and forgets the person's words.

Requests and appeals are filed through the real API on 10 March 2025, 14:30 UTC; the due
dates are written out by hand (California: appeals decided within 60 days, no extension;
Colorado: within 45 days, extendable once by 60)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.message import Message
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_backend.core.errors import ApiError
from privacy_backend.core.models import Appeal, PrivacyRequest
from privacy_backend.services import appeals, fulfilment

from .support import Api, mail_text, mails_to, one_mail, parse_time

ADA, EVE = "ada@example.com", "eve@example.com"
AGENT = "agent@lawfirm.example"
CONV = "conv-ada"
LINK = re.compile(r"https?://\S+(/agent-requests/\S+)")


@pytest.fixture
def api(store_api: Api) -> Api:
    return store_api


def _eod(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=timezone.utc)


def _denied(api: Api, region: str = "California", request_type: str = "know",
            address: str = ADA, conversation: str = CONV) -> tuple[str, str]:
    """A request filed and verified in `conversation`, then denied: (its reference, the
    verification id its code confirmed, the assistant's proof)."""
    ref = str(api.create(type=request_type, email=address, region=region,
                         conversation_id=conversation)["reference"])
    proof = str(api.verify(ref)["verification_id"])
    denied = api.staff.patch(f"/api/v1/requests/{ref}", json={
        "status": "rejected", "note": "We hold nothing under this address."})
    assert denied.status_code == 200, denied.text
    return ref, proof


def _appeal(api: Api, ref: str, proof: str | None, conversation: str | None = CONV,
            reason: str = "I have an account with you since 2019.") -> Any:
    body = {"reason": reason, "channel": "web", "conversation_id": conversation,
            **({"verification_id": proof} if proof else {})}
    return api.post(f"/api/v1/requests/{ref}/appeals", json=body)


def _appeal_row(api: Api, reference: str) -> Appeal:
    with Session(api.engine) as session:
        row = session.scalar(select(Appeal).where(Appeal.reference == reference))
        assert row is not None
        return row


def _request_row(api: Api, reference: str) -> PrivacyRequest:
    with Session(api.engine) as session:
        row = session.scalar(select(PrivacyRequest).where(PrivacyRequest.reference == reference))
        assert row is not None
        return row


# -- filing ---------------------------------------------------------------------------------
def test_the_assistant_files_an_appeal_with_its_proof_once(api: Api) -> None:
    ref, proof = _denied(api)
    filed = _appeal(api, ref, proof)
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert body["reference"].startswith("AP-") and body["request_reference"] == ref
    assert (body["status"], body["created"], body["decision"]) == ("open", True, None)
    assert parse_time(body["due_at"]) == _eod(2025, 5, 9)  # 10 March + 60 days
    assert filed.headers["Location"] == f"/api/v1/appeals/{body['reference']}"
    [received] = [m for m in mails_to(api, ADA) if "appeal" in m["Subject"]]
    assert received["Subject"] == f"We received your appeal {body['reference']}"
    assert "May 9, 2025" in mail_text(received) and ref in mail_text(received)
    trail = api.staff.get(f"/api/v1/requests/{ref}/audit").json()
    assert (trail[-1]["actor"], trail[-1]["action"]) == ("requester", "appeal_filed")

    again = _appeal(api, ref, proof, reason="and again")
    assert again.status_code == 200
    assert (again.json()["reference"], again.json()["created"]) == (body["reference"], False)
    assert _appeal_row(api, body["reference"]).reason == "I have an account with you since 2019."
    assert len([m for m in mails_to(api, ADA) if "appeal" in m["Subject"]]) == 1
    # The request shows its appeal.
    shown = api.staff.get(f"/api/v1/requests/{ref}").json()["appeal"]
    assert (shown["reference"], shown["status"]) == (body["reference"], "open")


def test_without_proof_of_the_address_no_appeal_is_filed(api: Api) -> None:
    ref, _ = _denied(api)
    eves_ref, eves_proof = _denied(api, address=EVE, conversation="conv-eve")
    before = api.counts()
    # No proof; Eve's own proof (another address) in her conversation or in Ada's.
    for proof, conversation in ((None, CONV), (eves_proof, "conv-eve"), (eves_proof, CONV)):
        refused = _appeal(api, ref, proof, conversation)
        assert refused.status_code == 403, (proof, conversation)
        assert refused.json()["error"] == "verification_required"
        # The same answer for a reference that does not exist.
        unknown = _appeal(api, "PR-2222-3333", proof, conversation)
        assert (unknown.status_code, unknown.json()) == (403, refused.json())
    assert api.counts() == before
    with Session(api.engine) as session:
        assert session.scalars(select(Appeal)).all() == []
    assert _appeal(api, eves_ref, eves_proof, "conv-eve").status_code == 201  # her own


def test_only_a_denied_request_can_be_appealed(api: Api) -> None:
    ref = str(api.create(email=ADA, conversation_id=CONV)["reference"])
    proof = str(api.verify(ref)["verification_id"])
    refused = _appeal(api, ref, proof)
    assert refused.status_code == 409
    assert (refused.json()["error"], refused.json()["current_status"]) == (
        "not_appealable", "verified")


def test_staff_file_an_appeal_made_by_reply_without_proof(api: Api) -> None:
    ref, _ = _denied(api)
    filed = api.staff.post(f"/api/v1/requests/{ref}/appeals",
                           json={"reason": "By email: I disagree.", "channel": "rest"})
    assert filed.status_code == 201, filed.text


# -- deciding -------------------------------------------------------------------------------
def test_the_assistant_cannot_decide_list_or_extend_appeals(api: Api) -> None:
    ref, proof = _denied(api)
    appeal = _appeal(api, ref, proof).json()["reference"]
    for method, url, body in (
            ("POST", f"/api/v1/appeals/{appeal}/decision",
             {"outcome": "granted", "reason": "ok"}),
            ("POST", f"/api/v1/appeals/{appeal}/extend", {"reason": "busy"}),
            ("GET", "/api/v1/appeals", None), ("GET", f"/api/v1/appeals/{appeal}", None)):
        refused = api.request(method, url, json=body)
        assert refused.status_code == 403 and refused.json()["error"] == "staff_only", url
    assert _appeal_row(api, appeal).status.value == "open"
    assert _request_row(api, ref).status.value == "rejected"


def test_a_denied_appeal_says_where_to_complain(api: Api) -> None:
    ref, proof = _denied(api)
    appeal = _appeal(api, ref, proof).json()["reference"]
    api.clock.advance(days=20)
    reason = "We searched every system again and hold nothing under this address."
    decided = api.staff.post(f"/api/v1/appeals/{appeal}/decision",
                             json={"outcome": "denied", "reason": reason})
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert (body["status"], body["decision"]) == ("denied", reason)
    assert parse_time(body["decided_at"]) == api.clock.now
    assert _appeal_row(api, appeal).decided_by == "staff-token"
    letter = one_mail(api, ADA, f"Your appeal {appeal} is denied")
    text = mail_text(letter)
    assert reason in text
    assert ("the California Privacy Protection Agency: "
            "https://cppa.ca.gov/webapplications/complaint") in text
    assert _request_row(api, ref).status.value == "rejected"

    again = api.staff.post(f"/api/v1/appeals/{appeal}/decision",
                           json={"outcome": "granted", "reason": "changed our mind"})
    assert again.status_code == 409 and again.json()["error"] == "appeal_decided"
    assert _appeal_row(api, appeal).status.value == "denied"


def test_a_granted_appeal_reopens_the_request(api: Api) -> None:
    ref, proof = _denied(api)
    appeal = _appeal(api, ref, proof).json()["reference"]
    decided = api.staff.post(f"/api/v1/appeals/{appeal}/decision", json={
        "outcome": "granted", "reason": "Your account was under your old address."})
    assert decided.status_code == 200, decided.text
    row = _request_row(api, ref)
    assert (row.status.value, row.closed_at, row.denial_reason) == ("in_progress", None, None)
    assert row.due_at == _eod(2025, 5, 9)  # due when the appeal was
    trail = api.staff.get(f"/api/v1/requests/{ref}/audit").json()
    assert [e["action"] for e in trail][-2:] == ["reopened_on_appeal", "appeal_decided"]
    assert trail[-2]["after"]["status"] == "in_progress"
    letter = one_mail(api, ADA, f"Your appeal {appeal} is granted")
    assert "May 9, 2025" in mail_text(letter)
    # The reopened request is worked as any other.
    done = api.staff.patch(f"/api/v1/requests/{ref}", json={"status": "completed"})
    assert done.status_code == 200, done.text


def test_staff_list_appeals_soonest_due_first(api: Api) -> None:
    ca_ref, ca_proof = _denied(api)
    co_ref, co_proof = _denied(api, region="Colorado", address=EVE, conversation="conv-eve")
    ca = _appeal(api, ca_ref, ca_proof).json()["reference"]
    co = _appeal(api, co_ref, co_proof, "conv-eve").json()["reference"]
    listed = api.staff.get("/api/v1/appeals").json()
    assert [a["reference"] for a in listed] == [co, ca]  # April 24 before May 9
    assert api.staff.get("/api/v1/appeals?status=granted").json() == []
    got = api.staff.get(f"/api/v1/appeals/{co.lower().replace('-', ' ')}")
    assert got.status_code == 200 and got.json()["reference"] == co
    assert api.staff.get("/api/v1/appeals/AP-2222-3333").status_code == 404


# -- extending ------------------------------------------------------------------------------
def test_an_appeal_is_extended_once_where_the_state_allows_it(api: Api) -> None:
    ca_ref, ca_proof = _denied(api)
    ca = _appeal(api, ca_ref, ca_proof).json()["reference"]
    refused = api.staff.post(f"/api/v1/appeals/{ca}/extend", json={"reason": "busy"})
    assert refused.status_code == 409 and refused.json()["error"] == "extension_not_allowed"

    co_ref, co_proof = _denied(api, region="Colorado", address=EVE, conversation="conv-eve")
    filed = _appeal(api, co_ref, co_proof, "conv-eve").json()
    assert parse_time(filed["due_at"]) == _eod(2025, 4, 24)  # 10 March + 45 days
    reason = "The archive holding the account needs restoring."
    extended = api.staff.post(f"/api/v1/appeals/{filed['reference']}/extend",
                              json={"reason": reason})
    assert extended.status_code == 200, extended.text
    assert parse_time(extended.json()["due_at"]) == _eod(2025, 6, 23)  # + 60 days
    notice = one_mail(api, EVE, f"Your appeal {filed['reference']}: more time needed")
    assert reason in mail_text(notice) and "June 23, 2025" in mail_text(notice)
    again = api.staff.post(f"/api/v1/appeals/{filed['reference']}/extend",
                           json={"reason": "still busy"})
    assert again.status_code == 409 and again.json()["error"] == "extension_not_allowed"


def test_an_appeal_past_its_due_date_is_not_extended(api: Api) -> None:
    ref, proof = _denied(api, region="Colorado")
    appeal = _appeal(api, ref, proof).json()["reference"]
    api.clock.now = datetime(2025, 4, 25, 0, 1, tzinfo=timezone.utc)
    late = api.staff.post(f"/api/v1/appeals/{appeal}/extend", json={"reason": "busy"})
    assert late.status_code == 409 and late.json()["error"] == "extension_too_late"
    assert _appeal_row(api, appeal).due_at == _eod(2025, 4, 24)


# -- erasure --------------------------------------------------------------------------------
def test_a_deletion_keeps_the_appeals_decision_and_forgets_the_persons_words(api: Api) -> None:
    ref, proof = _denied(api)
    appeal = _appeal(api, ref, proof, reason="My account number is 12345.").json()["reference"]
    decision = "The request was made a third time within 12 months."
    assert api.staff.post(f"/api/v1/appeals/{appeal}/decision", json={
        "outcome": "denied", "reason": decision}).status_code == 200
    deletion = str(api.create(type="deletion", email=ADA, conversation_id=CONV)["reference"])
    api.verify(deletion)
    assert api.staff.patch(f"/api/v1/requests/{deletion}",
                           json={"status": "in_progress"}).status_code == 200
    assert api.staff.patch(f"/api/v1/requests/{deletion}",
                           json={"status": "completed"}).status_code == 200

    row = _appeal_row(api, appeal)
    assert (row.reason, row.conversation_id, row.erased_at) == ("[erased]", None, api.clock.now)
    assert (row.status.value, row.decision) == ("denied", decision)
    assert _request_row(api, ref).email == "erased"
    trail = api.staff.get(f"/api/v1/requests/{deletion}/audit").json()
    assert [e for e in trail if e["action"] == "erased"][0]["after"]["erased"][
        "appeals_minimised"] == 1


def test_the_persons_export_shows_each_request_with_its_appeal(api: Api) -> None:
    ref, proof = _denied(api)
    appeal = _appeal(api, ref, proof).json()["reference"]
    access = str(api.create(type="access", email=ADA, conversation_id=CONV)["reference"])
    api.verify(access)
    for status in ("in_progress", "completed"):
        assert api.staff.patch(f"/api/v1/requests/{access}",
                               json={"status": status}).status_code == 200
    [notice] = [m for m in mails_to(api, ADA) if "complete" in m["Subject"]]
    match = re.search(r"https?://[^/\s]+(/exports/\S+)", mail_text(notice))
    assert match, mail_text(notice)
    package = api.client.get(match.group(1), params={"format": "json"}).json()
    by_ref = {r["reference"]: r for r in package["requests"]}
    denied = by_ref[ref]
    assert (denied["status"], denied["denial_reason"], denied["partial"]) == (
        "rejected", "other", False)
    assert denied["closed_at"] is not None and denied["agent_email"] is None
    assert denied["appeal"]["reference"] == appeal
    assert denied["appeal"]["status"] == "open"
    assert denied["appeal"]["reason"] == "I have an account with you since 2019."
    assert parse_time(denied["appeal"]["due_at"]) == _eod(2025, 5, 9)
    assert by_ref[access]["appeal"] is None


# -- what a grant may not do ----------------------------------------------------------------
def _agents_request(api: Api, region: str = "California", request_type: str = "deletion"
                    ) -> tuple[str, str]:
    """An agent's request for Ada, its code confirmed by the agent: (its reference, the
    agent's proof)."""
    ref = str(api.create(type=request_type, email=AGENT, consumer_email=ADA,
                         authorized_agent=True, region=region,
                         conversation_id="agent-conv")["reference"])
    return ref, str(api.verify(ref)["verification_id"])


def _answer(api: Api, answer: str) -> None:
    """The consumer answers the newest confirmation link they were sent."""
    [link] = [found.group(1) for m in mails_to(api, ADA)
              if (found := LINK.search(mail_text(m)))][-1:]
    assert api.client.post(link, data={"answer": answer}).status_code == 200


def _lookup_proof(api: Api, ref: str, address: str, conversation: str) -> str:
    """A status-lookup code for `address` confirmed in `conversation`: the assistant's
    proof of that address."""
    started = api.post("/api/v1/requests/lookup", json={
        "reference": ref, "email": address, "conversation_id": conversation})
    vid = str(started.json()["verification_id"])
    confirmed = api.post(f"/api/v1/verifications/{vid}/confirm",
                         json={"code": api.last_code()})
    assert confirmed.status_code == 200, confirmed.text
    return vid


def _appeal_mails(api: Api, address: str) -> list[Message]:
    return [m for m in mails_to(api, address) if "appeal" in str(m["Subject"]).lower()]


def test_an_agent_cannot_appeal_the_consumers_no_and_a_grant_cannot_override_it(
        api: Api) -> None:
    ref, agents_proof = _agents_request(api)
    _answer(api, "no")  # Ada did not authorise the agent
    assert _request_row(api, ref).denial_reason is not None
    before = api.counts()
    # The agent appeals Ada's "no" with their own proof: refused, nothing filed or mailed.
    refused = _appeal(api, ref, agents_proof, "agent-conv", reason="Ada asked me, really.")
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "verification_required"
    assert api.counts() == before
    with Session(api.engine) as session:
        assert session.scalars(select(Appeal)).all() == []
    assert _appeal_mails(api, ADA) == [] and _appeal_mails(api, AGENT) == []

    # Ada herself may appeal, with a code for her own address; a grant still cannot make
    # the request workable without her permission for the agent.
    adas_proof = _lookup_proof(api, ref, ADA, "ada-conv")
    filed = _appeal(api, ref, adas_proof, "ada-conv", reason="I clicked the wrong button.")
    assert filed.status_code == 201, filed.text
    appeal = filed.json()["reference"]
    mails = len(api.mails())
    granted = api.staff.post(f"/api/v1/appeals/{appeal}/decision",
                             json={"outcome": "granted", "reason": "ok"})
    assert granted.status_code == 409, granted.text
    assert granted.json()["error"] == "not_reopenable"
    row = _request_row(api, ref)
    assert (row.status.value, row.agent_permission) == ("rejected", None)
    assert _appeal_row(api, appeal).status.value == "open"
    assert len(api.mails()) == mails
    erase = api.staff.patch(f"/api/v1/requests/{ref}", json={"status": "completed"})
    assert erase.status_code == 409
    assert _request_row(api, ref).email == ADA  # nothing erased


def test_a_grant_never_reopens_a_request_nobody_verified(api: Api) -> None:
    ref = str(api.create(type="deletion", email=ADA, conversation_id=CONV)["reference"])
    denied = api.staff.patch(f"/api/v1/requests/{ref}", json={
        "status": "rejected", "note": "The code was never confirmed.",
        "denial_reason": "identity_not_verified"})
    assert denied.status_code == 200, denied.text
    # A reply from anyone, filed by staff, then granted: refused, nothing changes.
    appeal = api.staff.post(f"/api/v1/requests/{ref}/appeals", json={
        "reason": "It is me, delete everything.", "channel": "rest"}).json()["reference"]
    before, mails = api.counts(), len(api.mails())
    granted = api.staff.post(f"/api/v1/appeals/{appeal}/decision",
                             json={"outcome": "granted", "reason": "ok"})
    assert granted.status_code == 409, granted.text
    assert granted.json()["error"] == "not_reopenable"
    assert (api.counts(), len(api.mails())) == (before, mails)
    row = _request_row(api, ref)
    assert (row.status.value, row.verified_at) == ("rejected", None)
    assert _appeal_row(api, appeal).status.value == "open"
    assert api.staff.patch(f"/api/v1/requests/{ref}",
                           json={"status": "completed"}).status_code == 409
    # It is decided by a denial, with the reason.
    assert api.staff.post(f"/api/v1/appeals/{appeal}/decision", json={
        "outcome": "denied", "reason": "File again and confirm its code."}).status_code == 200


def test_an_agents_request_the_consumer_permitted_is_reopened(api: Api) -> None:
    ref, agents_proof = _agents_request(api, request_type="access")
    _answer(api, "yes")
    assert api.staff.patch(f"/api/v1/requests/{ref}", json={
        "status": "rejected", "note": "No account."}).status_code == 200
    # A denial for another reason: the agent may appeal it with their own proof.
    filed = _appeal(api, ref, agents_proof, "agent-conv")
    assert filed.status_code == 201, filed.text
    granted = api.staff.post(f"/api/v1/appeals/{filed.json()['reference']}/decision",
                             json={"outcome": "granted", "reason": "Found it."})
    assert granted.status_code == 200, granted.text
    assert _request_row(api, ref).status.value == "in_progress"


def test_a_grant_names_an_open_request_filed_meanwhile(api: Api) -> None:
    ref, proof = _denied(api, request_type="access")
    appeal = _appeal(api, ref, proof).json()["reference"]
    api.clock.advance(days=3)
    again = str(api.create(type="access", email=ADA, conversation_id="conv-2")["reference"])
    api.verify(again)  # the first is denied: a request of its own
    assert api.staff.post(f"/api/v1/appeals/{appeal}/decision", json={
        "outcome": "granted", "reason": "We found the account."}).status_code == 200
    trail = api.staff.get(f"/api/v1/requests/{ref}/audit").json()
    [reopened] = [e for e in trail if e["action"] == "reopened_on_appeal"]
    assert reopened["after"]["open_also"] == again
    assert again in reopened["note"]


# -- one appeal per request -----------------------------------------------------------------
def test_a_second_denial_says_the_appeal_was_decided_and_where_to_complain(api: Api) -> None:
    ref, proof = _denied(api)
    [first] = [m for m in mails_to(api, ADA) if m["Subject"] == f"Your privacy request {ref}"]
    assert "You can appeal this decision" in mail_text(first)
    appeal = _appeal(api, ref, proof).json()["reference"]
    assert api.staff.post(f"/api/v1/appeals/{appeal}/decision", json={
        "outcome": "granted", "reason": "Look again."}).status_code == 200
    assert api.staff.patch(f"/api/v1/requests/{ref}", json={
        "status": "rejected", "note": "Still nothing under this address."}).status_code == 200

    [_, second] = [m for m in mails_to(api, ADA)
                   if m["Subject"] == f"Your privacy request {ref}"]
    text = mail_text(second)
    assert "Still nothing under this address." in text
    assert "You can appeal" not in text and "I want to appeal" not in text
    assert f"Your appeal {appeal} of an earlier decision" in text
    assert "cannot be appealed again" in text
    assert ("the California Privacy Protection Agency: "
            "https://cppa.ca.gov/webapplications/complaint") in text
    # Filing again gives the decided appeal back, as the letter says.
    again = _appeal(api, ref, proof, reason="again")
    assert (again.status_code, again.json()["reference"], again.json()["status"]) == (
        200, appeal, "granted")


# -- two decisions at once --------------------------------------------------------------------
def test_a_second_decision_of_the_same_appeal_is_refused_and_changes_nothing(api: Api) -> None:
    ref, proof = _denied(api)
    appeal = _appeal(api, ref, proof).json()["reference"]
    app = api.client.app
    with app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        # One staff member's session reads the appeal open ...
        seen = appeals.get_or_404(session, appeal)
        assert appeals.is_open(seen)
        session.commit()  # the session keeps what it read (expire_on_commit=False)
        # ... while another decides it first.
        assert api.staff.post(f"/api/v1/appeals/{appeal}/decision", json={
            "outcome": "denied", "reason": "Nothing under this address."}).status_code == 200
        before, mails = api.counts(), len(api.mails())
        work = fulfilment.Work(session=session, settings=api.settings, now=api.clock(),
                               outbox=app.state.outbox,  # type: ignore[attr-defined]
                               tracker_store=app.state.tracker_store,  # type: ignore[attr-defined]
                               actor="agent:second@example.com")
        with pytest.raises(ApiError) as refused:
            appeals.decide(work, appeal, "granted", "Reopened after all.")
        assert (refused.value.status_code, refused.value.code) == (409, "appeal_decided")
        session.rollback()
        assert seen.status.value == "denied"  # read afresh under the lock
    assert (api.counts(), len(api.mails())) == (before, mails)
    row = _appeal_row(api, appeal)
    assert (row.status.value, row.decided_by) == ("denied", "staff-token")
    assert _request_row(api, ref).status.value == "rejected"


def test_the_agent_is_told_of_an_appeals_extension(api: Api) -> None:
    ref, _ = _agents_request(api, region="Colorado", request_type="access")
    _answer(api, "yes")
    assert api.staff.patch(f"/api/v1/requests/{ref}", json={
        "status": "rejected", "note": "No account."}).status_code == 200
    appeal = api.staff.post(f"/api/v1/requests/{ref}/appeals", json={
        "reason": "By email: I disagree.", "channel": "rest"}).json()["reference"]
    seen = len(mails_to(api, AGENT))
    extended = api.staff.post(f"/api/v1/appeals/{appeal}/extend",
                              json={"reason": "The archive needs restoring."})
    assert extended.status_code == 200, extended.text
    [copy] = mails_to(api, AGENT)[seen:]
    assert copy["Subject"].startswith(f"Privacy request {ref} you made")
