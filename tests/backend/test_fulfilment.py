"""Completing a request fulfils it over the assistant's own data: an access request's export
(the signed, expiring link and what it shows), a deletion's erasure of the linked
conversations (tracker store, handoffs, verifications, mail files, preferences) with what is
kept, a crash in the middle of a deletion, and a correction's required note.

Each test builds two people: Ada, whose request is completed, and Bob, whose data must come
through untouched. Conversations are written to a Rasa-shaped tracker store."""

from __future__ import annotations

import email.utils
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privacy_backend.core.models import (
    AuditEvent,
    ConversationLink,
    ExportDownload,
    Handoff,
    MarketingPreference,
    PrivacyRequest,
    Suppression,
    Verification,
)
from privacy_backend.core.settings import Settings
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.services import erasure

from .support import Api
from .tracker_support import chat, event_count

ADA, BOB = "ada@example.com", "bob@example.com"
ADA_CONV, BOB_CONV = "conv-ada", "conv-bob"
ADA_SAYS = "what do you keep about me?"
BOB_SAYS = "bob's own question about cookies"


@pytest.fixture
def api(store_api: Api) -> Api:
    return store_api


def _verified(api: Api, request_type: str, address: str, conversation: str,
              **fields: Any) -> str:
    """File a request from `conversation` and verify it there with its emailed code."""
    ref = str(api.create(type=request_type, email=address, conversation_id=conversation,
                         **fields)["reference"])
    api.verify(ref)
    return ref


def _start(api: Api, ref: str) -> None:
    moved = api.staff.patch(f"/api/v1/requests/{ref}", json={"status": "in_progress"})
    assert moved.status_code == 200, moved.text


def _complete(api: Api, ref: str, note: str | None = None) -> Any:
    body = {"status": "completed", **({"note": note} if note else {})}
    return api.staff.patch(f"/api/v1/requests/{ref}", json=body)


def _mails_to(api: Api, address: str) -> list[Any]:
    return [m for m in api.mails()
            if address in {a for _, a in email.utils.getaddresses([m["To"] or ""])}]


def _files_to(settings: Settings, address: str) -> list[Path]:
    return [p for p in settings.mail_path.glob("*.eml") if address in p.read_text()]


def _two_people(api: Api, store: TrackerStore, ada_type: str) -> tuple[str, str]:
    """Ada and Bob each chat, verify and file a request; Ada's is in progress."""
    chat(store, ADA_CONV, api.clock.now, (ADA_SAYS, "We keep what the statement lists."),
         ("my code is 482913", "Thanks, verified."))
    chat(store, BOB_CONV, api.clock.now, (BOB_SAYS, "Cookies are described here."))
    ada = _verified(api, ada_type, ADA, ADA_CONV, name="Ada Lovelace",
                    details="please include my chat history")
    bob = _verified(api, "access", BOB, BOB_CONV, name="Bob Byron")
    _start(api, ada)
    return ada, bob


def _link_path(message: Any) -> str:
    body = message.get_payload(decode=True).decode()
    match = re.search(r"https?://[^/\s]+(/exports/\S+)", body)
    assert match, body
    return match.group(1)


# -- access -------------------------------------------------------------------------------
def test_an_access_request_emails_a_link_to_the_requesters_own_data_only(
        api: Api, store: TrackerStore) -> None:
    ada, bob = _two_people(api, store, "access")
    done = _complete(api, ada)
    assert done.status_code == 200 and done.json()["status"] == "completed", done.text
    [notice] = [m for m in _mails_to(api, ADA) if "complete" in m["Subject"]]
    path = _link_path(notice)

    page = api.client.get(path)
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in page.headers["cache-control"]
    assert ADA_SAYS.replace("'", "&#39;") in page.text and ada in page.text
    assert "Bob" not in page.text and bob not in page.text and "cookies" not in page.text

    package = api.client.get(path, params={"format": "json"}).json()
    assert (package["schema_version"], package["subject"]) == ("1", {"email": ADA})
    assert [r["reference"] for r in package["requests"]] == [ada]
    assert package["requests"][0]["name"] == "Ada Lovelace"
    [conversation] = package["conversations"]
    assert conversation["conversation"] == ADA_CONV
    said = [m["text"] for m in conversation["messages"] if m["from"] == "user"]
    assert said == [ADA_SAYS, "my code is [code]"]
    assert "482913" not in str(package) and BOB not in str(package)
    assert all(m["at"] for m in conversation["messages"])

    with Session(api.engine) as session:
        downloads = session.scalars(select(ExportDownload.format)
                                    .order_by(ExportDownload.id)).all()
    assert downloads == ["html", "json"]
    trail = api.staff.get(f"/api/v1/requests/{ada}/audit").json()
    assert [e["action"] for e in trail][-2:] == ["export_created", "status_changed"]


