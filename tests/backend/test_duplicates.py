"""Duplicates: a second open request of the same type for the same verified address points to
the first and starts no clock of its own; everything else is a request of its own. Staff mark
one by hand (API and workbench), only onto a first request of the same type that is not
itself a duplicate.

All requests are filed through the real API on 10 March 2025 (California: due 45 days from
receipt, April 24, 2025)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_backend.core.models import AgentRole, AuditEvent, PrivacyRequest

from .console_support import Console, logged_in
from .support import Api, mail_text, mails_to, one_mail

ADA, BOB = "ada@example.com", "bob@example.com"
ADMIN = "priya.admin@example.com"
FIRST_DUE = datetime(2025, 4, 24, 23, 59, 59, tzinfo=timezone.utc)


@pytest.fixture
def admin(api: Api) -> Console:
    return logged_in(api, ADMIN, "Priya", AgentRole.PRIVACY_ADMIN)


def _verified(api: Api, address: str = ADA, request_type: str = "access",
              conversation: str = "conv-1") -> dict[str, object]:
    ref = str(api.create(type=request_type, email=address, conversation_id=conversation)[
        "reference"])
    return api.verify(ref)


def _row(api: Api, reference: str) -> PrivacyRequest:
    with Session(api.engine) as session:
        row = session.scalar(select(PrivacyRequest).where(PrivacyRequest.reference == reference))
        assert row is not None
        return row


def test_a_second_request_of_the_same_type_and_address_points_to_the_first(api: Api) -> None:
    first = _verified(api)
    api.clock.advance(days=5)  # the second comes five days later: no clock of its own
    filed = api.create(email=ADA, conversation_id="conv-2")
    seen = len(mails_to(api, ADA))
    second = api.verify(str(filed["reference"]))

    assert second["status"] == "duplicate"
    assert second["duplicate_of"] == first["reference"]
    assert datetime.fromisoformat(second["duplicate_of_due_at"].replace("Z", "+00:00")) \
        == FIRST_DUE
    # The person hears that the first is open and when it is due; no second receipt.
    [notice] = mails_to(api, ADA)[seen:]
    assert notice["Subject"] == (f"Your privacy request {second['reference']} repeats "
                                 f"{first['reference']}")
    assert "April 24, 2025" in mail_text(notice)
    assert "We received" not in notice["Subject"]
    trail = api.staff.get(f"/api/v1/requests/{second['reference']}/audit").json()
    assert [(e["action"], e["after"]) for e in trail][-1] == (
        "marked_duplicate", {"duplicate_of": first["reference"],
                             "due_at": "2025-04-24T23:59:59+00:00"})
    assert _row(api, str(second["reference"])).closed_at == api.clock.now
    # The first is untouched and still the one being worked.
    assert api.staff.get(f"/api/v1/requests/{first['reference']}").json()["status"] == "verified"


def test_another_address_or_type_or_an_unverified_first_is_a_request_of_its_own(api: Api
                                                                                ) -> None:
    _verified(api, ADA)
    # Bob files the same type: his request is his own, whatever Ada filed (an attacker
    # cannot fold someone's request into another address's).
    assert _verified(api, BOB, conversation="conv-bob")["status"] == "verified"
    # Ada's deletion is another type.
    assert _verified(api, ADA, "deletion", "conv-3")["status"] == "verified"
    # Ada's know request: the only earlier one is still waiting for its code.
    api.create(type="know", email=ADA, conversation_id="conv-4")
    assert _verified(api, ADA, "know", "conv-5")["status"] == "verified"


def test_an_answered_first_request_is_not_repeated(api: Api) -> None:
    first = _verified(api)
    denied = api.staff.patch(f"/api/v1/requests/{first['reference']}",
                             json={"status": "rejected", "note": "no account"})
    assert denied.status_code == 200
    assert _verified(api, conversation="conv-2")["status"] == "verified"


def test_staff_mark_a_duplicate_only_onto_a_first_of_the_same_type(api: Api) -> None:
    first = _verified(api)
    other_type = _verified(api, ADA, "deletion", "conv-3")
    bob = _verified(api, BOB, "know", "conv-bob")
    second = str(api.create(email=ADA, conversation_id="conv-2")["reference"])

    def mark(ref: str, onto: object) -> Any:
        return api.staff.patch(f"/api/v1/requests/{ref}",
                               json={"status": "duplicate", "duplicate_of": onto})

    before = api.counts()
    for onto in (other_type["reference"], second, "PR-2222-2222", bob["reference"]):
        refused = mark(second, onto)
        assert refused.status_code == 422, onto
        assert refused.json()["error"] == "bad_duplicate", refused.text
    # Without `duplicate_of`, or with it on another status: the body is refused.
    for body in ({"status": "duplicate"},
                 {"status": "rejected", "note": "x", "duplicate_of": first["reference"]}):
        refused = api.staff.patch(f"/api/v1/requests/{second}", json=body)
        assert refused.status_code == 422 and refused.json()["error"] == "validation_failed"
    assert api.counts() == before

    marked = mark(second, str(first["reference"]).lower().replace("-", " "))
    assert marked.status_code == 200, marked.text
    assert (marked.json()["status"], marked.json()["duplicate_of"]) == (
        "duplicate", first["reference"])
    # A duplicate cannot be the first of another, nor be marked again.
    third = str(api.create(email=ADA, conversation_id="conv-6")["reference"])
    refused = mark(third, second)
    assert refused.status_code == 422 and refused.json()["error"] == "bad_duplicate"
    again = mark(second, first["reference"])
    assert again.status_code == 409 and again.json()["error"] == "illegal_transition"


def test_the_assistant_cannot_mark_a_duplicate(api: Api) -> None:
    first = _verified(api)
    second = str(api.create(email=ADA, conversation_id="conv-2")["reference"])
    refused = api.patch(f"/api/v1/requests/{second}",
                        json={"status": "duplicate", "duplicate_of": first["reference"]})
    assert refused.status_code == 403
    assert _row(api, second).status.value == "pending_verification"


def test_the_workbench_marks_a_duplicate_and_shows_its_first(api: Api, admin: Console) -> None:
    first = _verified(api)
    second = str(api.create(email=ADA, conversation_id="conv-2")["reference"])
    page = admin.get(f"/requests/{second}").json()
    assert "mark_duplicate" in page["actions"]
    done = admin.post(f"/requests/{second}/actions",
                      {"action": "mark_duplicate", "duplicate_of": first["reference"]})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "duplicate" and done.json()["actions"] == []
    with Session(api.engine) as session:
        [event] = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "marked_duplicate")).all()
        assert event.actor == f"agent:{ADMIN}"
    one_mail(api, ADA, f"Your privacy request {second} repeats {first['reference']}")


def _mark(api: Api, ref: str, onto: object) -> Any:
    return api.staff.patch(f"/api/v1/requests/{ref}",
                           json={"status": "duplicate", "duplicate_of": onto})


def test_another_persons_request_is_never_the_first(api: Api) -> None:
    eve = _verified(api, "eve@example.com", conversation="conv-eve")
    ada = str(api.create(email=ADA, conversation_id="conv-ada")["reference"])
    before, mails = api.counts(), len(mails_to(api, ADA))
    refused = _mark(api, ada, eve["reference"])  # a typo in the reference, or worse
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "bad_duplicate"
    assert str(eve["reference"]) not in refused.text  # nothing of Eve's is named
    assert api.counts() == before
    assert len(mails_to(api, ADA)) == mails
    assert not [m for m in api.mails() if str(eve["reference"]) in mail_text(m)
                and ADA in str(m["To"])]
    row = _row(api, ada)
    assert (row.status.value, row.duplicate_of_id) == ("pending_verification", None)


def test_a_first_never_verified_is_not_the_first(api: Api) -> None:
    unproved = str(api.create(email=ADA, conversation_id="conv-1")["reference"])
    second = str(api.create(email=ADA, conversation_id="conv-2")["reference"])
    before = api.counts()
    refused = _mark(api, second, unproved)
    assert refused.status_code == 422 and refused.json()["error"] == "bad_duplicate"
    assert api.counts() == before


def test_the_duplicates_of_a_request_marked_a_duplicate_point_to_its_first(api: Api) -> None:
    # C was answered; B, filed later, is its own request; A repeats B.
    c = str(_verified(api, conversation="conv-c")["reference"])
    assert api.staff.patch(f"/api/v1/requests/{c}", json={
        "status": "rejected", "note": "no account"}).status_code == 200
    b = str(_verified(api, conversation="conv-b")["reference"])
    a = str(api.create(email=ADA, conversation_id="conv-a")["reference"])
    assert _mark(api, a, b).status_code == 200
    # Staff find that B repeats C: A now points to C, never to a duplicate.
    marked = _mark(api, b, c)
    assert marked.status_code == 200, marked.text
    assert api.staff.get(f"/api/v1/requests/{a}").json()["duplicate_of"] == c
    assert api.staff.get(f"/api/v1/requests/{b}").json()["duplicate_of"] == c
    trail = api.staff.get(f"/api/v1/requests/{a}/audit").json()
    assert (trail[-1]["action"], trail[-1]["before"], trail[-1]["after"]) == (
        "duplicate_repointed", {"duplicate_of": b}, {"duplicate_of": c})
