"""The console's workbench for the request lifecycle of issue #24, as a privacy admin works
it: appeals (the list, a grant that reopens the request, a denial that tells the person how
to complain to their Attorney General, one extension where the state allows it), marking a
duplicate, recording an agent's signed permission, denying with the grounds the metrics
count, completing in part. From the attacker's side: an agent-role user and a call without
the session's CSRF token are refused, and nothing changes then.

Requests are filed at the harness's clock, March 10, 2025, 14:30 UTC; the expected dates
and addresses below are written out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from privacy_backend.core.models import AgentRole

from .console_support import Console, logged_in
from .support import Api, mail_text, mails_to

ADMIN = "priya.admin@example.com"
AGENT = "sam@example.com"
ADA = "ada@example.com"
LAWYER = "agent@lawfirm.example"
VA_COMPLAINT = "https://www.oag.state.va.us/consumer-protection/index.php/file-a-complaint"


@pytest.fixture
def api(store_api: Api) -> Api:
    return store_api  # a completion reads the conversations' store


@pytest.fixture
def admin(api: Api) -> Console:
    return logged_in(api, ADMIN, "Priya", AgentRole.PRIVACY_ADMIN)


@pytest.fixture
def agent(api: Api) -> Console:
    return logged_in(api, AGENT, "Sam", AgentRole.AGENT)


def _file(api: Api, kind: str = "access", address: str = ADA, region: str = "Virginia",
          conversation: str = "conv-1") -> str:
    ref = str(api.create(type=kind, email=address, region=region,
                         conversation_id=conversation)["reference"])
    api.verify(ref)
    return ref


def _page(console: Console, ref: str) -> dict[str, Any]:
    response = console.get(f"/requests/{ref}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _act(console: Console, ref: str, action: str, *, csrf: bool = True, **body: Any) -> Any:
    return console.post(f"/requests/{ref}/actions", {"action": action, **body}, csrf=csrf)


def _denied_and_appealed(api: Api, admin: Console, region: str = "Virginia") -> tuple[str, str]:
    ref = _file(api, region=region)
    denied = _act(admin, ref, "deny", denial_reason="unfounded",
                  note="The same request was answered last week.")
    assert denied.status_code == 200, denied.text
    filed = api.staff.post(f"/api/v1/requests/{ref}/appeals",
                           json={"reason": "Last week's answer left out my orders."})
    assert filed.status_code == 201, filed.text
    return ref, str(filed.json()["reference"])


# -- appeals ----------------------------------------------------------------------------------
def test_a_granted_appeal_reopens_the_request(api: Api, admin: Console, agent: Console) -> None:
    ref, appeal = _denied_and_appealed(api, admin)
    page = _page(admin, ref)
    assert page["status"] == "rejected" and page["denial_reason"] == "unfounded"
    assert page["appeal"]["reference"] == appeal and page["appeal"]["status"] == "open"
    assert page["appeal"]["reason"] == "Last week's answer left out my orders."
    # Virginia: 60 days from the appeal's receipt, March 10 -> May 9, 2025 (21 + 30 + 9).
    assert page["appeal"]["due_at"].startswith("2025-05-09")
    # The list says the request has an appeal; the appeals list holds it, open.
    listed = admin.get("/requests?per_page=100").json()["items"]
    assert [i["appeal"] for i in listed if i["reference"] == ref] == ["open"]
    appeals = admin.get("/appeals?status=open").json()
    assert [a["reference"] for a in appeals["items"]] == [appeal]
    assert appeals["items"][0]["request_reference"] == ref
    assert admin.get("/appeals?status=granted").json()["total"] == 0

    # The attacker's side: an agent-role user, or the admin's page without its CSRF token.
    decision = {"outcome": "granted", "reason": "The orders were left out: reopened."}
    assert agent.post(f"/appeals/{appeal}/decision", decision).status_code == 403
    assert agent.get("/appeals").status_code == 403
    assert agent.get(f"/appeals/{appeal}").status_code == 403
    assert admin.post(f"/appeals/{appeal}/decision", decision, csrf=False).status_code == 403
    assert _page(admin, ref)["appeal"]["status"] == "open"
    assert _page(admin, ref)["status"] == "rejected"
    # A decision needs its written reason.
    blank = admin.post(f"/appeals/{appeal}/decision", {"outcome": "granted", "reason": "  "})
    assert blank.status_code == 422
    assert _page(admin, ref)["appeal"]["status"] == "open"

    mails_before = len(mails_to(api, ADA))
    decided = admin.post(f"/appeals/{appeal}/decision", decision)
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "granted"
    assert decided.json()["decided_by"] == f"agent:{ADMIN}"
    page = _page(admin, ref)
    assert page["status"] == "in_progress"
    assert page["denial_reason"] is None
    assert page["due_at"].startswith("2025-05-09")  # due when the appeal was
    assert "complete" in page["actions"]
    assert page["appeal"]["decision"] == "The orders were left out: reopened."
    assert [e["action"] for e in page["audit"]][-2:] == ["reopened_on_appeal", "appeal_decided"]
    mails = mails_to(api, ADA)[mails_before:]
    assert len(mails) == 1
    assert "Your appeal is granted" in mail_text(mails[0])
    # Decided once only.
    again = admin.post(f"/appeals/{appeal}/decision", {"outcome": "denied", "reason": "No."})
    assert again.status_code == 409 and again.json()["error"] == "appeal_decided"


def test_a_denied_appeal_tells_the_person_how_to_complain(
        api: Api, admin: Console) -> None:
    ref, appeal = _denied_and_appealed(api, admin)
    decided = admin.post(f"/appeals/{appeal}/decision", {
        "outcome": "denied", "reason": "Every order was in last week's answer."})
    assert decided.status_code == 200, decided.text
    page = _page(admin, ref)
    assert page["status"] == "rejected" and page["appeal"]["status"] == "denied"
    text = mail_text(mails_to(api, ADA)[-1])
    assert "Every order was in last week's answer." in text
    assert "the Virginia Attorney General" in text
    assert VA_COMPLAINT in text
    assert admin.get("/appeals?status=denied").json()["items"][0]["reference"] == appeal


def test_an_appeal_is_extended_once_where_the_state_allows_it(
        api: Api, admin: Console, agent: Console) -> None:
    # Colorado: 45 days (March 10 -> April 24, 2025), extendable once by 60 (-> June 23).
    ref, appeal = _denied_and_appealed(api, admin, region="Colorado")
    shown = admin.get(f"/appeals/{appeal}").json()
    assert shown["due_at"].startswith("2025-04-24") and shown["extendable"] is True
    reason = {"reason": "The orders sit in an archive we are restoring."}
    assert agent.post(f"/appeals/{appeal}/extend", reason).status_code == 403
    assert admin.post(f"/appeals/{appeal}/extend", reason, csrf=False).status_code == 403
    assert admin.get(f"/appeals/{appeal}").json()["due_at"].startswith("2025-04-24")

    extended = admin.post(f"/appeals/{appeal}/extend", reason)
    assert extended.status_code == 200, extended.text
    assert extended.json()["due_at"].startswith("2025-06-23")
    assert extended.json()["extendable"] is False
    assert "2025" in mail_text(mails_to(api, ADA)[-1])
    again = admin.post(f"/appeals/{appeal}/extend", reason)
    assert again.status_code == 409


def test_virginia_appeals_are_not_extendable(api: Api, admin: Console) -> None:
    _, appeal = _denied_and_appealed(api, admin, region="Virginia")
    assert admin.get(f"/appeals/{appeal}").json()["extendable"] is False
    refused = admin.post(f"/appeals/{appeal}/extend", {"reason": "More time."})
    assert refused.status_code == 409


# -- duplicates -------------------------------------------------------------------------------
def test_staff_mark_a_duplicate_of_an_open_request_of_the_same_type(
        api: Api, admin: Console, agent: Console) -> None:
    first = _file(api, address=ADA, conversation="conv-1")
    # The same person again, by email before verifying it: staff recognise it.
    second = str(api.create(type="access", email=ADA, region="Virginia",
                            conversation_id="conv-2")["reference"])
    other_type = _file(api, kind="know", address=ADA, conversation="conv-3")
    # Another person's request of the same type: never the first of Ada's.
    someone_elses = _file(api, address="ada.home@example.com", conversation="conv-4")

    assert _act(agent, second, "mark_duplicate", duplicate_of=first).status_code == 403
    assert _act(admin, second, "mark_duplicate", duplicate_of=first,
                csrf=False).status_code == 403
    for bad in (other_type, second, "PR-ZZZZ-ZZZZ", someone_elses):
        refused = _act(admin, second, "mark_duplicate", duplicate_of=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["error"] == "bad_duplicate"
    assert _act(admin, second, "mark_duplicate").status_code == 422  # which one?
    assert _page(admin, second)["status"] == "pending_verification"

    marked = _act(admin, second, "mark_duplicate", duplicate_of=first.lower())
    assert marked.status_code == 200, marked.text
    assert marked.json()["status"] == "duplicate"
    assert marked.json()["duplicate_of"] == first
    items = admin.get("/requests?status=duplicate").json()["items"]
    assert [(i["reference"], i["duplicate_of"]) for i in items] == [(second, first)]
    assert _page(admin, first)["status"] == "verified"


# -- an authorized agent's request --------------------------------------------------------------
def test_staff_record_signed_permission_for_an_agents_request(
        api: Api, admin: Console, agent: Console) -> None:
    ref = str(api.create(type="access", email=LAWYER, consumer_email=ADA,
                         authorized_agent=True, region="California",
                         conversation_id="agent-conv")["reference"])
    api.post(f"/api/v1/requests/{ref}/verify", json={"code": api.last_code()})
    page = _page(admin, ref)
    assert page["agent_email"] == LAWYER and page["requester"]["email"] == ADA
    assert page["awaiting_consumer"] is True and page["agent_permission"] is None
    assert "record_permission" in page["actions"] and "verify" not in page["actions"]
    item = next(i for i in admin.get("/requests").json()["items"] if i["reference"] == ref)
    assert item["agent"] is True and item["awaiting_consumer"] is True

    note = "Signed permission from Ada, received by post on March 10; scanned to the file."
    assert _act(agent, ref, "record_permission", note=note).status_code == 403
    assert _act(admin, ref, "record_permission", note=note, csrf=False).status_code == 403
    assert _act(admin, ref, "record_permission").status_code == 422  # no note
    assert _page(admin, ref)["status"] == "pending_verification"

    done = _act(admin, ref, "record_permission", note=note)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "verified"
    assert done.json()["agent_permission"] == "signed_permission"
    assert done.json()["awaiting_consumer"] is False
    assert "record_permission" not in done.json()["actions"]


# -- denials and partial completions ----------------------------------------------------------
def test_a_denial_records_its_grounds(api: Api, admin: Console, agent: Console) -> None:
    ref = _file(api, region="California")
    body = {"denial_reason": "exemption", "note": "Kept under a legal hold."}
    assert _act(agent, ref, "deny", **body).status_code == 403
    assert _act(admin, ref, "deny", csrf=False, **body).status_code == 403
    assert _act(admin, ref, "deny", denial_reason="because", note="x").status_code == 422
    assert _page(admin, ref)["status"] == "verified"

    denied = _act(admin, ref, "deny", **body)
    assert denied.status_code == 200, denied.text
    assert denied.json()["status"] == "rejected"
    assert denied.json()["denial_reason"] == "exemption"
    assert "Kept under a legal hold." in mail_text(mails_to(api, ADA)[-1])


def test_a_partial_completion_says_what_was_withheld(
        api: Api, admin: Console, agent: Console) -> None:
    ref = _file(api, region="California")
    assert _act(admin, ref, "start").status_code == 200
    withheld = "The call recordings: they hold other customers' voices."
    assert _act(agent, ref, "complete", partial=True, note=withheld).status_code == 403
    assert _act(admin, ref, "complete", partial=True, note=withheld,
                csrf=False).status_code == 403
    missing = _act(admin, ref, "complete", partial=True)
    assert missing.status_code == 422
    assert _page(admin, ref)["status"] == "in_progress"

    done = _act(admin, ref, "complete", partial=True, note=withheld)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["partial"] is True
    assert withheld in mail_text(mails_to(api, ADA)[-1])


def test_receipt_is_shown_confirmed(api: Api, admin: Console) -> None:
    # Filed and verified at 14:30 on March 10: the code's email confirmed the receipt.
    ref = _file(api, region="California")
    page = _page(admin, ref)
    assert page["receipt_confirmed_at"].startswith("2025-03-10T14:30")
    assert page["receipt_due"] is None
