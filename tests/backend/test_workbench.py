"""The console's fulfilment workbench (`/console/api/requests`), as a privacy admin works it:
the list's filters, sort and pages; a request's page; verify, start, extend, complete and
deny, each recorded under the admin and emailed to the requester; what an agent, a call
without its CSRF token, a missing reason and a refused transition get (and that nothing
changes then).

The requests are filed through the real API at chosen times, so their due dates follow from
the jurisdiction's rule (US: 45 days, GDPR: one month from the day of receipt); the expected
due dates below are written out by hand."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any
from urllib.parse import urlencode

import pytest

from privacy_backend.core.models import AgentRole
from privacy_backend.integrations.tracker_store import TrackerStore
from privacy_backend.services.handoffs import handle

from .console_support import Console, logged_in
from .support import Api, mail_text, mails_to, parse_time
from .tracker_support import chat

ADMIN = "priya.admin@example.com"
AGENT = "sam@example.com"
ADA = "ada@example.com"
NOW = datetime(2025, 3, 10, 14, 30, tzinfo=timezone.utc)


@pytest.fixture
def api(store_api: Api) -> Api:
    return store_api


def _login(api: Api, address: str, role: AgentRole) -> Console:
    return logged_in(api, address, address.split("@")[0].title(), role)


@pytest.fixture
def admin(api: Api) -> Console:
    return _login(api, ADMIN, AgentRole.PRIVACY_ADMIN)


@pytest.fixture
def agent(api: Api) -> Console:
    return _login(api, AGENT, AgentRole.AGENT)


def _page(console: Console, **query: Any) -> dict[str, Any]:
    response = console.get(f"/requests?{urlencode(query)}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _refs(console: Console, **query: Any) -> list[str]:
    return [item["reference"] for item in _page(console, per_page=100, **query)["items"]]


def _act(console: Console, ref: str, action: str, note: str | None = None) -> Any:
    body = {"action": action, **({"note": note} if note is not None else {})}
    return console.post(f"/requests/{ref}/actions", body)


# -- the list -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One request filed for the list: when, from where, what for, and where it ends up."""

    name: str
    created: datetime
    region: str
    type: str
    status: str
    jurisdiction: str
    due: date  # written out from the jurisdiction's rule

    @property
    def days_left(self) -> int:
        return (self.due - NOW.date()).days

    @property
    def open(self) -> bool:
        return self.status in {"pending_verification", "verified", "in_progress"}


def _at(y: int, m: int, d: int, hour: int = 9) -> datetime:
    return datetime(y, m, d, hour, tzinfo=timezone.utc)


CASES = [
    Case("A", _at(2025, 1, 10), "California", "access", "verified", "CA", date(2025, 2, 24)),
    Case("B", _at(2025, 2, 1), "Germany", "deletion", "in_progress", "GDPR", date(2025, 3, 1)),
    Case("C", _at(2025, 3, 1), "California", "correction", "verified", "CA", date(2025, 4, 15)),
    Case("D", _at(2025, 3, 8), "Germany", "know", "verified", "GDPR", date(2025, 4, 8)),
    Case("E", _at(2025, 3, 10, 8), "California", "portability", "pending_verification", "CA",
         date(2025, 4, 24)),
    Case("F", _at(2025, 1, 20), "California", "access", "rejected", "CA", date(2025, 3, 6)),
    Case("G", _at(2025, 2, 10), "Germany", "access", "verified", "GDPR", date(2025, 3, 10)),
]


@pytest.fixture
def filed(api: Api) -> dict[str, str]:
    """The cases filed (each at its own time, each by its own requester) and moved to their
    status through the request API; the clock then stands at NOW. Case name -> reference."""
    refs: dict[str, str] = {}
    for case in CASES:
        api.clock.now = case.created
        ref = str(api.create(type=case.type, email=f"{case.name.lower()}@example.com",
                             region=case.region, conversation_id=f"conv-{case.name}"
                             )["reference"])
        if case.status != "pending_verification":
            api.verify(ref)
        if case.status == "in_progress":
            assert api.staff.patch(f"/api/v1/requests/{ref}",
                                   json={"status": "in_progress"}).status_code == 200
        if case.status == "rejected":
            assert api.staff.patch(f"/api/v1/requests/{ref}", json={
                "status": "rejected", "note": "not a customer of ours"}).status_code == 200
        refs[case.name] = ref
    api.clock.now = NOW
    return refs


