"""Privacy opt-outs that need no proof (`/api/v1/opt-outs`): "do not sell or share" and "limit
the use of my sensitive information", recorded at once with a reference and a 15-business-day
clock; linked to an address when a code confirms one in the conversation; listed for staff
and the console; in the person's export; kept without the address after a deletion. Tried
from the attacker's side too: whoever gives an address learns nothing of what else is held
about it, only the assistant records, and floods are bounded.

The clock starts on Monday 10 March 2025 (`FakeClock`): 15 business days later is Monday
31 March."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy_backend.core.models import AgentRole, PrivacyOptOut
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.services import deadlines, export_package, opt_outs

from .console_support import logged_in
from .support import Api
from .tracker_support import chat

ADA = "ada@example.com"
CONTRACT_FIELDS = {"reference", "kind", "source", "received_at", "due_date", "linked_to_email",
                   "already_recorded"}


def _opt_out(api: Api, kind: str = "sale_sharing", conversation: str = "conv-1",
             **fields: Any) -> Any:
    return api.post("/api/v1/opt-outs", json={"kind": kind, "conversation_id": conversation,
                                              **fields})


def _rows(api: Api) -> list[PrivacyOptOut]:
    with Session(api.engine) as session:
        return list(session.scalars(select(PrivacyOptOut).order_by(PrivacyOptOut.id)))


def test_business_days_skip_weekends() -> None:
    friday = date(2025, 3, 14)
    assert deadlines.add_business_days(friday, 15) == date(2025, 4, 4)
    assert deadlines.add_business_days(date(2025, 3, 15), 1) == date(2025, 3, 17)  # Saturday
    assert deadlines.add_business_days(friday, 0) == friday


def test_an_opt_out_is_recorded_at_once_with_a_reference_and_its_clock(api: Api) -> None:
    first = _opt_out(api, email=" Ada@Example.com ")
    assert first.status_code == 201, first.text
    body = first.json()
    assert set(body) == CONTRACT_FIELDS
    assert body["reference"].startswith("OO-") and len(body["reference"]) == 11
    assert (body["kind"], body["source"], body["due_date"]) == (
        "sale_sharing", "chat", "2025-03-31")
    assert (body["linked_to_email"], body["already_recorded"]) == (True, False)
    assert api.mails() == []  # no code, nothing to confirm
    [row] = _rows(api)
    assert (row.email, row.conversation_id, row.linked_at) == (ADA, "conv-1", None)

    again = _opt_out(api, email=ADA)
    assert again.status_code == 200
    assert again.json()["already_recorded"] is True
    assert again.json()["reference"] == body["reference"]
    other_kind = _opt_out(api, kind="limit_sensitive", email=ADA)
    assert other_kind.status_code == 201
    assert len(_rows(api)) == 2


def test_without_an_address_it_holds_for_the_conversation(api: Api) -> None:
    browser = _opt_out(api, source="gpc")
    assert browser.status_code == 201
    assert browser.json()["linked_to_email"] is False
    assert browser.json()["source"] == "gpc"
    # The chat's "do not sell" in the same browser is that same opt-out.
    said = _opt_out(api)
    assert (said.status_code, said.json()["already_recorded"]) == (200, True)
    assert _opt_out(api, conversation="conv-2").status_code == 201


def test_a_confirmed_code_links_the_conversations_opt_outs(api: Api) -> None:
    gpc = _opt_out(api, source="gpc").json()
    _opt_out(api, conversation="conv-other", source="gpc")
    api.clock.advance(minutes=5)
    api.proof(ADA, "conv-1")
    rows = {r.reference: r for r in _rows(api)}
    assert rows[gpc["reference"]].email == ADA
    assert rows[gpc["reference"]].linked_at == api.clock.now
    assert [r.email for r in rows.values() if r.conversation_id == "conv-other"] == [None]
    # The channel records the signal again at the next session: the linked record answers.
    again = _opt_out(api, source="gpc")
    assert (again.status_code, again.json()["reference"]) == (200, gpc["reference"])
    assert again.json()["linked_to_email"] is True
    # A second address verified in the same browser's chat is covered too.
    api.proof("ada.work@example.com", "conv-1")
    linked = [(r.email, r.due_date) for r in _rows(api) if r.conversation_id == "conv-1"]
    assert linked == [(ADA, date(2025, 3, 31)), ("ada.work@example.com", date(2025, 3, 31))]


def test_the_answer_reveals_nothing_else_held_about_the_address(api: Api) -> None:
    """An attacker who knows Ada's address opts it out from a conversation of their own: the
    answer is what a never-seen address gets, field for field, apart from the reference."""
    ref = api.create(email=ADA, conversation_id="conv-ada")["reference"]
    api.verify(ref)
    _opt_out(api, conversation="conv-ada", email=ADA)
    _opt_out(api, conversation="conv-ada", kind="limit_sensitive", email=ADA)
    _opt_out(api, conversation="conv-ada-browser", source="gpc")
    api.proof(ADA, "conv-ada-browser")
    api.clock.advance(hours=2)

    ada = _opt_out(api, conversation="conv-attacker", email=ADA)
    stranger = _opt_out(api, conversation="conv-attacker-2", email="nobody@example.com")
    assert ada.status_code == stranger.status_code == 201
    seen, fresh = ada.json(), stranger.json()
    assert seen.pop("reference") != fresh.pop("reference")
    assert seen == fresh == {"kind": "sale_sharing", "source": "chat",
                             "received_at": "2025-03-10T16:30:00Z", "due_date": "2025-03-31",
                             "linked_to_email": True, "already_recorded": False}
    assert ref not in ada.text and "gpc" not in ada.text
    assert set(ada.headers) == set(stranger.headers)


@pytest.mark.parametrize("headers", [{}, "staff"], ids=["no token", "staff token"])
def test_only_the_assistant_records(api: Api, headers: Any) -> None:
    caller = api.staff if headers == "staff" else api
    response = caller.client.post("/api/v1/opt-outs", json={
        "kind": "sale_sharing", "conversation_id": "conv-1"},
        headers=caller.headers if headers == "staff" else {})
    assert response.status_code == (403 if headers == "staff" else 401)
    assert _rows(api) == []


def test_staff_list_them_and_the_assistant_cannot(api: Api) -> None:
    _opt_out(api, email=ADA)
    api.clock.advance(minutes=1)
    _opt_out(api, kind="limit_sensitive", conversation="conv-2", source="gpc")
    assert api.get("/api/v1/opt-outs").status_code == 403
    listed = api.staff.get("/api/v1/opt-outs").json()  # newest first
    assert [(o["kind"], o["email"], o["source"]) for o in listed] == [
        ("limit_sensitive", None, "gpc"), ("sale_sharing", ADA, "chat")]
    only = api.staff.get("/api/v1/opt-outs", params={"source": "gpc"}).json()
    assert [o["conversation_id"] for o in only] == ["conv-2"]


def test_floods_are_bounded_per_conversation_and_per_address(db: Any, settings: Any,
                                                             clock: Any) -> None:
    from privacy_backend.main import create_app

    from .support import TestClient
    settings = settings.model_copy(update={"opt_out_hourly_limit": 2})
    with TestClient(create_app(settings, engine=db, clock=clock)) as client:
        api = Api(client=client, engine=db, settings=settings, clock=clock)
        assert _opt_out(api, email="a@example.com").status_code == 201
        assert _opt_out(api, email="b@example.com").status_code == 201
        refused = _opt_out(api, email="c@example.com")
        assert refused.status_code == 429
        assert refused.json()["error"] == "too_many_opt_outs"
        assert refused.headers["Retry-After"] == "3600"
        # What the conversation recorded is still answered.
        assert _opt_out(api, email="a@example.com").status_code == 200
        # One address from many conversations.
        assert _opt_out(api, conversation="conv-x", email="d@example.com").status_code == 201
        clock.advance(minutes=10)
        assert _opt_out(api, conversation="conv-y", email="d@example.com").status_code == 201
        again = _opt_out(api, conversation="conv-z", email="d@example.com")
        assert again.status_code == 429
        assert again.headers["Retry-After"] == str(50 * 60)
        assert again.json()["message"] == refused.json()["message"]
        clock.advance(minutes=51)
        assert _opt_out(api, conversation="conv-z", email="d@example.com").status_code == 201
        assert _opt_out(api, email="c@example.com").status_code == 201


def test_the_export_lists_them_and_a_deletion_keeps_them_without_the_address(
        store_api: Api, store: TrackerStore) -> None:
    api = store_api
    chat(store, "conv-1", api.clock.now, ("do not sell my data", "Done."))
    gpc = _opt_out(api, source="gpc").json()["reference"]
    said = _opt_out(api, kind="limit_sensitive", email=ADA).json()["reference"]
    _opt_out(api, conversation="conv-bob", email="bob@example.com")
    ref = api.create(type="deletion", email=ADA, conversation_id="conv-1")["reference"]
    api.verify(ref)
    with Session(api.engine) as session:
        package = export_package.package(session, store, api.settings, ADA, api.clock.now)
    assert [(o["reference"], o["kind"], o["source"], o["due_date"], o["linked_at"] is not None)
            for o in package["privacy_opt_outs"]] == [
        (gpc, "sale_sharing", "gpc", "2025-03-31", True),
        (said, "limit_sensitive", "chat", "2025-03-31", False)]

    assert api.staff.patch(f"/api/v1/requests/{ref}", json={"status": "in_progress"}
                           ).status_code == 200
    done = api.staff.patch(f"/api/v1/requests/{ref}", json={"status": "completed"})
    assert done.status_code == 200, done.text
    kept = {r.reference: r for r in _rows(api)}
    for reference in (gpc, said):
        assert (kept[reference].email, kept[reference].conversation_id) == (None, None)
        assert kept[reference].erased_at == api.clock.now
    assert [r.email for r in kept.values() if r.erased_at is None] == ["bob@example.com"]
    erased = [e for e in api.staff.get(f"/api/v1/requests/{ref}/audit").json()
              if e["action"] == "erased"][0]
    assert erased["after"]["erased"]["opt_outs_minimised"] == 2


def test_deleting_a_chat_drops_a_browser_only_opt_out_and_keeps_an_addresss(
        store_api: Api, store: TrackerStore) -> None:
    """Before: starting a chat with the signal and deleting it, again and again, left one
    row each time, kept for good (none of them honouring anything)."""
    chat(store, "conv-1", store_api.clock.now, ("hello", "Hi."))
    _opt_out(store_api, source="gpc")
    reference = _opt_out(store_api, kind="limit_sensitive", email=ADA).json()["reference"]
    erased = store_api.post("/api/v1/conversations/conv-1/erase")
    assert erased.status_code == 200, erased.text
    [row] = _rows(store_api)
    assert (row.reference, row.conversation_id, row.email) == (reference, None, ADA)


def test_an_opt_out_recorded_after_a_code_is_linked_at_once(api: Api) -> None:
    """Before: linking happened only when a code was confirmed, so a GPC signal recorded
    after it (the channel retries at the next session) stayed the browser's alone."""
    api.proof(ADA, "conv-1")
    late = _opt_out(api, source="gpc")
    assert late.status_code == 201 and late.json()["linked_to_email"] is True
    [row] = _rows(api)
    assert (row.email, row.linked_at, row.source) == (ADA, api.clock.now, "gpc")