def test_a_changed_link_is_refused_and_an_old_one_is_gone(api: Api, store: TrackerStore
                                                          ) -> None:
    ada, _ = _two_people(api, store, "portability")
    assert _complete(api, ada).status_code == 200
    [notice] = [m for m in _mails_to(api, ADA) if "complete" in m["Subject"]]
    path = _link_path(notice)
    token = path.rsplit("/", 1)[1]
    flipped = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    for wrong in (f"/exports/{flipped}", "/exports/not-a-token", f"/exports/{token[:-4]}"):
        refused = api.client.get(wrong)
        assert refused.status_code == 403, wrong
        assert ADA not in refused.text
    api.clock.advance(days=api.settings.export_link_ttl_days, seconds=1)
    gone = api.client.get(path)
    assert gone.status_code == 410 and ADA not in gone.text
    with Session(api.engine) as session:
        assert session.scalar(select(func.count()).select_from(ExportDownload)) == 0


# -- deletion -----------------------------------------------------------------------------
def _with_marketing_and_handoffs(api: Api) -> None:
    """Ada opts out of marketing from her conversation; both are handed to a person."""
    vid = api.proof(ADA, ADA_CONV)
    opted = api.patch("/api/v1/preferences", params={"email": ADA}, json={
        "source": "chat", "global_opt_out": True, "verification_id": vid,
        "conversation_id": ADA_CONV})
    assert opted.status_code == 200, opted.text
    for conversation in (ADA_CONV, BOB_CONV):
        queued = api.post("/api/v1/handoffs", json={
            "conversation_id": conversation, "reason": "asked for a person",
            "summary": f"summary of {conversation}"})
        assert queued.status_code == 201, queued.text


def _held(api: Api, store: TrackerStore, address: str, conversation: str) -> dict[str, int]:
    """What is held for one person, counted past the service."""
    with Session(api.engine) as session:
        def count(model: Any, *where: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(model).where(*where))
                       or 0)
        return {
            "events": event_count(store, conversation),
            "handoffs": count(Handoff, Handoff.conversation_id == conversation),
            "links": count(ConversationLink, ConversationLink.email == address),
            "verifications": count(Verification, Verification.email == address),
            "preferences": count(MarketingPreference, MarketingPreference.email == address),
            "requests_with_address": count(PrivacyRequest, PrivacyRequest.email == address),
            "mail_files": len(_files_to(api.settings, address)),
        }


def test_a_completed_deletion_erases_the_conversations_and_keeps_the_opt_out(
        api: Api, store: TrackerStore) -> None:
    earlier = _verified(api, "access", ADA, "conv-ada-earlier")
    ada, bob = _two_people(api, store, "deletion")
    _with_marketing_and_handoffs(api)
    bob_before = _held(api, store, BOB, BOB_CONV)
    ada_before = _held(api, store, ADA, ADA_CONV)
    assert min(ada_before.values()) > 0
    assert min(v for k, v in bob_before.items() if k != "preferences") > 0

    done = _complete(api, ada)
    assert done.status_code == 200 and done.json()["status"] == "completed", done.text
    api.mails()  # lets the outbox hand over the completion notice

    after = _held(api, store, ADA, ADA_CONV)
    assert after == {"events": 0, "handoffs": 0, "links": 0, "verifications": 0,
                     "preferences": 0, "requests_with_address": 0, "mail_files": 1}
    [notice] = _files_to(api.settings, ADA)  # the one mail left is the answer itself
    assert "is complete" in notice.read_text()
    assert _held(api, store, BOB, BOB_CONV) == bob_before

    # The opt-out outlives the deletion: the address reads as opted out of everything.
    shown = api.staff.get("/api/v1/preferences", params={"email": ADA}).json()
    assert shown["global_opt_out"] is True
    with Session(api.engine) as session:
        [suppression] = session.scalars(select(Suppression)).all()
        assert ADA not in suppression.email_hash
        kept = {r.reference: r for r in session.scalars(select(PrivacyRequest))}
    for reference in (ada, earlier):
        record = kept[reference]
        assert (record.email, record.name, record.details, record.conversation_id) == (
            "erased", None, None, None)
        assert record.erased_at is not None
    assert kept[bob].email == BOB and kept[bob].name == "Bob Byron"
    trail = api.staff.get(f"/api/v1/requests/{ada}/audit").json()
    erased = [e for e in trail if e["action"] == "erased"]
    assert len(erased) == 1
    assert erased[0]["after"]["erased"]["tracker_events"] == ada_before["events"]
    assert erased[0]["after"]["erased"]["handoffs"] == 1
    assert {k["what"].split(":")[0] for k in erased[0]["after"]["kept"]} >= {
        "a suppression entry"}
    assert ADA not in str(trail)
    again = _complete(api, ada)
    assert again.status_code == 409


