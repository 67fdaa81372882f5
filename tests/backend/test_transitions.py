"""The status graph (every legal and illegal move) and the audit trail it writes."""

from __future__ import annotations

import pytest

from privacy_backend.core.models import RequestStatus
from privacy_backend.services.requests import TRANSITIONS

from .support import Api

STAFF_TARGETS = ["verified", "in_progress", "completed", "rejected"]
# How to bring a fresh request into each status through the API.
PATHS: dict[str, list[str]] = {
    "pending_verification": [],
    "verified": ["verified"],
    "in_progress": ["verified", "in_progress"],
    "completed": ["verified", "in_progress", "completed"],
    "rejected": ["rejected"],
}
CASES = [(src, dst, RequestStatus(dst) in TRANSITIONS[RequestStatus(src)])
         for src in PATHS for dst in STAFF_TARGETS]


def _move(api: Api, ref: str, status: str) -> tuple[int, dict]:
    response = api.staff.patch(f"/api/v1/requests/{ref}",
                               json={"status": status, "note": "checked"})
    return response.status_code, response.json()


@pytest.mark.parametrize(("source", "target", "legal"), CASES,
                         ids=[f"{s}->{t}" for s, t, _ in CASES])
def test_transition(api: Api, source: str, target: str, legal: bool) -> None:
    ref = api.create()["reference"]
    for step in PATHS[source]:
        assert _move(api, ref, step)[0] == 200
    before = api.counts()
    code, body = _move(api, ref, target)
    if legal:
        assert code == 200, body
        assert body["status"] == target
        last = api.staff.get(f"/api/v1/requests/{ref}/audit").json()[-1]
        assert last["actor"] == "staff-token" and last["action"] == "status_changed"
        assert last["before"] == {"status": source} and last["after"] == {"status": target}
        assert last["note"] == "checked"
    else:
        assert code == 409, body
        assert body["error"] == "illegal_transition"
        assert f"from '{source}' to '{target}'" in body["message"]
        assert api.counts() == before
        assert api.staff.get(f"/api/v1/requests/{ref}").json()["status"] == source


def test_closed_unverified_is_final(api: Api) -> None:
    ref = api.create()["reference"]
    api.clock.advance(days=8)
    assert api.close_unverified() == 1
    assert api.staff.get(f"/api/v1/requests/{ref}").json()["status"] == "closed_unverified"
    for target in STAFF_TARGETS:
        assert _move(api, ref, target)[0] == 409


def test_system_statuses_cannot_be_set_by_staff(api: Api) -> None:
    ref = api.create()["reference"]
    for status in ("closed_unverified", "pending_verification", "nonsense"):
        code, body = _move(api, ref, status)
        assert code == 422 and body["error"] == "validation_failed"


def test_full_lifecycle_audit_trail(api: Api) -> None:
    ref = api.create()["reference"]
    api.verify(ref)
    api.clock.advance(days=1)
    _move(api, ref, "in_progress")
    _move(api, ref, "completed")
    trail = api.staff.get(f"/api/v1/requests/{ref}/audit").json()
    assert [(e["actor"], e["action"]) for e in trail] == [
        ("assistant", "created"), ("system", "verification_code_sent"),
        ("requester", "status_changed"), ("staff-token", "status_changed"),
        ("staff-token", "export_created"), ("staff-token", "status_changed")]
    changes = [e for e in trail if e["action"] == "status_changed"]
    assert [e["after"]["status"] for e in changes] == ["verified", "in_progress", "completed"]
    assert trail[0]["created_at"].startswith("2025-03-10")
    assert trail[-1]["created_at"].startswith("2025-03-11")
    request = api.staff.get(f"/api/v1/requests/{ref}").json()
    assert request["verified_at"].startswith("2025-03-10")
    assert request["updated_at"].startswith("2025-03-11")


def test_a_caller_supplied_actor_is_refused_and_the_audit_names_the_caller(api: Api) -> None:
    """The audit trail is not the caller's to write: `actor` is an unknown field (422,
    nothing written), and the row names the authenticated credential."""
    ref = api.create()["reference"]
    before = api.counts()
    for body in ({"status": "rejected", "actor": "agent:someone-else"},
                 {"status": "rejected", "actor": " "}):
        response = api.staff.patch(f"/api/v1/requests/{ref}", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["message"] == "Unknown field(s): actor."
    extend = api.staff.post(f"/api/v1/requests/{ref}/extend",
                            json={"reason": "r", "actor": "agent:someone-else"})
    assert extend.status_code == 422
    assert api.counts() == before
    assert api.staff.patch(f"/api/v1/requests/{ref}",
                           json={"status": "rejected", "note": "not our customer"}
                           ).status_code == 200
    trail = api.staff.get(f"/api/v1/requests/{ref}/audit").json()
    assert [e["actor"] for e in trail] == ["assistant", "system", "staff-token"]