def test_a_gpc_opt_out_naming_an_address_is_refused(api: Api) -> None:
    """The signal comes from a browser, which names no one: a caller cannot pin `gpc` on an
    address."""
    refused = _opt_out(api, source="gpc", email=ADA)
    assert refused.status_code == 422
    assert _rows(api) == []


def test_the_whole_system_records_at_most_its_hourly_cap(db: Any, settings: Any,
                                                         clock: Any) -> None:
    from privacy_backend.main import create_app

    from .support import TestClient
    settings = settings.model_copy(update={"opt_out_global_hourly_limit": 3})
    with TestClient(create_app(settings, engine=db, clock=clock)) as client:
        api = Api(client=client, engine=db, settings=settings, clock=clock)
        for i in range(3):
            assert _opt_out(api, conversation=f"conv-{i}").status_code == 201
        refused = _opt_out(api, conversation="conv-9")
        assert refused.status_code == 429 and refused.json()["error"] == "too_many_opt_outs"
        assert len(_rows(api)) == 3
        clock.advance(hours=1)
        assert _opt_out(api, conversation="conv-9").status_code == 201


def test_the_console_lists_them_for_privacy_admins_only(api: Api) -> None:
    _opt_out(api, source="gpc")
    api.clock.advance(minutes=1)
    _opt_out(api, kind="limit_sensitive", conversation="conv-2", email=ADA)
    admin = logged_in(api, "priya@example.com", "Priya", AgentRole.PRIVACY_ADMIN)
    listed = admin.get("/opt-outs").json()  # newest first
    assert [(o["kind"], o["source"], o["email"], o["due_date"]) for o in listed] == [
        ("limit_sensitive", "chat", ADA, "2025-03-31"),
        ("sale_sharing", "gpc", None, "2025-03-31")]
    assert listed[1]["conversation"].startswith("C-") and "conv-" not in str(listed)
    agent = logged_in(api, "sam@example.com", "Sam", AgentRole.AGENT)
    assert agent.get("/opt-outs").status_code == 403


def test_the_service_due_date_counts_from_the_day_of_receipt() -> None:
    from datetime import datetime, timezone
    late_friday = datetime(2025, 3, 14, 23, 59, tzinfo=timezone.utc)
    assert opt_outs.due_date(late_friday) == date(2025, 4, 4)


def test_the_requesters_export_page_shows_them(store_api: Api) -> None:
    api = store_api
    gpc = _opt_out(api, source="gpc").json()["reference"]
    ref = api.create(type="access", email=ADA, conversation_id="conv-1")["reference"]
    api.verify(ref)
    api.staff.patch(f"/api/v1/requests/{ref}", json={"status": "in_progress"})
    done = api.staff.patch(f"/api/v1/requests/{ref}", json={"status": "completed"})
    assert done.status_code == 200, done.text
    [notice] = [m for m in api.mails() if "complete" in m["Subject"]]
    body = notice.get_payload(decode=True)
    assert isinstance(body, bytes)
    link = re.search(r"https?://[^/\s]+(/exports/\S+)", body.decode())
    assert link
    page = api.client.get(link.group(1)).text
    assert f"{gpc}: do not sell or share my personal information" in page
    assert "Global Privacy Control" in page and "in effect by 2025-03-31" in page