def _expected(refs: dict[str, str], keep: Any = lambda c: True, key: Any = None,
              reverse: bool = False) -> list[str]:
    """The references of the cases `keep` accepts, in the order `key` gives (the due date
    by default)."""
    chosen = sorted((c for c in CASES if keep(c)), key=key or (lambda c: c.due),
                    reverse=reverse)
    return [refs[c.name] for c in chosen]


def test_every_item_shows_its_due_date_and_days_left(admin: Console, filed: dict[str, str]
                                                     ) -> None:
    body = _page(admin, per_page=100)
    assert (body["total"], body["page"], body["per_page"]) == (len(CASES), 1, 100)
    assert body["jurisdictions"] == ["CA", "CO", "CT", "DE", "GDPR", "IA", "MT", "NE", "OR", "TX",
                                   "US", "UT", "VA"]
    by_ref = {item["reference"]: item for item in body["items"]}
    for case in CASES:
        item = by_ref[filed[case.name]]
        assert item == {
            "reference": filed[case.name], "type": case.type, "status": case.status,
            "jurisdiction": case.jurisdiction, "created_at": item["created_at"],
            "due_at": item["due_at"], "days_left": case.days_left, "erased": False,
            "agent": False, "awaiting_consumer": False, "duplicate_of": None, "appeal": None}
        assert parse_time(item["created_at"]) == case.created
        assert parse_time(item["due_at"]) == datetime.combine(
            case.due, time(23, 59, 59), tzinfo=timezone.utc)
    # Nothing about the requesters is in the list.
    assert "@example.com" not in str(body)


def test_each_filter_narrows_the_list(admin: Console, filed: dict[str, str]) -> None:
    assert _refs(admin) == _expected(filed)
    assert _refs(admin, status="verified") == _expected(filed, lambda c: c.status == "verified")
    assert _refs(admin, status="in_progress") == [filed["B"]]
    assert _refs(admin, type="access") == _expected(filed, lambda c: c.type == "access")
    assert _refs(admin, jurisdiction="GDPR") == _expected(
        filed, lambda c: c.jurisdiction == "GDPR")
    # Overdue: open and past the due date (F is past it too, but answered; G is due today).
    assert _refs(admin, overdue="true") == _expected(
        filed, lambda c: c.open and c.days_left < 0)
    assert set(_refs(admin, overdue="true")) == {filed["A"], filed["B"]}
    # Due within N days: open, due by the end of that day, overdue ones included.
    for days in (0, 29, 30, 36, 60):
        assert _refs(admin, due_within_days=days) == _expected(
            filed, lambda c, n=days: c.open and c.days_left <= n), days
    assert _refs(admin, due_within_days=0) == [filed["A"], filed["B"], filed["G"]]
    # Filters combine.
    assert _refs(admin, jurisdiction="GDPR", overdue="true") == [filed["B"]]
    assert _refs(admin, type="access", status="verified", due_within_days=0) == [filed["A"],
                                                                                 filed["G"]]
    nothing = _page(admin, type="correction", status="rejected")
    assert (nothing["total"], nothing["items"]) == (0, [])


def test_the_list_sorts_by_each_column(admin: Console, filed: dict[str, str]) -> None:
    orders: dict[str, list[str]] = {
        "due_at": _expected(filed),
        "-due_at": _expected(filed, reverse=True),
        "created_at": _expected(filed, key=lambda c: c.created),
        "-created_at": _expected(filed, key=lambda c: c.created, reverse=True),
        "reference": sorted(filed.values()),
        "status": _expected(filed, key=lambda c: (c.status, c.due)),
        "type": _expected(filed, key=lambda c: (c.type, c.due)),
    }
    for sort, expected in orders.items():
        assert _refs(admin, sort=sort) == expected, sort