def test_a_crash_in_the_middle_of_a_deletion_is_finished_by_completing_again(
        api: Api, store: TrackerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    ada, _ = _two_people(api, store, "deletion")
    _with_marketing_and_handoffs(api)
    planned_events = event_count(store, ADA_CONV)

    def crash(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the backend died after erasing the tracker store")

    monkeypatch.setattr(erasure, "erase_rows", crash)
    with pytest.raises(RuntimeError):
        _complete(api, ada)
    # Half done: the events are gone, the backend rolled back, the request still open.
    half = _held(api, store, ADA, ADA_CONV)
    assert half["events"] == 0 and half["handoffs"] == 1 and half["verifications"] > 0
    assert api.staff.get(f"/api/v1/requests/{ada}").json()["status"] == "in_progress"

    monkeypatch.undo()
    done = _complete(api, ada)
    assert done.status_code == 200 and done.json()["status"] == "completed", done.text
    api.mails()
    assert _held(api, store, ADA, ADA_CONV) == {
        "events": 0, "handoffs": 0, "links": 0, "verifications": 0, "preferences": 0,
        "requests_with_address": 0, "mail_files": 1}
    with Session(api.engine) as session:
        actions = session.scalars(select(AuditEvent.action).join(PrivacyRequest).where(
            PrivacyRequest.reference == ada)).all()
    assert actions.count("erasure_started") == 1 and actions.count("erased") == 1
    trail = api.staff.get(f"/api/v1/requests/{ada}/audit").json()
    [erased] = [e for e in trail if e["action"] == "erased"]
    assert erased["after"]["erased"]["tracker_events"] == planned_events


def test_a_deletion_leaves_no_free_text_note_about_the_requester(api: Api, store: TrackerStore
                                                                 ) -> None:
    # Staff wrote what they learnt about Ada into notes: what was corrected, why the
    # deletion needed more time. An auditor reading the records afterwards finds none of it.
    earlier = _verified(api, "correction", ADA, "conv-ada-earlier")
    _start(api, earlier)
    assert _complete(api, earlier, note="Postal address now 12 Elm Street").status_code == 200
    ada, bob = _two_people(api, store, "deletion")
    reason = "Ada Lovelace has a second account, ada.l@example.org"
    extended = api.staff.post(f"/api/v1/requests/{ada}/extend", json={"reason": reason})
    assert extended.status_code == 200, extended.text
    bob_note = "Bob Byron asked by phone as well"
    assert api.staff.post(f"/api/v1/requests/{bob}/extend",
                          json={"reason": bob_note}).status_code == 200

    done = _complete(api, ada)
    assert done.status_code == 200, done.text
    with Session(api.engine) as session:
        written = str(session.scalars(select(AuditEvent.note)).all()) + str(
            session.scalars(select(PrivacyRequest.extension_reason)).all())
    for said in ("Elm Street", "Lovelace", "ada.l@example.org"):
        assert said not in written
    assert bob_note in written  # nobody else's
    trail = api.staff.get(f"/api/v1/requests/{ada}/audit").json()
    assert [e["note"] for e in trail if e["action"] == "extended"] == ["[erased]"]
    [erased] = [e for e in trail if e["action"] == "erased"]
    assert erased["after"]["erased"]["notes"] >= 3


def test_a_deletion_keeps_the_basis_of_an_earlier_denial(api: Api, store: TrackerStore
                                                          ) -> None:
    # CCPA regulations §7101: the records of a request include the basis for denying it,
    # kept 24 months, the requester's later deletion notwithstanding.
    denied = _verified(api, "know", ADA, "conv-ada-denied")
    basis = "Request made more than twice in 12 months (Cal. Civ. Code 1798.130(b))"
    assert api.staff.patch(f"/api/v1/requests/{denied}", json={
        "status": "rejected", "note": basis}).status_code == 200
    ada, _ = _two_people(api, store, "deletion")
    assert _complete(api, ada).status_code == 200
    trail = api.staff.get(f"/api/v1/requests/{denied}/audit").json()
    assert [e["note"] for e in trail
            if e["action"] == "status_changed" and e["after"]["status"] == "rejected"] == [basis]


# -- correction and denial ------------------------------------------------------------------
def test_a_correction_is_completed_only_with_what_was_corrected(api: Api, store: TrackerStore
                                                                ) -> None:
    ada, _ = _two_people(api, store, "correction")
    before = api.all_counts()
    refused = _complete(api, ada)
    assert refused.status_code == 422 and refused.json()["error"] == "note_required"
    assert api.all_counts() == before
    done = _complete(api, ada, note="Mailing address changed to 12 Elm St.")
    assert done.status_code == 200 and done.json()["status"] == "completed"
    [notice] = [m for m in _mails_to(api, ADA) if "complete" in m["Subject"]]
    assert "Mailing address changed to 12 Elm St." in notice.get_payload(decode=True).decode()


def test_a_denial_needs_a_reason_which_is_emailed(api: Api, store: TrackerStore) -> None:
    ada, _ = _two_people(api, store, "know")
    before, mails = api.all_counts(), len(api.mails())
    refused = api.staff.patch(f"/api/v1/requests/{ada}", json={"status": "rejected"})
    assert refused.status_code == 422 and refused.json()["error"] == "reason_required"
    assert api.all_counts() == before and len(api.mails()) == mails
    denied = api.staff.patch(f"/api/v1/requests/{ada}", json={
        "status": "rejected", "note": "We could not match the address to an account."})
    assert denied.status_code == 200 and denied.json()["status"] == "rejected"
    last = _mails_to(api, ADA)[-1]
    assert "could not match the address" in last.get_payload(decode=True).decode()


def test_a_verified_request_gets_its_confirmation_of_receipt(api: Api) -> None:
    ref = _verified(api, "access", ADA, ADA_CONV)
    receipts = [m for m in _mails_to(api, ADA) if "We received" in m["Subject"]]
    assert len(receipts) == 1
    text = receipts[0].get_payload(decode=True).decode()
    assert ref in text and "respond by April 24, 2025" in text


def test_staff_list_requests_by_jurisdiction_due_date_and_overdue(api: Api) -> None:
    """The API's listing filters like the console's Requests view."""
    california = _verified(api, "access", ADA, ADA_CONV, region="California")
    api.clock.advance(days=10)
    france = _verified(api, "deletion", BOB, BOB_CONV, region="France")

    def listed(**params: Any) -> list[str]:
        response = api.staff.get("/api/v1/requests", params=params)
        assert response.status_code == 200, response.text
        return [r["reference"] for r in response.json()]

    assert listed(jurisdiction="GDPR") == [france]
    assert listed(jurisdiction="CA") == [california]
    # Filed on 10 March (45 days: due 24 April) and 20 March (one month: due 20 April).
    assert listed(sort="due_at") == [france, california]
    assert listed(sort="-created_at") == [france, california]
    api.clock.now = api.clock.now.replace(month=4, day=18)
    assert listed(due_within_days=3) == [france]
    assert listed(overdue="true") == []
    api.clock.now = api.clock.now.replace(day=22)
    assert listed(overdue="true") == [france]
    assert listed(limit=1, offset=1) == [california]
    assert api.staff.get("/api/v1/requests", params={"sort": "name"}).status_code == 422