def test_the_list_comes_in_pages(admin: Console, filed: dict[str, str]) -> None:
    expected = _expected(filed, key=lambda c: c.created)
    pages = [_page(admin, sort="created_at", per_page=3, page=n) for n in (1, 2, 3, 4)]
    assert [p["total"] for p in pages] == [len(CASES)] * 4
    assert [(p["page"], p["per_page"]) for p in pages] == [(1, 3), (2, 3), (3, 3), (4, 3)]
    assert [[i["reference"] for i in p["items"]] for p in pages] == [
        expected[0:3], expected[3:6], expected[6:], []]


@pytest.mark.parametrize("query", [
    {"per_page": 101}, {"per_page": 0}, {"page": 0}, {"sort": "email"}, {"status": "done"},
    {"type": "everything"}, {"jurisdiction": "XX"}, {"due_within_days": -1},
    {"due_within_days": "soon"}, {"overdue": "perhaps"},
])
def test_bad_list_queries_are_422(admin: Console, query: dict[str, Any]) -> None:
    response = admin.get(f"/requests?{urlencode(query)}")
    assert response.status_code == 422, query
    assert response.json()["error"] == "validation_failed"


# -- who may ------------------------------------------------------------------------------
def test_an_agent_gets_403_on_every_workbench_route(api: Api, agent: Console) -> None:
    ref = str(api.create()["reference"])
    before = api.counts()
    for response in (agent.get("/requests"), agent.get(f"/requests/{ref}"),
                     _act(agent, ref, "verify"),
                     _act(agent, ref, "deny", "the agent should not be able to")):
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "privacy_admin_only"
        assert ADA not in response.text
    assert api.counts() == before
    assert api.staff.get(f"/api/v1/requests/{ref}").json()["status"] == "pending_verification"


def test_without_a_session_the_workbench_is_401(api: Api) -> None:
    ref = str(api.create()["reference"])
    anonymous = Console(api, email=ADMIN)
    for response in (anonymous.get("/requests"), anonymous.get(f"/requests/{ref}"),
                     _act(anonymous, ref, "verify")):
        assert response.status_code == 401
        assert response.json()["error"] == "login_required"


def test_an_action_without_the_csrf_token_is_403_and_changes_nothing(
        api: Api, admin: Console) -> None:
    ref = str(api.create()["reference"])
    before, mails = api.counts(), len(api.mails())
    missing = admin.post(f"/requests/{ref}/actions", {"action": "verify"}, csrf=False)
    assert missing.status_code == 403 and missing.json()["error"] == "csrf_failed"
    wrong = admin.client.post(f"/console/api/requests/{ref}/actions", json={"action": "verify"},
                              headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403 and wrong.json()["error"] == "csrf_failed"
    assert api.counts() == before and len(api.mails()) == mails
    assert admin.get(f"/requests/{ref}").json()["status"] == "pending_verification"


def test_an_unknown_reference_is_404(admin: Console) -> None:
    for response in (admin.get("/requests/PR-2222-2222"),
                     _act(admin, "PR-2222-2222", "verify")):
        assert response.status_code == 404 and response.json()["error"] == "not_found"


# -- the request page -----------------------------------------------------------------------
def test_the_page_shows_the_requester_trail_and_linked_conversations(
        api: Api, admin: Console, store: TrackerStore) -> None:
    chat(store, "conv-ada", api.clock.now, ("can I see my data?", "Yes: file a request."))
    ref = str(api.create(email=ADA, name="Ada Lovelace", region="Germany",
                         details="everything since 2020",
                         conversation_id="conv-ada")["reference"])
    api.verify(ref)  # the code confirms the address in conv-ada: the conversation is Ada's
    page = admin.get(f"/requests/{ref}")
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["requester"] == {"email": ADA, "name": "Ada Lovelace", "region": "Germany",
                                 "authorized_agent": False, "channel": "web"}
    assert (body["type"], body["status"], body["jurisdiction"]) == ("access", "verified", "GDPR")
    assert body["details"] == "everything since 2020"
    # GDPR: one month from the day of receipt (10 March), so 10 April, 31 days from today.
    assert parse_time(body["due_at"]).date() == date(2025, 4, 10)
    assert (body["days_left"], body["extensions_used"]) == (31, 0)
    assert [(e["action"], e["after"].get("status")) for e in body["audit"]
            if e["action"] in {"created", "status_changed"}] == [
        ("created", "pending_verification"), ("status_changed", "verified")]
    assert body["conversations"] == [{"handle": handle("conv-ada"),
                                      "verified_at": body["conversations"][0]["verified_at"],
                                      "handoffs": 0}]
    assert "conv-ada" not in page.text  # the console names a conversation by its handle
    assert body["exports"] == []
    assert body["actions"] == ["start", "deny", "mark_duplicate", "extend"]


# -- the actions ----------------------------------------------------------------------------
def test_verify_extend_start_and_complete_are_recorded_and_mailed(
        api: Api, admin: Console) -> None:
    ref = str(api.create(email=ADA)["reference"])  # California: US rule, 45 + 45 days
    seen = len(mails_to(api, ADA))  # the code's email

    verified = _act(admin, ref, "verify")
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["status"] == "verified" and body["actions"] == [
        "start", "deny", "mark_duplicate", "extend"]
    last = body["audit"][-1]
    assert (last["actor"], last["action"], last["before"], last["after"]) == (
        f"agent:{ADMIN}", "status_changed", {"status": "pending_verification"},
        {"status": "verified"})
    [receipt] = mails_to(api, ADA)[seen:]
    assert receipt["Subject"] == f"We received your privacy request {ref}"
    assert "April 24, 2025" in mail_text(receipt)  # 10 March + 45 days

    reason = "The records are in an archive that takes three weeks to restore."
    extended = _act(admin, ref, "extend", reason).json()
    assert (extended["extensions_used"], extended["extension_reason"]) == (1, reason)
    assert parse_time(extended["due_at"]).date() == date(2025, 6, 8)
    assert extended["days_left"] == (date(2025, 6, 8) - NOW.date()).days
    assert "extend" not in extended["actions"]  # once only under the US rule
    last = extended["audit"][-1]
    assert (last["actor"], last["action"], last["note"]) == (f"agent:{ADMIN}", "extended", reason)
    [notice] = mails_to(api, ADA)[seen + 1:]
    assert notice["Subject"] == f"Your privacy request {ref}: more time needed"
    assert reason in mail_text(notice) and "June 8, 2025" in mail_text(notice)

    started = _act(admin, ref, "start").json()
    assert started["status"] == "in_progress" and started["actions"] == [
        "complete", "deny", "mark_duplicate"]
    assert (started["audit"][-1]["actor"], started["audit"][-1]["after"]) == (
        f"agent:{ADMIN}", {"status": "in_progress"})
    assert len(mails_to(api, ADA)) == seen + 2  # starting emails nobody

    completed = _act(admin, ref, "complete").json()
    assert completed["status"] == "completed" and completed["actions"] == []
    new = completed["audit"][len(started["audit"]):]
    assert [(e["actor"], e["action"]) for e in new] == [
        (f"agent:{ADMIN}", "export_created"), (f"agent:{ADMIN}", "status_changed")]
    [export] = completed["exports"]
    assert export["available"] and export["downloads"] == []
    [answer] = mails_to(api, ADA)[seen + 2:]
    assert answer["Subject"] == f"Your privacy request {ref} is complete"
    link = re.search(r"https?://[^/\s]+(/exports/\S+)", mail_text(answer))
    assert link, mail_text(answer)
    assert api.client.get(link.group(1)).status_code == 200  # the requester opens it
    downloads = admin.get(f"/requests/{ref}").json()["exports"][0]["downloads"]
    assert [d["format"] for d in downloads] == ["html"]


def test_deny_needs_a_reason_and_then_tells_the_requester(api: Api, admin: Console) -> None:
    ref = str(api.create(email=ADA)["reference"])
    api.verify(ref)
    before, page, mails = api.counts(), admin.get(f"/requests/{ref}").json(), len(api.mails())
    for note in (None, "", "   "):
        refused = _act(admin, ref, "deny", note)
        assert refused.status_code == 422, note
        assert refused.json()["error"] == "reason_required"
    assert api.counts() == before and len(api.mails()) == mails
    assert admin.get(f"/requests/{ref}").json() == page

    reason = "We hold no personal information about this address."
    denied = _act(admin, ref, "deny", reason).json()
    assert denied["status"] == "rejected" and denied["actions"] == []
    last = denied["audit"][-1]
    assert (last["actor"], last["after"], last["note"]) == (
        f"agent:{ADMIN}", {"status": "rejected"}, reason)
    answer = mails_to(api, ADA)[-1]
    assert answer["Subject"] == f"Your privacy request {ref}"
    assert f"Reason: {reason}" in mail_text(answer)


def test_a_refused_transition_is_409_and_changes_nothing(api: Api, admin: Console) -> None:
    ref = str(api.create(email=ADA)["reference"])
    before, page, mails = api.counts(), admin.get(f"/requests/{ref}").json(), len(api.mails())
    assert page["actions"] == ["verify", "deny", "mark_duplicate"]
    for action in ("start", "complete", "extend"):
        refused = _act(admin, ref, action, "a reason")
        assert refused.status_code == 409, action
        assert refused.json()["error"] == "illegal_transition"
        assert refused.json()["current_status"] == "pending_verification"
    assert api.counts() == before and len(api.mails()) == mails
    assert admin.get(f"/requests/{ref}").json() == page

    api.verify(ref)
    assert _act(admin, ref, "extend", "identity checks take longer").status_code == 200
    page, before = admin.get(f"/requests/{ref}").json(), api.counts()
    again = _act(admin, ref, "extend", "and longer still")
    assert again.status_code == 409 and again.json()["error"] == "extension_not_allowed"
    assert api.counts() == before and admin.get(f"/requests/{ref}").json() == page


def test_a_correction_shows_what_was_asked_and_records_what_was_changed(
        api: Api, admin: Console) -> None:
    asked = "My surname is Lovelace, not Lovelance."
    ref = str(api.create(type="correction", email=ADA, details=asked)["reference"])
    api.verify(ref)
    assert admin.get(f"/requests/{ref}").json()["details"] == asked
    assert _act(admin, ref, "start").status_code == 200
    before, page, mails = api.counts(), admin.get(f"/requests/{ref}").json(), len(api.mails())
    refused = _act(admin, ref, "complete")
    assert refused.status_code == 422 and refused.json()["error"] == "note_required"
    assert api.counts() == before and len(api.mails()) == mails
    assert admin.get(f"/requests/{ref}").json() == page

    changed = "Surname changed to Lovelace in the customer database and the CRM."
    done = _act(admin, ref, "complete", changed).json()
    assert done["status"] == "completed" and done["exports"] == []
    last = done["audit"][-1]
    assert (last["actor"], last["after"], last["note"]) == (
        f"agent:{ADMIN}", {"status": "completed"}, changed)
    answer = mails_to(api, ADA)[-1]
    assert answer["Subject"] == f"Your privacy request {ref} is complete"
    assert f"What we corrected: {changed}" in mail_text(answer)


def test_completing_a_deletion_erases_and_the_page_shows_what_is_kept(
        api: Api, admin: Console, store: TrackerStore) -> None:
    chat(store, "conv-ada", api.clock.now, ("delete everything", "File a deletion request."))
    ref = str(api.create(type="deletion", email=ADA, name="Ada Lovelace",
                         conversation_id="conv-ada")["reference"])
    api.verify(ref)
    assert _act(admin, ref, "start").status_code == 200
    assert len(admin.get(f"/requests/{ref}").json()["conversations"]) == 1

    done = _act(admin, ref, "complete").json()
    assert done["status"] == "completed" and done["erased_at"] is not None
    assert done["requester"]["email"] == "erased" and done["requester"]["name"] is None
    assert done["conversations"] == []
    assert [(e["actor"], e["action"]) for e in done["audit"][-3:]] == [
        (f"agent:{ADMIN}", "erasure_started"), (f"agent:{ADMIN}", "status_changed"),
        (f"agent:{ADMIN}", "erased")]
    # Earlier mail files to Ada are erased; the answer is what is left.
    [answer] = mails_to(api, ADA)
    assert answer["Subject"] == f"Your privacy request {ref} is complete"
    [item] = _page(admin)["items"]
    assert (item["reference"], item["erased"]) == (ref, True)
